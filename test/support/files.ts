/**
 * Files as tests compare them: every file under a path (itself if a file), by its path relative
 * to it, with its bytes; and whether two paths (files, or directories such as Zarr stores and TIFF
 * stacks) hold the same files and bytes.
 *
 * @example
 * ```ts
 * expect(sameFiles(resumed, reference)).toBe(true)
 * ```
 */
import * as fs from "node:fs"
import * as path from "node:path"

/** Every file under `p` (itself if a file), as relative path → bytes. */
export const filesUnder = (p: string): Map<string, Buffer> => {
  const files = new Map<string, Buffer>()
  const walk = (at: string, rel: string): void => {
    if (fs.statSync(at).isDirectory()) for (const n of fs.readdirSync(at).sort()) walk(path.join(at, n), path.join(rel, n))
    else files.set(rel, fs.readFileSync(at))
  }
  walk(p, "")
  return files
}

/** True when `a` and `b` hold the same files and bytes. */
export const sameFiles = (a: string, b: string): boolean => {
  const [x, y] = [filesUnder(a), filesUnder(b)]
  return x.size === y.size && [...x].every(([k, v]) => y.get(k)?.equals(v) === true)
}
