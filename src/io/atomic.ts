/**
 * Atomic outputs, shared by every writer: an output is written under a temporary name next to its
 * target (`<name>.partial-<pid>-<random>`, in the same directory so that the final rename stays on
 * one file system) and renamed into place on commit. Until then an existing target is left
 * untouched; if the scope closes first, the writer removes its temporaries. So a half-written
 * volume never appears under the name a user asked for, and a failed run never destroys the old one.
 *
 * Writers keep their own bookkeeping (which temporaries exist, whether the commit happened, in which
 * order several files are renamed); this module holds the steps they share.
 *
 * @example
 * ```ts
 * const temporary = temporaryName("/out/vol.tif")        // "/out/vol.tif.partial-4242-9f3a1c0b7e21"
 * yield* checkReplaceableFile("/out/vol.tif")             // refuse early what commit would refuse
 * // … write `temporary` …
 * yield* commitFile(temporary, "/out/vol.tif")            // or, in a finalizer: removeQuietly(temporary)
 * ```
 */
import * as fs from "node:fs"
import * as nodePath from "node:path"
import * as Effect from "effect/Effect"
import { FileError, fileError } from "../algebra/io-errors.js"
import { listDirectory, renameFile } from "./files.js"

/**
 * A fresh `.partial-<pid>-<random>` suffix; give one to every file of a multi-file output so that
 * its temporaries are recognisably one set.
 *
 * @example
 * ```ts
 * const suffix = temporarySuffix()                        // ".partial-4242-9f3a1c0b7e21"
 * const [data, header] = [temporaryName("v.raw", suffix), temporaryName("v.nhdr", suffix)]
 * ```
 */
export const temporarySuffix = (): string => `.partial-${process.pid}-${randomHex()}`

/**
 * 12 random hex digits. Math.random, not node:crypto: the names need only differ, every temporary is
 * created exclusively ("wx", mkdir), and importing node:crypto adds about 2 MiB to a bare Node
 * process's resident memory (`bash bench/runtime-floor.sh`; docs/BENCHMARKS.md, "Peak RSS").
 */
const randomHex = (): string => Math.floor(Math.random() * 2 ** 48).toString(16).padStart(12, "0")

/**
 * `<target>.partial-<pid>-<random>`: a temporary name in the target's directory.
 *
 * @example
 * ```ts
 * temporaryName("/out/v.tif")   // "/out/v.tif.partial-4242-9f3a1c0b7e21"
 * ```
 */
export const temporaryName = (target: string, suffix: string = temporarySuffix()): string => target + suffix

/** The suffix `temporarySuffix` makes, wherever it is in a path (a file in a temporary directory too). */
const TEMPORARY_SUFFIX = /\.partial-\d+-[0-9a-f]{12}(?:-old)?/g

/**
 * The path a temporary stands for: `path` without its temporary suffixes, so that a message about a
 * temporary names the file the user asked for.
 *
 * @example
 * ```ts
 * shownPath("/out/v.tif.partial-4242-9f3a1c0b7e21")             // "/out/v.tif"
 * shownPath("/out/s.partial-4242-9f3a1c0b7e21/z0007.tif")       // "/out/s/z0007.tif"
 * ```
 */
export const shownPath = (path: string): string => path.replace(TEMPORARY_SUFFIX, "")

/** What is at a path. */
export type PathKind = "none" | "file" | "dir" | "other"

/**
 * What is at `path` (following links): "none", "file", "dir" or "other". Any failure but ENOENT is
 * a FileError "stat".
 *
 * @example
 * ```ts
 * yield* pathKind("/tmp")   // "dir"
 * ```
 */
export const pathKind = (path: string): Effect.Effect<PathKind, FileError> =>
  Effect.async<PathKind, FileError>((resume) => {
    fs.stat(path, (err, s) => {
      if (err) return resume(err.code === "ENOENT" ? Effect.succeed("none") : Effect.fail(fileError(path, "stat", err)))
      resume(Effect.succeed(s.isFile() ? "file" : s.isDirectory() ? "dir" : "other"))
    })
  })

/**
 * Fails with a FileError "create" unless `path` is absent or a regular file (what a file output
 * may replace).
 *
 * @example
 * ```ts
 * yield* checkReplaceableFile("/out/v.tif")
 * ```
 */
export const checkReplaceableFile = (path: string): Effect.Effect<void, FileError> =>
  Effect.flatMap(pathKind(path), (kind) =>
    kind === "dir"
      ? Effect.fail(new FileError({ path, operation: "create", detail: "is a directory; refusing to replace it with a file" }))
      : kind === "other"
        ? Effect.fail(new FileError({ path, operation: "create", detail: "exists and is not a regular file" }))
        : Effect.void
  )

const TIFF_NAME = /\.tiff?$/i

/**
 * Fails with a FileError "create" unless `path` is absent or a directory holding nothing but
 * .tif/.tiff files (what a TIFF stack output may replace: never a folder with anything else in it).
 *
 * @example
 * ```ts
 * yield* checkReplaceableStack("/out/slices")
 * ```
 */
export const checkReplaceableStack = (path: string): Effect.Effect<void, FileError> =>
  Effect.gen(function* () {
    const kind = yield* pathKind(path)
    if (kind === "none") return
    if (kind !== "dir") {
      return yield* new FileError({ path, operation: "create", detail: "exists and is not a directory; refusing to replace it" })
    }
    const foreign = (yield* listDirectory(path)).filter((e) => !e.isFile() || !TIFF_NAME.test(e.name))
    if (foreign.length > 0) {
      return yield* new FileError({
        path,
        operation: "create",
        detail: `directory exists and holds more than .tif/.tiff files (${foreign
          .slice(0, 3)
          .map((e) => e.name)
          .join(", ")}${foreign.length > 3 ? ", …" : ""}); refusing to replace it — remove it or choose another output`
      })
    }
  })

/**
 * Renames the finished temporary file over `target` (atomic on POSIX), after checking again that
 * `target` is absent or a regular file. A failed rename is a FileError "rename" on `target`.
 *
 * @example
 * ```ts
 * yield* commitFile("/out/v.tif.partial-4242-9f3a", "/out/v.tif")
 * ```
 */
export const commitFile = (temporary: string, target: string): Effect.Effect<void, FileError> =>
  Effect.zipRight(checkReplaceableFile(target), renameFile(temporary, target, target))

/**
 * Moves the finished temporary directory to `target`. An existing target (checked again: .tif/.tiff
 * files only) is first moved aside, then removed once the new directory is in place; if the second
 * rename fails, the old directory is put back. A failed rename is a FileError "rename" on `target`.
 *
 * @example
 * ```ts
 * yield* commitDirectory("/out/slices.partial-4242-9f3a", "/out/slices")
 * ```
 */
export const commitDirectory = (temporary: string, target: string): Effect.Effect<void, FileError> =>
  Effect.gen(function* () {
    yield* checkReplaceableStack(target)
    if ((yield* pathKind(target)) === "none") return yield* renameFile(temporary, target, target)
    const aside = `${temporaryName(target)}-old`
    yield* renameFile(target, aside, target)
    yield* Effect.tapError(renameFile(temporary, target, target), () => Effect.ignore(renameFile(aside, target)))
    yield* removeQuietly(aside)
  })

/**
 * Removes a temporary file or directory tree; one that is already gone is not an error. A failure
 * is a FileError "remove".
 *
 * @example
 * ```ts
 * yield* Effect.catchAll(removeTemporary(tmp), (e) => Effect.logWarning(e.message))
 * ```
 */
export const removeTemporary = (path: string): Effect.Effect<void, FileError> =>
  Effect.async<void, FileError>((resume) => {
    fs.rm(path, { recursive: true, force: true }, (err) => resume(err ? Effect.fail(fileError(path, "remove", err)) : Effect.void))
  })

/**
 * `removeTemporary`, ignoring any failure (for finalizers that have nothing better to do with it).
 *
 * @example
 * ```ts
 * yield* Effect.addFinalizer(() => (committed ? Effect.void : removeQuietly(temporary)))
 * ```
 */
export const removeQuietly = (path: string): Effect.Effect<void> => Effect.ignore(removeTemporary(path))

/**
 * Removes the temporaries of the same outputs as `ours` that are not `ours`: files named
 * `<output>.partial-<pid>-<random>` beside them, left by a run of that output that was killed
 * (`kill -9` runs no clean-up). Call it only while holding those outputs' locks: no live run then
 * writes them, so any other temporary of theirs is an orphan.
 *
 * @example
 * ```ts
 * removeOrphanTemporaries(["/out/v.nrrd.partial-4242-9f3a1c0b7e21"])   // removes /out/v.nrrd.partial-17-…
 * ```
 */
export const removeOrphanTemporaries = (ours: ReadonlyArray<string>): Effect.Effect<void> =>
  Effect.sync(() => {
    const mine = new Set(ours.map((p) => nodePath.resolve(p)))
    for (const p of mine) {
      const target = shownPath(p)
      if (target === p) continue
      const dir = nodePath.dirname(target)
      const prefix = `${nodePath.basename(target)}.partial-`
      let names: Array<string>
      try {
        names = fs.readdirSync(dir)
      } catch {
        continue
      }
      for (const n of names) {
        const full = nodePath.join(dir, n)
        if (!n.startsWith(prefix) || mine.has(full) || shownPath(full) !== target) continue
        fs.rmSync(full, { recursive: true, force: true })
      }
    }
  })

/**
 * Removes the files beside `path` whose names are its own followed by `suffix` and anything
 * (`<path><suffix>…`); none, or a directory that cannot be read, is not an error.
 *
 * @example
 * ```ts
 * removeSuffixed("/out/v.nrrd.slicewise-journal", ".state-")   // its state files
 * ```
 */
export const removeSuffixed = (path: string, suffix: string): void => {
  const dir = nodePath.dirname(path)
  const prefix = `${nodePath.basename(path)}${suffix}`
  let names: Array<string>
  try {
    names = fs.readdirSync(dir)
  } catch {
    return
  }
  for (const n of names) if (n.startsWith(prefix)) fs.rmSync(nodePath.join(dir, n), { force: true })
}
