/**
 * The fuzz executor's worker thread: installs the allocation guard, then imports the library and
 * runs each case it is sent (execute.ts), one at a time, replying with the outcome and the
 * process's arrayBuffers bytes after it. Started by scripts/fuzz/pool.ts, which times each case
 * and replaces this worker when one hangs or crashes it.
 */
import { parentPort, workerData } from "node:worker_threads"
import { installGuard } from "./guard.js"
import type { Job } from "./types.js"

const { limit, dir } = workerData as { limit: number; dir: string }
installGuard(limit)
const { execute } = await import("./execute.js")

let n = 0
parentPort!.on("message", async (job: Job & { id: number }) => {
  const outcome = await execute(job, `${dir}/c${n++}`)
  parentPort!.postMessage({ id: job.id, outcome, arrayBuffers: process.memoryUsage().arrayBuffers })
})
parentPort!.postMessage({ ready: true })
