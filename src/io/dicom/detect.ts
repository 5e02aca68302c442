/**
 * Whether a directory is a DICOM series, cheaply: `openSource` asks this of every directory that is
 * not Zarr, before it would open a TIFF stack, so it reads at most a few 132-byte heads and loads
 * nothing but node:fs (the DICOM reader itself is loaded only when the answer is yes).
 *
 * @example
 * ```ts
 * isDicomDirectory("/data/ct")     // true: a DICOMDIR, or "DICM" at byte 128 of one of its first files
 * isDicomDirectory("/data/tiffs")  // false
 * ```
 */
import * as fs from "node:fs"
import * as nodePath from "node:path"

/** Files looked at: exports put their slices side by side, so the first few decide. */
const PROBES = 8

/** True when `file` has "DICM" at byte 128 (the Part 10 preamble); false when it cannot be read. */
const hasDicmMagic = (file: string): boolean => {
  let fd: number
  try {
    fd = fs.openSync(file, "r")
  } catch {
    return false
  }
  try {
    const b = Buffer.alloc(4)
    return fs.readSync(fd, b, 0, 4, 128) === 4 && b.toString("latin1") === "DICM"
  } catch {
    return false
  } finally {
    fs.closeSync(fd)
  }
}

/**
 * True when `dir` holds a DICOMDIR or one of its first few non-TIFF files is DICOM Part 10. A
 * directory that cannot be listed is not (the caller's general path reports why).
 */
export const isDicomDirectory = (dir: string): boolean => {
  let entries: fs.Dirent[]
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true })
  } catch {
    return false
  }
  const files = entries.filter((e) => (e.isFile() || e.isSymbolicLink()) && !e.name.startsWith(".")).map((e) => e.name)
  if (files.some((n) => n.toUpperCase() === "DICOMDIR")) return true
  return files
    .filter((n) => !/\.(tiff?|json|txt|md|xml|html?|png|jpe?g)$/i.test(n))
    .sort()
    .slice(0, PROBES)
    .some((n) => hasDicmMagic(nodePath.join(dir, n)))
}
