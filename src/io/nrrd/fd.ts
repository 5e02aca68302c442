/**
 * Thin Effect wrappers over node:fs file descriptors, for the NRRD reader and writer.
 *
 * Positional reads and writes on a raw fd avoid the per-call overhead of `fs/promises` FileHandles
 * and of @effect/platform's streams (see "Measured on this machine" in DESIGN.md). Each call moves a
 * whole slice (or a header), never a voxel.
 *
 * @example
 * ```ts
 * const n = yield* readAt(fd, "/data/vol.nrrd", buf, 4096)  // n < buf.length only at end of file
 * ```
 */
import * as fs from "node:fs"
import * as Effect from "effect/Effect"
import { FileError, fileError } from "../errors.js"

/** Opens `path` with node `flags` ("r", "wx", …) and returns the fd. */
export const openFd = (path: string, flags: string, operation: FileError["operation"] = "open"): Effect.Effect<number, FileError> =>
  Effect.async<number, FileError>((resume) => {
    fs.open(path, flags, 0o666, (err, fd) => resume(err ? Effect.fail(fileError(path, operation, err)) : Effect.succeed(fd)))
  })

/** Closes `fd`. */
export const closeFd = (fd: number, path: string): Effect.Effect<void, FileError> =>
  Effect.async<void, FileError>((resume) => {
    fs.close(fd, (err) => resume(err ? Effect.fail(fileError(path, "write", err)) : Effect.void))
  })

/**
 * Reads into `target` from byte `position` until it is full or the file ends; succeeds with the
 * number of bytes read. Uninterruptible: a read the kernel is still doing must finish before the
 * scope may close the fd (a closed fd number can be reused at once by another open).
 */
export const readAt = (fd: number, path: string, target: Uint8Array, position: number): Effect.Effect<number, FileError> =>
  Effect.uninterruptible(
    Effect.async<number, FileError>((resume) => {
      // Short reads happen (signals, pipes, network file systems): continue where the last one stopped.
      const step = (done: number): void => {
        if (done === target.length) return resume(Effect.succeed(done))
        fs.read(fd, target, done, target.length - done, position + done, (err, n) => {
          if (err) return resume(Effect.fail(fileError(path, "read", err)))
          if (n === 0) return resume(Effect.succeed(done))
          step(done + n)
        })
      }
      step(0)
    })
  )

/** Writes all of `source` at byte `position`. Uninterruptible for the same reason as `readAt`. */
export const writeAt = (fd: number, path: string, source: Uint8Array, position: number): Effect.Effect<void, FileError> =>
  Effect.uninterruptible(
    Effect.async<void, FileError>((resume) => {
      const step = (done: number): void => {
        if (done === source.length) return resume(Effect.void)
        fs.write(fd, source, done, source.length - done, position + done, (err, n) => {
          if (err) return resume(Effect.fail(fileError(path, "write", err)))
          step(done + n)
        })
      }
      step(0)
    })
  )

/** Sets the length of the file behind `fd` (a sparse extension: no data is written). */
export const truncateFd = (fd: number, path: string, length: number): Effect.Effect<void, FileError> =>
  Effect.async<void, FileError>((resume) => {
    fs.ftruncate(fd, length, (err) => resume(err ? Effect.fail(fileError(path, "write", err)) : Effect.void))
  })

/** The size in bytes of the file behind `fd`. */
export const fdSize = (fd: number, path: string): Effect.Effect<number, FileError> =>
  Effect.async<number, FileError>((resume) => {
    fs.fstat(fd, (err, st) => {
      if (err) return resume(Effect.fail(fileError(path, "stat", err)))
      if (st.isDirectory()) return resume(Effect.fail(new FileError({ path, operation: "read", detail: "EISDIR: is a directory" })))
      resume(Effect.succeed(st.size))
    })
  })

export const renameFile = (from: string, to: string): Effect.Effect<void, FileError> =>
  Effect.async<void, FileError>((resume) => {
    fs.rename(from, to, (err) => resume(err ? Effect.fail(fileError(`${from} -> ${to}`, "rename", err)) : Effect.void))
  })

/** Removes `path`; a file that is already gone is not an error. */
export const removeFile = (path: string): Effect.Effect<void, FileError> =>
  Effect.async<void, FileError>((resume) => {
    fs.unlink(path, (err) =>
      resume(err && err.code !== "ENOENT" ? Effect.fail(fileError(path, "remove", err)) : Effect.void)
    )
  })

/** True when this machine stores numbers little-endian (typed arrays use the host's order). */
export const hostIsLittleEndian: boolean = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1

/**
 * Reverses the byte order of every `width`-byte element of `bytes`, in place. Node's Buffer
 * swap16/32/64 run natively on large buffers, so no per-voxel JavaScript runs here.
 */
export const swapBytes = (bytes: Uint8Array, width: number): void => {
  if (width === 1) return
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (width === 2) b.swap16()
  else if (width === 4) b.swap32()
  else if (width === 8) b.swap64()
  else throw new RangeError(`swapBytes: unsupported element width ${width}`)
}
