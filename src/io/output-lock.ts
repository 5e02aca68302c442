/**
 * One writer per output: `<output>.slicewise-lock`, created exclusively beside the output before
 * any temporary is made and removed when the run's scope closes (success, failure, interruption).
 * Atomic renames alone keep a half-written file from appearing, but two runs writing the same
 * output would both spend their time and the later rename would silently win; with the lock the
 * second run is refused at once, naming the run that holds it.
 *
 * The lock holds the holder's pid, its start time (field 22 of /proc/PID/stat, so that a reused pid
 * is not taken for the holder) and host name. A lock whose process is gone (a `kill -9`, a power
 * cut) is stale and taken over; one from another host cannot be checked and is respected.
 *
 * `lockedSink` wraps a sink so that its writer takes the lock, and so that its errors name the
 * output rather than the temporary being written (`v.tif.partial-42-9f3a…` → `v.tif`). `sinkFor`
 * applies it to every format.
 *
 * @example
 * ```ts
 * const sink = lockedSink("/out/v.tif", tiffFileSink("/out/v.tif"))
 * // sink.create(info), in a scope, fails with FileError code "EBUSY" while another run writes /out/v.tif
 * ```
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { FileError, fileError, type IoError } from "../algebra/io-errors.js"
import type { ResumableWriter, SliceSink, SliceWriter } from "../algebra/slices.js"
import type { DType } from "../algebra/dtype.js"
import { shownPath, temporarySuffix } from "./atomic.js"

/** The lock file of an output. */
export const lockName = (output: string): string => `${output}.slicewise-lock`

/** Who holds a lock. */
export interface LockHolder {
  readonly pid: number
  /** Start time of the process in clock ticks since boot (Linux), or -1 where unknown. */
  readonly start: number
  readonly host: string
}

/** A process's start time from /proc/PID/stat (-1 without /proc; undefined: no such process). */
export const processStart = (pid: number): number | undefined => {
  let stat: string
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, "latin1")
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT" || (e as NodeJS.ErrnoException).code === "ESRCH") {
      return fs.existsSync("/proc/self/stat") ? undefined : aliveBySignal(pid) ? -1 : undefined
    }
    return -1
  }
  // The command name (field 2) may hold spaces and parentheses: count fields after the last ")".
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
  return Number(fields[19])
}

/** Where there is no /proc: signal 0 tells whether the pid exists (EPERM: it does, not ours). */
const aliveBySignal = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM"
  }
}

/** This process as a lock holder. */
const self = (): LockHolder => ({ pid: process.pid, start: processStart(process.pid) ?? -1, host: os.hostname() })

const parseHolder = (text: string): LockHolder | undefined => {
  try {
    const h = JSON.parse(text) as LockHolder
    return typeof h.pid === "number" && typeof h.start === "number" && typeof h.host === "string" ? h : undefined
  } catch {
    return undefined
  }
}

/** True when `holder`'s process is gone (or its pid now belongs to a later process). */
export const isStale = (holder: LockHolder): boolean => {
  if (holder.host !== os.hostname()) return false
  const start = processStart(holder.pid)
  return start === undefined || (start !== -1 && holder.start !== -1 && start !== holder.start)
}

const readText = (file: string): string | undefined => {
  try {
    return fs.readFileSync(file, "utf8")
  } catch {
    return undefined
  }
}

/**
 * Writes the holder to a private file and links it to `lock`: link fails with EEXIST if the lock
 * exists, and a reader never sees a lock without its content. File systems without hard links get
 * an exclusive create and write instead.
 */
const tryCreate = (lock: string, content: string): boolean => {
  const draft = lock + temporarySuffix()
  try {
    fs.writeFileSync(draft, content, { flag: "wx" })
  } catch (e) {
    // A draft created but not written (ENOSPC) is not left behind.
    fs.rmSync(draft, { force: true })
    throw e
  }
  try {
    fs.linkSync(draft, lock)
    return true
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    if (code === "EEXIST") return false
    if (code !== "EPERM" && code !== "ENOTSUP" && code !== "EOPNOTSUPP" && code !== "ENOSYS") throw e
    try {
      fs.writeFileSync(lock, content, { flag: "wx" })
      return true
    } catch (e2) {
      if ((e2 as NodeJS.ErrnoException).code === "EEXIST") return false
      throw e2
    }
  } finally {
    fs.rmSync(draft, { force: true })
  }
}

/**
 * Moves a stale lock whose content is `stale` out of the way. It is renamed aside first and checked
 * there: if another run took it over in between, the lock renamed is that run's, and it is put back.
 */
const removeStale = (lock: string, stale: string): void => {
  const aside = lock + temporarySuffix()
  try {
    fs.renameSync(lock, aside)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return
    throw e
  }
  if (readText(aside) === stale) return fs.rmSync(aside, { force: true })
  try {
    fs.linkSync(aside, lock)
  } catch {
    // A third run created a lock in the gap: it holds the output now.
  }
  fs.rmSync(aside, { force: true })
}

/** A file's device and inode, from stat (which needs no file descriptor); undefined if it is gone. */
const identityOf = (file: string): string | undefined => {
  try {
    const st = fs.statSync(file)
    return `${st.dev}:${st.ino}`
  } catch {
    return undefined
  }
}

/**
 * True while `lock` is still the file this process created (`identity`, when known) with content
 * `mine`. The identity decides when the content cannot be read: with every file descriptor in use
 * (EMFILE, a batch of many jobs under a low `ulimit -n`) reading the lock fails, and a release that
 * needed its content left it behind, refusing every later run on that output.
 */
const stillMine = (lock: string, mine: string, identity: string | undefined): boolean => {
  if (identity === undefined) return readText(lock) === mine
  if (identityOf(lock) !== identity) return false
  const text = readText(lock)
  return text === undefined || text === mine
}

const busy = (output: string, lock: string, holder: LockHolder | undefined): FileError =>
  new FileError({
    path: output,
    operation: "create",
    code: "EBUSY",
    detail:
      holder === undefined
        ? `another slicewise run is writing it (${lock} exists); wait for it, or remove the lock if no run writes there`
        : holder.pid === process.pid && holder.host === os.hostname()
          ? "this process is already writing it (two outputs of one run, or two jobs, name the same path)"
          : `another slicewise run (pid ${holder.pid}${holder.host === os.hostname() ? "" : ` on ${holder.host}`}) is writing it; ` +
            `wait for it to finish, or choose another output${holder.host === os.hostname() ? "" : ` (if that run is gone, remove ${lock})`}`
  })

/**
 * Takes the lock of `output` in the current scope: created now, removed when the scope closes (if
 * it is still this process's). Fails with a FileError "create", code EBUSY, while another live run
 * holds it; a stale lock is taken over.
 *
 * @example
 * ```ts
 * yield* acquireOutputLock("/out/v.tif")   // inside Effect.scoped
 * ```
 */
export const acquireOutputLock = (output: string): Effect.Effect<void, FileError, Scope.Scope> => {
  const lock = lockName(output)
  const mine = JSON.stringify(self())
  /** The lock taken (its identity, to release it by) or why not. */
  type Taken = { readonly identity: string | undefined } | { readonly refused: FileError }
  const take = Effect.try({
    try: (): Taken => {
      // Three rounds: a stale lock removed, or one released between our attempt and our read.
      for (let round = 0; round < 3; round++) {
        if (tryCreate(lock, mine)) return { identity: identityOf(lock) }
        const text = readText(lock)
        if (text === undefined) continue
        const holder = parseHolder(text)
        if (holder !== undefined && isStale(holder)) {
          removeStale(lock, text)
          continue
        }
        return { refused: busy(output, lock, holder) }
      }
      return { refused: busy(output, lock, parseHolder(readText(lock) ?? "")) }
    },
    catch: (e) => fileError(output, "create", e)
  })
  const release = (identity: string | undefined) =>
    Effect.sync(() => {
      if (stillMine(lock, mine, identity)) fs.rmSync(lock, { force: true })
    })
  return Effect.flatMap(Effect.acquireRelease(take, (t) => ("refused" in t ? Effect.void : release(t.identity))), (t) =>
    "refused" in t ? Effect.fail(t.refused) : Effect.void
  )
}

/**
 * Removes the lock of `output` when it is held from another host: for a caller that knows that
 * holder is gone, which this host cannot check (a cluster job taken again once the lease of the
 * runner that ran it lapsed). A lock of this host is left to `acquireOutputLock`, which checks it.
 * True if a lock was removed.
 *
 * @example
 * ```ts
 * releaseAbandonedLock("/shared/seg/t1-fused.nii.gz")   // before re-running a job whose runner died
 * ```
 */
export const releaseAbandonedLock = (output: string): boolean => {
  const lock = lockName(output)
  const text = readText(lock)
  const holder = text === undefined ? undefined : parseHolder(text)
  if (text === undefined || holder === undefined || holder.host === os.hostname()) return false
  removeStale(lock, text)
  return !fs.existsSync(lock) || readText(lock) !== text
}

/** A writer error naming the temporary being written is shown as naming the output's file. */
const named = <A, R>(effect: Effect.Effect<A, IoError, R>): Effect.Effect<A, IoError, R> =>
  Effect.mapError(effect, (e) => {
    if (e._tag !== "FileError") return e
    const shown = shownPath(e.path)
    return shown === e.path ? e : new FileError({ path: shown, operation: e.operation, detail: e.detail, ...(e.code === undefined ? {} : { code: e.code }) })
  })

/** `writer` with errors naming the output instead of its temporaries. */
const namedWriter = <D extends DType>(w: SliceWriter<D>): SliceWriter<D> => ({
  write: (z, data) => named(w.write(z, data)),
  ...(w.writeRows === undefined ? {} : { writeRows: (z, rows, data) => named(w.writeRows!(z, rows, data)) }),
  ...(w.startWrite === undefined ? {} : { startWrite: (z, data) => named(w.startWrite!(z, data)) }),
  commit: named(w.commit),
  bytesWritten: w.bytesWritten
})

/** A resumable writer with errors naming the output instead of its temporaries. */
const namedResumable = <D extends DType>(w: ResumableWriter<D>): ResumableWriter<D> => ({
  ...namedWriter(w),
  temporaries: w.temporaries,
  readBack: (z, into) => named(w.readBack(z, into)),
  markWritten: (z) => w.markWritten(z),
  sync: named(w.sync)
})

/**
 * `sink`, whose writers first take the lock of `output` (in the writer's scope) and whose errors
 * name the output, not its temporaries.
 *
 * @example
 * ```ts
 * const sink = lockedSink("/out/v.nrrd", nrrdSink("/out/v.nrrd"))
 * ```
 */
export const lockedSink = (output: string, sink: SliceSink): SliceSink => ({
  ...sink,
  create: (info) => Effect.zipRight(acquireOutputLock(output), Effect.map(named(sink.create(info)), namedWriter)),
  ...(sink.resumable === undefined
    ? {}
    : {
        resumable: {
          create: (info, reuse, keep) =>
            Effect.zipRight(
              acquireOutputLock(output),
              Effect.map(named(sink.resumable!.create(info, reuse, keep)), namedResumable)
            )
        }
      })
})
