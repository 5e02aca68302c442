/**
 * What a batch holds beyond the plans' buffers, so that the process's RSS stays under `--memory`:
 *
 *   RSS ≤ baseline + headroom + Σ over running jobs (planned peak buffers + per-job overhead)
 *
 * - baseline: the process's RSS measured when the jobs are about to start (Node, Effect, the
 *   bundled code, the format modules the jobs loaded, their parsed headers);
 * - headroom: what the process adds once it works, whatever the number of jobs (V8's young
 *   generation and heap growth under slice-sized garbage, libuv's I/O);
 * - per-job overhead: a running job's readers and writers, its fibers and the short-lived slice
 *   copies that the planned buffers do not count.
 *
 * The constants were measured with bench/batch/overhead.sh (docs/BATCH.md, "Overhead model").
 *
 * @example
 * ```ts
 * const jobsBudget = jobBudget(memoryBytes, baselineRss)   // what the jobs may share
 * const admitted = plan.peakBufferBytes + JOB_OVERHEAD_BYTES
 * ```
 */

import { collectGarbage } from "../util/gc.js"

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

/** The bytes the jobs may share: the budget less the baseline and the headroom. */
export const jobBudget = (memoryBytes: number, baselineBytes: number, headroomBytes = HEADROOM_BYTES): number =>
  memoryBytes - baselineBytes - headroomBytes

/** The RSS now, after a full collection when the process allows one. */
export const settledRss = (): number => {
  collectGarbage()
  return process.memoryUsage.rss()
}
