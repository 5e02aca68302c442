/**
 * A time series of the process while it works: RSS, CPU use (% of one core) and I/O rates from
 * /proc/self/io (Linux; elsewhere the I/O fields are left out, not guessed), plus whatever load the
 * caller reports (running jobs, their predicted peaks). One timer in the caller's scope: it stops
 * on success, failure and interruption, after a last sample.
 *
 * @example
 * ```ts
 * const samples = yield* Effect.scoped(Effect.gen(function* () {
 *   const sampler = yield* startSampler({ intervalMs: 100 })
 *   yield* Run.run(program)
 *   return sampler.samples
 * }))
 * ```
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as fs from "node:fs"
import type { Sample } from "./schema.js"

export interface SamplerOptions {
  /** Time between samples (default 100 ms). */
  readonly intervalMs?: number
  /** The time origin of the samples, a performance.now() value (default: now). */
  readonly originMs?: number
  /** The load at this moment, sampled with the rest (batch: running jobs, predicted peaks). */
  readonly load?: () => { readonly running: number; readonly runningPredictedBytes: number }
}

export interface Sampler {
  /** The samples so far, oldest first (complete once the scope has closed). */
  readonly samples: ReadonlyArray<Sample>
  /** The time origin of `tMs`, a performance.now() value. */
  readonly originMs: number
}

export interface IoCounters {
  readonly rchar: number
  readonly wchar: number
  readonly readBytes: number
  readonly writeBytes: number
}

/**
 * The byte counters of /proc/PID/io (this process by default), or undefined where the file is
 * missing or unreadable (another user's process, one that ended, not Linux).
 */
export const readIoCounters = (pid: number | "self" = "self"): IoCounters | undefined => {
  let text: string
  try {
    text = fs.readFileSync(`/proc/${pid}/io`, "latin1")
  } catch {
    return undefined
  }
  const field = (name: string) => {
    const m = new RegExp(`^${name}: (\\d+)$`, "m").exec(text)
    return m === null ? NaN : Number(m[1])
  }
  const c = { rchar: field("rchar"), wchar: field("wchar"), readBytes: field("read_bytes"), writeBytes: field("write_bytes") }
  return Object.values(c).every(Number.isFinite) ? c : undefined
}

/**
 * This process's resident bytes, or undefined when the system cannot say now (libuv reads
 * /proc/self/stat, which fails with EMFILE when the process has no file descriptor left).
 *
 * @example
 * ```ts
 * const rss = residentBytes() ?? lastKnown
 * ```
 */
export const residentBytes = (): number | undefined => {
  try {
    return process.memoryUsage.rss()
  } catch {
    return undefined
  }
}

/** Starts sampling now; sampling stops (after a last sample) when the scope closes. */
export const startSampler = (options: SamplerOptions = {}): Effect.Effect<Sampler, never, Scope.Scope> =>
  Effect.gen(function* () {
    const intervalMs = options.intervalMs ?? 100
    const originMs = options.originMs ?? performance.now()
    const samples: Array<Sample> = []
    let lastMs = performance.now()
    let lastCpu = process.cpuUsage()
    let lastIo = readIoCounters()

    const take = () => {
      // No sample while the RSS cannot be read: with every file descriptor in use (EMFILE under
      // many jobs), libuv cannot open /proc/self/stat, and a throw here, in a timer, would end the
      // process without its scopes' clean-up. The next sample's rates span the gap.
      const rssBytes = residentBytes()
      if (rssBytes === undefined) return
      const nowMs = performance.now()
      const cpu = process.cpuUsage()
      const io = lastIo === undefined ? undefined : readIoCounters()
      const dtMs = Math.max(nowMs - lastMs, 1e-3)
      const perSecond = (bytes: number) => Math.max(0, bytes) / (dtMs / 1000)
      const load = options.load?.()
      samples.push({
        tMs: nowMs - originMs,
        rssBytes,
        cpuPercent: Math.max(0, (cpu.user - lastCpu.user + cpu.system - lastCpu.system) / 1000 / dtMs) * 100,
        ...(io === undefined || lastIo === undefined
          ? {}
          : {
              io: {
                readBytesPerSecond: perSecond(io.rchar - lastIo.rchar),
                writeBytesPerSecond: perSecond(io.wchar - lastIo.wchar),
                diskReadBytesPerSecond: perSecond(io.readBytes - lastIo.readBytes),
                diskWriteBytesPerSecond: perSecond(io.writeBytes - lastIo.writeBytes)
              }
            }),
        ...(load === undefined ? {} : { running: load.running, runningPredictedBytes: load.runningPredictedBytes })
      })
      lastMs = nowMs
      lastCpu = cpu
      if (io !== undefined) lastIo = io
    }

    yield* Effect.sync(take)
    // A plain timer, not a fiber: its callback runs as soon as the event loop is free, without
    // queueing behind the jobs' fibers in Effect's scheduler (samples come between slices anyway:
    // there is one JavaScript thread). Cleared, after a last sample, when the scope closes.
    yield* Effect.acquireRelease(
      Effect.sync(() => setInterval(take, intervalMs)),
      (timer) =>
        Effect.sync(() => {
          clearInterval(timer)
          take()
        })
    )
    return { samples, originMs }
  })
