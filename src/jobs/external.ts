/**
 * A job that runs an external command (exec, register, warp) once set up: what it predicts, and
 * the effect that runs it. Its memory is a declared or modelled prediction, not a plan's buffers;
 * the batch counts it against the same budget as a slicewise job's.
 *
 * @example
 * ```ts
 * const s = yield* jobSetUp(job)
 * if (isExternal(s)) console.log(`${s.predictedBytes} bytes predicted`, (yield* s.run).peakRssBytes)
 * ```
 */
import type * as Effect from "effect/Effect"

/** What a finished external command measured. */
export interface ExternalResult {
  /** Times the command was started (1 + the retries it needed). */
  readonly attempts: number
  /** The peak resident memory of its processes, bytes (sampled from /proc: see exec/peak-rss.ts). */
  readonly peakRssBytes: number
  /** CPU time of its processes (user + system), ms, as far as sampled. */
  readonly cpuMs: number
  /** The file holding its stdout and stderr. */
  readonly logFile: string
}

export interface ExternalSetUp {
  readonly _tag: "External"
  /** The predicted peak resident memory of the command, bytes. */
  readonly predictedBytes: number
  /** Its first declared output, for reports. */
  readonly output?: string
  readonly run: Effect.Effect<ExternalResult, Error>
}

export const isExternal = (s: object): s is ExternalSetUp => "_tag" in s && s._tag === "External"
