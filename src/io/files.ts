/**
 * Low-level file access shared by every format: positional I/O on raw node:fs file descriptors,
 * the host's byte order with one in-place byte swap, and `attempt`, the bridge from promise-based
 * node:fs code to Effect.
 *
 * Why raw fds: each call moves a whole slice (or a header, or a group of TIFF blocks), never a
 * voxel, and a positional read on a raw fd is the cheapest way node:fs offers to do that — no
 * FileHandle bookkeeping, no stream machinery cutting the data into chunks of its own choosing.
 * Short reads and writes (signals, pipes, network file systems) are continued in one loop, which
 * serves both faces of each operation: Effects (`readAt`, `writeAt`, `writevAt`) for code written
 * with Effect, promises (`readFully`, `writeFully`, `writevFully`) for the TIFF parser, which is
 * written with async/await and runs inside `attempt`.
 *
 * Why uninterruptible: a raw fd number is reused by the next `open` as soon as it is closed, so a
 * scope must not close an fd while the kernel still reads into or writes from it. The Effect
 * operations here are uninterruptible for that reason, and promise code that uses an fd must run
 * inside `Effect.uninterruptible(attempt(…))` (a FileHandle would wait for pending operations at
 * close; a raw fd does not).
 *
 * @example
 * ```ts
 * const program = Effect.scoped(Effect.gen(function* () {
 *   const fd = yield* openScoped("/data/vol.nrrd", "r")
 *   const slice = new Uint8Array(512 * 512 * 2)
 *   const n = yield* readAt(fd, "/data/vol.nrrd", slice, 4096)   // n < slice.length only at end of file
 *   if (!HOST_LITTLE_ENDIAN) swapBytes(slice, 2)
 * }))
 * ```
 */
import * as fs from "node:fs"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { FileError, fileError, FormatError, type IoError, UnsupportedError } from "../algebra/io-errors.js"

// ---------------------------------------------------------------------------------------------
// Byte order

/**
 * True when this machine stores numbers little-endian (typed arrays use the host's order; every
 * platform Node supports in practice is little-endian).
 *
 * @example
 * ```ts
 * const swap = fileIsLittleEndian !== HOST_LITTLE_ENDIAN && bytesPerVoxel(dtype) > 1
 * ```
 */
export const HOST_LITTLE_ENDIAN: boolean = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1

/**
 * Reverses the byte order of every whole `width`-byte word of `bytes`, in place; `width` is 1 (a
 * no-op), 2, 4 or 8, anything else is a RangeError. `bytes` may start at any offset; bytes after
 * the last whole word are left as they are. Node's native Buffer swap16/32/64 do the work, so no
 * per-voxel JavaScript runs.
 *
 * @example
 * ```ts
 * swapBytes(new Uint8Array([1, 2, 3, 4, 5]), 2)   // 2 1 4 3 5
 * ```
 */
export const swapBytes = (bytes: Uint8Array, width: number): void => {
  if (width === 1) return
  if (width !== 2 && width !== 4 && width !== 8) throw new RangeError(`swapBytes: unsupported element width ${width}`)
  const whole = bytes.byteLength - (bytes.byteLength % width)
  if (whole === 0) return
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, whole)
  if (width === 2) b.swap16()
  else if (width === 4) b.swap32()
  else b.swap64()
}

// ---------------------------------------------------------------------------------------------
// Promise code → Effect

/**
 * True for the typed I/O errors (thrown by parsing code as they should reach the caller).
 *
 * @example
 * ```ts
 * isIoError(new FormatError({ path: "a.tif", position: "byte 0", detail: "bad magic" }))   // true
 * ```
 */
export const isIoError = (e: unknown): e is IoError =>
  e instanceof FileError || e instanceof FormatError || e instanceof UnsupportedError

/**
 * A positional read that failed (EIO from a bad sector, a network file system that lost its
 * server): Node's error and the byte the read had reached. `readFully` and `readFullySync` throw
 * it, since they do not know the path; `ioErrorOf` (used by `attempt`, `begin` and `startFile`)
 * turns it into a FileError naming the byte. `code` is Node's, so code that tests `.code` sees it.
 *
 * @example
 * ```ts
 * try { await readFully(fd, page, offset) } catch (e) { throw ioErrorOf(path, "read", e, "page 86") }
 * // FileError: "cannot read a.tif: page 86, byte 22589456: input/output error"
 * ```
 */
export class ReadFailure extends Error {
  readonly code: string | undefined
  constructor(readonly error: NodeJS.ErrnoException, readonly offset: number) {
    super(error.message)
    this.code = error.code
  }
}

/** Where a read stopped: "byte 4096", or "slice 3, byte 4096" when the caller named the place. */
const placeOf = (offset: number, where?: string): string => (where === undefined ? `byte ${offset}` : `${where}, byte ${offset}`)

/**
 * Whatever a step on `path` threw, as an IoError: an IoError as itself, a `ReadFailure` as a
 * FileError naming the byte (after `where`, e.g. "slice 3", when given), anything else as
 * `fileError(path, operation, e)`.
 *
 * @example
 * ```ts
 * ioErrorOf("/d/in.tif", "read", new ReadFailure(eio, 4096), "page 3").message
 * // "cannot read /d/in.tif: page 3, byte 4096: input/output error"
 * ```
 */
export const ioErrorOf = (path: string, operation: FileError["operation"], e: unknown, where?: string): IoError =>
  isIoError(e) ? e : e instanceof ReadFailure ? fileError(path, operation, e.error, placeOf(e.offset, where)) : fileError(path, operation, e)

/**
 * Runs a promise-returning step on `path`; a thrown IoError fails as itself, any other rejection
 * as `ioErrorOf(path, operation, cause)` (a failed read names its byte).
 *
 * @example
 * ```ts
 * attempt(dir, "list", () => fs.promises.readdir(dir))   // Effect<string[], IoError>
 * ```
 */
export const attempt = <A>(path: string, operation: FileError["operation"], f: () => Promise<A>): Effect.Effect<A, IoError> =>
  Effect.tryPromise({ try: f, catch: (e) => ioErrorOf(path, operation, e) })

// ---------------------------------------------------------------------------------------------
// Opening and closing

/** How `openFd` reports a failure. */
export interface OpenOptions {
  /** The operation a failure names (default "open"; writers use "create"). */
  readonly operation?: FileError["operation"]
  /** The path a failure names, when it is not the one opened (a temporary shown as its target). */
  readonly shown?: string
}

/** O_WRONLY | O_CREAT | O_EXCL: node's "wx" adds O_TRUNC. */
const CREATE_NEW = fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL

/**
 * Opens `path` with node `flags` ("r", "w", "wx", …) and succeeds with the fd; "wx" without
 * O_TRUNC (see `openReplacing`).
 *
 * Opening and closing are synchronous calls: a stack opens and closes a file per slice, and a
 * round trip through libuv's thread pool costs more than the system call on a local disk (a 512³
 * copy between TIFF stacks took 0.80 s this way and 0.93 s through the pool, compared with
 * `bash bench/before-after.sh`); reads and writes, which move the data, stay asynchronous and
 * overlap compute.
 *
 * @example
 * ```ts
 * const fd = yield* openFd("/out/v.tif.partial-42-9f3a", "wx", { operation: "create", shown: "/out/v.tif" })
 * ```
 */
export const openFd = (path: string, flags: string, options: OpenOptions = {}): Effect.Effect<number, FileError> =>
  Effect.try({
    try: () => fs.openSync(path, flags === "wx" ? CREATE_NEW : flags, 0o666),
    catch: (err) => fileError(options.shown ?? path, options.operation ?? "open", err)
  })

/**
 * Closes `fd`; a failure (a late write error, reported at close) is a FileError "write" on `path`.
 *
 * @example
 * ```ts
 * yield* closeFd(fd, "/out/v.nrrd")
 * ```
 */
export const closeFd = (fd: number, path: string): Effect.Effect<void, FileError> =>
  Effect.try({ try: () => fs.closeSync(fd), catch: (err) => fileError(path, "write", err) })

/**
 * Flushes the data written to `fd` to stable storage (fdatasync), so that a journal written after
 * it may count on them. Synchronous: it runs once per checkpoint, not per slice. A failure is a
 * FileError "write" on `path`.
 *
 * @example
 * ```ts
 * yield* syncFd(fd, "/out/v.nrrd")
 * ```
 */
export const syncFd = (fd: number, path: string): Effect.Effect<void, FileError> =>
  Effect.try({ try: () => fs.fdatasyncSync(fd), catch: (err) => fileError(path, "write", err) })

/**
 * Flushes the file or directory at `path` to stable storage (opened, fsynced, closed): a file
 * written through another fd, or a directory whose entries must survive a power cut. Throws as
 * node:fs does.
 *
 * @example
 * ```ts
 * syncPath("/out/stack.partial-1-abc/slice_0007.tif")
 * syncPath("/out/stack.partial-1-abc")   // then its directory
 * ```
 */
export const syncPath = (path: string): void => {
  const fd = fs.openSync(path, "r")
  try {
    fs.fsyncSync(fd)
  } finally {
    fs.closeSync(fd)
  }
}

/**
 * Opens `path` in the current Scope; the fd is closed when the scope closes (close errors ignored).
 *
 * @example
 * ```ts
 * const fd = yield* openScoped("/data/vol.raw", "r")   // inside Effect.scoped
 * ```
 */
export const openScoped = (path: string, flags: string, options: OpenOptions = {}): Effect.Effect<number, FileError, Scope.Scope> =>
  Effect.acquireRelease(openFd(path, flags, options), (fd) => Effect.ignore(closeFd(fd, options.shown ?? path)))

/**
 * Opens `path` for the duration of `use`, closing it afterwards whatever happens (close errors
 * ignored).
 *
 * @example
 * ```ts
 * const size = yield* withFd("/data/vol.nrrd", "r", (fd) => fdSize(fd, "/data/vol.nrrd"))
 * ```
 */
export const withFd = <A, E, R>(
  path: string,
  flags: string,
  use: (fd: number) => Effect.Effect<A, E, R>,
  options: OpenOptions = {}
): Effect.Effect<A, E | FileError, R> =>
  Effect.acquireUseRelease(openFd(path, flags, options), use, (fd) => Effect.ignore(closeFd(fd, options.shown ?? path)))

/**
 * Runs `check` on the regular file `path`, opened read-only on the calling thread, and closes it.
 * For checks of a few KiB over many files (the files of a stack), where an effect per file would
 * cost more than the check. False when the file cannot be opened or stat'ed, is not a regular file,
 * or `check` throws: the caller then takes its general path, which reports why.
 *
 * @example
 * ```ts
 * const alike = files.map((f) => checkFileSync(f, (fd, size) => size === head.size))
 * ```
 */
export const checkFileSync = (path: string, check: (fd: number, size: number) => boolean): boolean => {
  let fd: number
  try {
    fd = fs.openSync(path, "r")
  } catch {
    return false
  }
  try {
    const st = fs.fstatSync(fd)
    return st.isFile() && check(fd, st.size)
  } catch {
    return false
  } finally {
    closeQuietly(fd)
  }
}

/** Closes `fd`, ignoring a failure: for fds whose reads and writes have settled (as withFd does). */
const closeQuietly = (fd: number): void => {
  try {
    fs.closeSync(fd)
  } catch {
    // What was read or written has been; the caller's answer stands.
  }
}

/**
 * Starts `run` now and returns an effect that waits for it, uninterruptibly: a raw fd or buffer in
 * use must not be released before the work on it has settled. A rejection fails as itself if it is
 * an IoError, else as a FileError `operation` on `path` (as `attempt`). Await the effect once.
 *
 * Unlike `attempt`, which starts its promise when run, this starts it when called: an executor can
 * keep the read of the next slice in flight while it computes without a fiber per slice, which
 * costs more than the system calls in a run of a few hundred slices (docs/BENCHMARKS.md, "Copy and
 * threshold: reads and writes in flight without a fiber per slice").
 *
 * @example
 * ```ts
 * const pending = begin(path, "read", () => readFully(fd, next, offset))   // reading from now on
 * compute(current)
 * yield* pending
 * ```
 */
export const begin = <A>(path: string, operation: FileError["operation"], run: () => Promise<A>): Effect.Effect<A, IoError> => {
  let outcome: Effect.Effect<A, IoError> | undefined
  let waiting: ((outcome: Effect.Effect<A, IoError>) => void) | undefined
  const settle = (o: Effect.Effect<A, IoError>) => {
    outcome = o
    waiting?.(o)
  }
  const failed = (err: unknown) => settle(Effect.fail(ioErrorOf(path, operation, err)))
  try {
    run().then((a) => settle(Effect.succeed(a)), failed)
  } catch (err) {
    failed(err)
  }
  return Effect.uninterruptible(
    Effect.suspend(() =>
      outcome ??
      Effect.async<A, IoError>((resume) => {
        waiting = resume
      })
    )
  )
}

/**
 * Opens `path` for writing as a new, empty file (flags "w"), without O_TRUNC: an existing file is
 * unlinked first and the new one created with O_EXCL. ext4 (auto_da_alloc) starts writing back,
 * at close, a file that was opened with O_TRUNC: creating and writing 256 KiB files took 0.98 ms a
 * file that way and 0.21 ms without (docs/BENCHMARKS.md, "Three backends at 512³"). Throws as
 * node:fs does.
 *
 * @example
 * ```ts
 * const fd = openReplacing("/out/stack.partial-1-abc/slice_0007.tif")
 * ```
 */
export const openReplacing = (path: string): number => {
  try {
    return fs.openSync(path, CREATE_NEW, 0o666)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err
    fs.unlinkSync(path)
    return fs.openSync(path, CREATE_NEW, 0o666)
  }
}

/**
 * `bytes` as the whole content of `path`, written as `openReplacing` opens (no O_TRUNC, so no
 * flush at close on ext4).
 *
 * @example
 * ```ts
 * await writeReplacing("/out/v.zarr.partial-1-abc/0/0/0", chunk)
 * ```
 */
export const writeReplacing = async (path: string, bytes: Uint8Array): Promise<void> => {
  try {
    await fs.promises.writeFile(path, bytes, { flag: CREATE_NEW })
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err
    await fs.promises.unlink(path)
    await fs.promises.writeFile(path, bytes, { flag: CREATE_NEW })
  }
}

/**
 * Opens `path` with node `flags` now, runs async `use` on the fd and closes it once `use` has
 * settled (close errors ignored), returning an effect that waits for the result (see `begin`). A
 * failure to open is a FileError of `options.operation` (default "open"); a rejection of `use`
 * fails as itself if it is an IoError, else as a FileError `operation`. Errors name
 * `options.shown` when given. Flags "w" open as `openReplacing` does.
 *
 * @example
 * ```ts
 * const writing = startFile(file, "w", "write", (fd) => writevFully(fd, [metadata, pixels], 0), { operation: "create" })
 * ```
 */
export const startFile = <A>(
  path: string,
  flags: string,
  operation: FileError["operation"],
  use: (fd: number) => Promise<A>,
  options: OpenOptions = {}
): Effect.Effect<A, IoError> => {
  const shown = options.shown ?? path
  return begin(shown, operation, async () => {
    let fd: number
    try {
      fd = flags === "w" ? openReplacing(path) : fs.openSync(path, flags, 0o666)
    } catch (err) {
      throw fileError(shown, options.operation ?? "open", err)
    }
    try {
      return await use(fd)
    } finally {
      closeQuietly(fd)
    }
  })
}

/**
 * `startFile` started when the effect runs: for files opened once per slice (the files of a
 * stack), one effect instead of `withFd` around `attempt`, a dozen effects fewer per file.
 *
 * @example
 * ```ts
 * yield* usingFile(file, "r", "read", (fd) => readFully(fd, slice, offset))
 * ```
 */
export const usingFile = <A>(
  path: string,
  flags: string,
  operation: FileError["operation"],
  use: (fd: number) => Promise<A>,
  options: OpenOptions = {}
): Effect.Effect<A, IoError> => Effect.suspend(() => startFile(path, flags, operation, use, options))

// ---------------------------------------------------------------------------------------------
// Metadata

/**
 * The status of the file behind `fd` (a failure is a FileError "stat"). Synchronous, as `openFd`
 * is and for the same reason: a stack stats a file per slice.
 *
 * @example
 * ```ts
 * const st = yield* statFd(fd, path)
 * if (!st.isFile()) return yield* new FileError({ path, operation: "open", detail: "not a regular file" })
 * ```
 */
export const statFd = (fd: number, path: string): Effect.Effect<fs.Stats, FileError> =>
  Effect.try({ try: () => fs.fstatSync(fd), catch: (err) => fileError(path, "stat", err) })

/**
 * The size in bytes of the file behind `fd`; a directory is a FileError "read" (EISDIR).
 *
 * @example
 * ```ts
 * const bytes = yield* fdSize(fd, "/data/vol.nrrd")
 * ```
 */
export const fdSize = (fd: number, path: string): Effect.Effect<number, FileError> =>
  Effect.flatMap(statFd(fd, path), (st) =>
    st.isDirectory()
      ? Effect.fail(new FileError({ path, operation: "read", detail: "EISDIR: is a directory" }))
      : Effect.succeed(st.size)
  )

/**
 * Sets the length of the file behind `fd` (an extension is sparse: no data is written).
 *
 * @example
 * ```ts
 * yield* truncateFd(fd, tempPath, headerBytes + volumeBytes(info))
 * ```
 */
export const truncateFd = (fd: number, path: string, length: number): Effect.Effect<void, FileError> =>
  Effect.async<void, FileError>((resume) => {
    fs.ftruncate(fd, length, (err) => resume(err ? Effect.fail(fileError(path, "write", err)) : Effect.void))
  })

/**
 * Renames `from` to `to` (atomic on POSIX within one file system). A failure is a FileError
 * "rename" on `shown`, by default "`from` -> `to`".
 *
 * @example
 * ```ts
 * yield* renameFile("/out/v.nrrd.partial-42-9f3a", "/out/v.nrrd")
 * ```
 */
export const renameFile = (from: string, to: string, shown = `${from} -> ${to}`): Effect.Effect<void, FileError> =>
  Effect.async<void, FileError>((resume) => {
    fs.rename(from, to, (err) => resume(err ? Effect.fail(fileError(shown, "rename", err)) : Effect.void))
  })

/**
 * The entries of directory `dir`, with their types. A failure is a FileError "list" on `dir`.
 * (node:fs's callback form: loading node:fs/promises for this would cost a run 1.1 MiB of
 * resident memory, bench/runtime-floor.sh.)
 *
 * @example
 * ```ts
 * const names = (yield* listDirectory("/data/scan")).filter((e) => e.isFile()).map((e) => e.name)
 * ```
 */
export const listDirectory = (dir: string): Effect.Effect<ReadonlyArray<fs.Dirent>, FileError> =>
  Effect.async<ReadonlyArray<fs.Dirent>, FileError>((resume) => {
    fs.readdir(dir, { withFileTypes: true }, (err, entries) => resume(err ? Effect.fail(fileError(dir, "list", err)) : Effect.succeed(entries)))
  })

/**
 * Creates directory `path`, not its parents. A failure (it exists, no parent) is a FileError
 * "create" on `shown`, by default `path`.
 *
 * @example
 * ```ts
 * yield* makeDirectory("/out/stack.partial-42-9f3a", "/out/stack")   // errors name the output
 * ```
 */
export const makeDirectory = (path: string, shown = path): Effect.Effect<void, FileError> =>
  Effect.async<void, FileError>((resume) => {
    fs.mkdir(path, (err) => resume(err ? Effect.fail(fileError(shown, "create", err)) : Effect.void))
  })

// ---------------------------------------------------------------------------------------------
// Positional reads and writes: one loop each, two faces

type Done = (err: NodeJS.ErrnoException | null, bytes: number) => void

/** Reads into `target` from `position` until it is full or the file ends; `done(err, bytesRead)`. */
const readLoop = (fd: number, target: Uint8Array, position: number, done: Done): void => {
  const step = (got: number): void => {
    if (got === target.length) return done(null, got)
    fs.read(fd, target, got, target.length - got, position + got, (err, n) => {
      if (err) return done(err, got)
      if (n === 0) return done(null, got)
      step(got + n)
    })
  }
  step(0)
}

/** Writes `source[from…]` at `position + from` until all of it is written. */
const writeLoop = (fd: number, source: Uint8Array, position: number, from: number, done: Done): void => {
  const step = (put: number): void => {
    if (put === source.length) return done(null, put)
    fs.write(fd, source, put, source.length - put, position + put, (err, n) => {
      if (err) return done(err, put)
      step(put + n)
    })
  }
  step(from)
}

/** Writes `parts` back to back from `position`: one writev, then plain writes for any remainder. */
const writevLoop = (fd: number, parts: ReadonlyArray<Uint8Array>, position: number, done: Done): void => {
  let total = 0
  for (const p of parts) total += p.length
  fs.writev(fd, parts as Uint8Array[], position, (err, written) => {
    if (err) return done(err, 0)
    if (written === total) return done(null, total)
    // A short writev: continue part by part from where it stopped.
    const rest = (k: number, at: number, skip: number): void => {
      if (k === parts.length) return done(null, total)
      const part = parts[k]!
      if (skip >= part.length) return rest(k + 1, at + part.length, skip - part.length)
      writeLoop(fd, part, at, skip, (e) => (e ? done(e, 0) : rest(k + 1, at + part.length, 0)))
    }
    rest(0, position, written)
  })
}

const promised = (run: (done: Done) => void): Promise<number> =>
  new Promise((resolve, reject) => run((err, n) => (err ? reject(err) : resolve(n))))

const effected = <A>(path: string, operation: "read" | "write", run: (done: Done) => void, value: (n: number) => A) =>
  Effect.uninterruptible(
    Effect.async<A, FileError>((resume) =>
      run((err, n) => resume(err ? Effect.fail(fileError(path, operation, err)) : Effect.succeed(value(n))))
    )
  )

/**
 * Reads into `target` from byte `position` until it is full or the file ends; resolves with the
 * number of bytes read (less than `target.length` only at the end of the file) and rejects with a
 * `ReadFailure` (Node's error and the byte reached). For async code running inside
 * `Effect.uninterruptible(attempt(…))`, which reports the byte.
 *
 * @example
 * ```ts
 * const got = await readFully(fd, buf.subarray(0, 4096), offset)
 * ```
 */
export const readFully = (fd: number, target: Uint8Array, position: number): Promise<number> =>
  new Promise((resolve, reject) =>
    readLoop(fd, target, position, (err, n) => (err ? reject(new ReadFailure(err, position + n)) : resolve(n)))
  )

/**
 * `readFully` on the calling thread: for reads of a few KiB, where a trip through libuv's thread
 * pool costs more than the read (metadata of the files of a stack, already opened synchronously).
 *
 * @example
 * ```ts
 * const got = readFullySync(fd, header, 0)
 * ```
 */
export const readFullySync = (fd: number, target: Uint8Array, position: number): number => {
  let got = 0
  while (got < target.length) {
    let n: number
    try {
      n = fs.readSync(fd, target, got, target.length - got, position + got)
    } catch (err) {
      throw new ReadFailure(err as NodeJS.ErrnoException, position + got)
    }
    if (n === 0) break
    got += n
  }
  return got
}

/**
 * Writes all of `source` at byte `position`; rejects with Node's error. For async code running
 * inside `Effect.uninterruptible(attempt(…))`.
 *
 * @example
 * ```ts
 * await writeFully(fd, header, 0)
 * ```
 */
export const writeFully = (fd: number, source: Uint8Array, position: number): Promise<void> =>
  promised((done) => writeLoop(fd, source, position, 0, done)).then(() => undefined)

/**
 * Writes `parts` back to back from byte `position`, with one writev when the system takes them
 * whole; rejects with Node's error.
 *
 * @example
 * ```ts
 * await writevFully(fd, [metadata, pixels], 0)
 * ```
 */
export const writevFully = (fd: number, parts: ReadonlyArray<Uint8Array>, position: number): Promise<void> =>
  promised((done) => writevLoop(fd, parts, position, done)).then(() => undefined)

/**
 * Reads into `target` from byte `position` until it is full or the file ends; succeeds with the
 * number of bytes read (less than `target.length` only at the end of the file). A failure is a
 * FileError "read" on `path` naming the byte it stopped at, and slice `slice` when given.
 * Uninterruptible: a read the kernel is still doing must finish before the scope may close the fd.
 *
 * @example
 * ```ts
 * const n = yield* readAt(fd, "/data/vol.nrrd", slice, offset + z * sliceBytes, z)
 * // on EIO: "cannot read /data/vol.nrrd: slice 7, byte 3670368: input/output error"
 * ```
 */
export const readAt = (fd: number, path: string, target: Uint8Array, position: number, slice?: number): Effect.Effect<number, FileError> =>
  Effect.uninterruptible(
    Effect.async<number, FileError>((resume) =>
      readLoop(fd, target, position, (err, n) =>
        resume(err ? Effect.fail(fileError(path, "read", err, placeOf(position + n, slice === undefined ? undefined : `slice ${slice}`))) : Effect.succeed(n))
      )
    )
  )

/**
 * Writes all of `source` at byte `position`. A failure is a FileError "write" on `path`.
 * Uninterruptible for the same reason as `readAt`.
 *
 * @example
 * ```ts
 * yield* writeAt(fd, "/out/v.tif", bytesOf(slice), layout.dataOffset(z))
 * ```
 */
export const writeAt = (fd: number, path: string, source: Uint8Array, position: number): Effect.Effect<void, FileError> =>
  effected(path, "write", (done) => writeLoop(fd, source, position, 0, done), () => undefined)

/**
 * Writes `parts` back to back from byte `position`, with one writev when the system takes them
 * whole. A failure is a FileError "write" on `path`. Uninterruptible, as `writeAt`.
 *
 * @example
 * ```ts
 * yield* writevAt(fd, "/out/slices/slice_00003.tif", [metadata, bytesOf(slice)], 0)
 * ```
 */
export const writevAt = (fd: number, path: string, parts: ReadonlyArray<Uint8Array>, position: number): Effect.Effect<void, FileError> =>
  effected(path, "write", (done) => writevLoop(fd, parts, position, done), () => undefined)
