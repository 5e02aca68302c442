/**
 * The bridge from the promise-based node:fs code of this module to Effect: thrown IoErrors are
 * kept as they are, anything else from Node becomes a FileError for the path and operation.
 *
 * @example
 * ```ts
 * const size = attempt("/data/a.tif", "stat", async () => (await fs.stat("/data/a.tif")).size)
 * // Effect<number, IoError>
 * ```
 */
import * as Effect from "effect/Effect"
import { FileError, fileError, FormatError, type IoError, UnsupportedError } from "../errors.js"

/**
 * True for the typed I/O errors (thrown by the parsing code as they should reach the caller).
 *
 * @example
 * ```ts
 * isIoError(new FormatError({ path: "a.tif", position: "byte 0", detail: "bad magic" }))   // true
 * ```
 */
export const isIoError = (e: unknown): e is IoError =>
  e instanceof FileError || e instanceof FormatError || e instanceof UnsupportedError

/**
 * Runs a promise-returning step on `path`; a thrown IoError fails as itself, any other rejection
 * as `fileError(path, operation, cause)`.
 *
 * @example
 * ```ts
 * attempt(path, "open", () => fs.open(path, "r"))   // Effect<FileHandle, IoError>
 * ```
 */
export const attempt = <A>(path: string, operation: FileError["operation"], f: () => Promise<A>): Effect.Effect<A, IoError> =>
  Effect.tryPromise({ try: f, catch: (e) => (isIoError(e) ? e : fileError(path, operation, e)) })
