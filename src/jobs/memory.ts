/**
 * Memory sizes as people write them (`--memory 512MiB`, `"buffers": "64MiB"` in a job), checked in
 * one place; and what a process holds beyond the plans' buffers, so that its RSS stays under
 * `--memory`, for one run or a batch of jobs:
 *
 *   RSS ≤ baseline + headroom + worker threads + Σ over running jobs (planned peak buffers + per-job overhead)
 *
 * - baseline: the process's RSS measured when the jobs are about to start (Node, Effect, the
 *   bundled code, the format modules the jobs loaded, their parsed headers);
 * - headroom: what the process adds once it works, whatever the number of jobs (V8's young
 *   generation and heap growth under slice-sized garbage, libuv's I/O);
 * - per-job overhead: a running job's readers and writers, its fibers and the short-lived slice
 *   copies that the planned buffers do not count;
 * - worker threads: each row thread's own runtime (a run's threads beyond the calling one).
 *
 * The headroom and per-job constants were measured with bench/batch/overhead.sh (docs/BATCH.md,
 * "Overhead model"), a worker's with bench/row-threads.mjs (docs/BENCHMARKS.md, "Row threads").
 *
 * @example
 * ```ts
 * const memoryBytes = yield* parseMemory("2GiB", "--memory")
 * const jobsBudget = jobBudget(memoryBytes, settledRss())   // what the jobs may share
 * const admitted = plan.peakBufferBytes + JOB_OVERHEAD_BYTES
 * ```
 */
import * as Effect from "effect/Effect"
import { collectGarbage } from "../util/gc.js"
import { parseSize } from "../util/units.js"
import { UsageError } from "./errors.js"

const MiB = 2 ** 20

/**
 * The process-wide extra once jobs run (see the module comment) on a Node of major version
 * `nodeMajor`: 24 MiB on Node 20 and 22, whose largest extra measured was 15.3 MiB; 40 MiB from
 * Node 24 on, whose optimising tier (Maglev, on by default there) compiles while the jobs run and
 * took up to 30.3 MiB (docs/BATCH.md, "Overhead model").
 *
 * @example
 * ```ts
 * headroomBytes(20)   // 24 MiB
 * headroomBytes(24)   // 40 MiB
 * ```
 */
export const headroomBytes = (nodeMajor: number): number => (nodeMajor >= 24 ? 40 : 24) * MiB

/** `headroomBytes` of the Node running this process. */
export const HEADROOM_BYTES = headroomBytes(Number(process.versions.node.split(".")[0]))

/** Per running job, beyond its plan's buffers (see the module comment). */
export const JOB_OVERHEAD_BYTES = 3 * MiB

/** Per worker thread (a run with N threads starts N − 1): its isolate, heap and stack. */
export const WORKER_THREAD_BYTES = 11 * MiB

/** The bytes the jobs may share: the budget less the baseline and the headroom. */
export const jobBudget = (memoryBytes: number, baselineBytes: number, headroomBytes = HEADROOM_BYTES): number =>
  memoryBytes - baselineBytes - headroomBytes

/** The RSS now, after a full collection when the process allows one. */
export const settledRss = (): number => {
  collectGarbage()
  return process.memoryUsage.rss()
}

/** How a process's memory budget is shared out, for one run: what the plan's buffers may take. */
export interface MemorySplit {
  /** The budget for the process's peak RSS (`--memory`). */
  readonly totalBytes: number
  /** The process's RSS before the run: Node, the code, the opened inputs' metadata. */
  readonly runtimeBytes: number
  /** What the process adds once it works, plus the run's own overhead (JOB_OVERHEAD_BYTES). */
  readonly headroomBytes: number
  /** Worker threads beyond the calling one. */
  readonly workerThreads: number
  readonly workerBytes: number
  /** What is left for the plan's buffers (may be ≤ 0: nothing is). */
  readonly bufferBytes: number
}

/**
 * Shares out `totalBytes` of RSS for one run on `threads` threads after a runtime of `runtimeBytes`.
 *
 * @example
 * ```ts
 * const split = splitMemory(256 * MiB, settledRss(), 2)
 * if (split.bufferBytes > 0) yield* Plan.make(program, { memoryBytes: split.bufferBytes, threads: 2 })
 * ```
 */
export const splitMemory = (totalBytes: number, runtimeBytes: number, threads: number, headroom = HEADROOM_BYTES): MemorySplit => {
  const workerThreads = Math.max(0, threads - 1)
  const headroomBytes = headroom + JOB_OVERHEAD_BYTES
  const workerBytes = workerThreads * WORKER_THREAD_BYTES
  return { totalBytes, runtimeBytes, headroomBytes, workerThreads, workerBytes, bufferBytes: totalBytes - runtimeBytes - headroomBytes - workerBytes }
}

/** A positive size in bytes; `what` names the flag or field in the error ("--memory", "memory"). */
export const parseMemory = (text: string, what: string): Effect.Effect<number, UsageError> => {
  const bytes = parseSize(text)
  return bytes === undefined || bytes <= 0
    ? Effect.fail(new UsageError({ detail: `${what} ${text} is not a size (try 512MiB or 2GiB)` }))
    : Effect.succeed(bytes)
}
