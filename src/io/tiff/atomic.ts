/**
 * Atomic outputs: a file or directory is written under a temporary name next to its target and
 * renamed into place on commit. Until then an existing target is left untouched; if the scope
 * closes first, the temporary is removed.
 *
 * @example
 * ```ts
 * const tmp = temporaryName("/out/vol.tif")   // "/out/vol.tif.partial-4242-k3j9x2"
 * ```
 */
import * as crypto from "node:crypto"
import * as fs from "node:fs/promises"
import { FileError, fileError } from "../errors.js"

/**
 * `<target>.partial-<pid>-<random>`, in the target's directory (so the rename stays on one device).
 *
 * @example
 * ```ts
 * temporaryName("/out/v.tif")   // "/out/v.tif.partial-4242-9f3a1c0b7e21"
 * ```
 */
export const temporaryName = (target: string): string =>
  `${target}.partial-${process.pid}-${crypto.randomBytes(6).toString("hex")}`

const TIFF_NAME = /\.tiff?$/i

/**
 * What is at `path`: "none", "file", "dir" or "other".
 *
 * @example
 * ```ts
 * await pathKind("/tmp")   // "dir"
 * ```
 */
export const pathKind = async (path: string): Promise<"none" | "file" | "dir" | "other"> => {
  try {
    const s = await fs.stat(path)
    return s.isFile() ? "file" : s.isDirectory() ? "dir" : "other"
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return "none"
    throw fileError(path, "stat", e)
  }
}

/**
 * Throws a FileError unless `path` is absent or a regular file (what a file sink may replace).
 *
 * @example
 * ```ts
 * await checkReplaceableFile("/out/v.tif")
 * ```
 */
export const checkReplaceableFile = async (path: string): Promise<void> => {
  const kind = await pathKind(path)
  if (kind === "dir") throw new FileError({ path, operation: "create", detail: "is a directory; refusing to replace it with a file" })
  if (kind === "other") throw new FileError({ path, operation: "create", detail: "exists and is not a regular file" })
}

/**
 * Throws a FileError unless `path` is absent or a directory holding nothing but .tif/.tiff files
 * (what a stack sink may replace).
 *
 * @example
 * ```ts
 * await checkReplaceableStack("/out/slices")
 * ```
 */
export const checkReplaceableStack = async (path: string): Promise<void> => {
  const kind = await pathKind(path)
  if (kind === "none") return
  if (kind !== "dir") throw new FileError({ path, operation: "create", detail: "exists and is not a directory; refusing to replace it" })
  let entries
  try {
    entries = await fs.readdir(path, { withFileTypes: true })
  } catch (e) {
    throw fileError(path, "list", e)
  }
  const foreign = entries.filter((e) => !e.isFile() || !TIFF_NAME.test(e.name))
  if (foreign.length > 0) {
    throw new FileError({
      path,
      operation: "create",
      detail: `directory exists and holds more than .tif/.tiff files (${foreign
        .slice(0, 3)
        .map((e) => e.name)
        .join(", ")}${foreign.length > 3 ? ", …" : ""}); refusing to replace it — remove it or choose another output`
    })
  }
}

/**
 * Renames the finished temporary file over `target` (atomic on POSIX).
 *
 * @example
 * ```ts
 * await commitFile("/out/v.tif.partial-4242-9f3a", "/out/v.tif")
 * ```
 */
export const commitFile = async (temporary: string, target: string): Promise<void> => {
  await checkReplaceableFile(target)
  try {
    await fs.rename(temporary, target)
  } catch (e) {
    throw fileError(target, "rename", e)
  }
}

/**
 * Moves the finished temporary directory to `target`. An existing target (checked again: TIFF files
 * only) is first moved aside, then removed once the new directory is in place; if the second rename
 * fails, the old directory is put back.
 *
 * @example
 * ```ts
 * await commitDirectory("/out/slices.partial-4242-9f3a", "/out/slices")
 * ```
 */
export const commitDirectory = async (temporary: string, target: string): Promise<void> => {
  await checkReplaceableStack(target)
  const kind = await pathKind(target)
  if (kind === "none") {
    try {
      await fs.rename(temporary, target)
    } catch (e) {
      throw fileError(target, "rename", e)
    }
    return
  }
  const aside = `${temporaryName(target)}-old`
  try {
    await fs.rename(target, aside)
  } catch (e) {
    throw fileError(target, "rename", e)
  }
  try {
    await fs.rename(temporary, target)
  } catch (e) {
    await fs.rename(aside, target).catch(() => undefined)
    throw fileError(target, "rename", e)
  }
  await removeQuietly(aside)
}

/**
 * Removes a file or directory tree, ignoring errors (used by finalizers).
 *
 * @example
 * ```ts
 * await removeQuietly("/out/v.tif.partial-4242-9f3a")
 * ```
 */
export const removeQuietly = (path: string): Promise<void> => fs.rm(path, { recursive: true, force: true }).catch(() => undefined)

