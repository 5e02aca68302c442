/**
 * `slicewise batch <jobs.json> --memory SIZE [--concurrency N] [--profile out.json] [--json]`:
 * runs the jobs of a jobs file (src/jobs/file.ts) under one memory budget. One line per
 * scheduler event on stderr, a summary table (or the Schema-encoded results with --json) on
 * stdout; fails, after the others have run, if any job failed or was refused. Loaded lazily by
 * main.ts.
 *
 * @example
 * ```sh
 * slicewise batch jobs.json --memory 1GiB --concurrency 2 --profile batch.profile.json
 * ```
 */
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { runBatch, type BatchJob, type BatchResult } from "../batch/index.js"
import { jobName, jobSetUp, readJobs, type Job } from "../jobs/file.js"
import { BatchResultJson } from "../batch/results.js"
import type { SchedulerEvent } from "../batch/scheduler.js"
import { batchProfile, peakRss, recording, writeProfile } from "../profile/index.js"
import { formatBytes, formatMs } from "../util/units.js"
import { UsageError } from "../jobs/errors.js"
import { parseMemory } from "../jobs/memory.js"
import { resumedText } from "./run-program.js"

/** Some jobs of the batch did not complete: the one line the CLI prints. */
export class BatchFailedError extends Data.TaggedError("BatchFailedError")<{
  readonly failed: number
  readonly refused: number
  /** Not run because a job they come after did not finish. */
  readonly notRun: number
  readonly total: number
}> {
  override get message(): string {
    const parts = [
      this.failed > 0 ? `${this.failed} failed` : "",
      this.refused > 0 ? `${this.refused} refused` : "",
      this.notRun > 0 ? `${this.notRun} not run` : ""
    ].filter((p) => p !== "")
    return `batch: ${parts.join(", ")} of ${this.total} jobs`
  }
}

export interface BatchArgs {
  readonly jobsFile: string
  readonly memory: string
  readonly concurrency: Option.Option<number>
  readonly profile: Option.Option<string>
  readonly json: boolean
  /** Journal every run job, as its `resume: true` does. */
  readonly resume: boolean
}

const toBatchJob = (job: Job, i: number): BatchJob => ({
  name: jobName(job, i),
  kind: job.kind,
  ...(job.after === undefined ? {} : { after: job.after }),
  setUp: jobSetUp(job, jobName(job, i))
})

const pad = (s: string, n: number) => (s.length >= n ? s : s + " ".repeat(n - s.length))
const padLeft = (s: string, n: number) => (s.length >= n ? s : " ".repeat(n - s.length) + s)

/** One progress line per scheduler event, for a log. */
export const eventLine = (e: SchedulerEvent, jobBudgetBytes: number): string => {
  const load = `running ${e.running}, predicted ${formatBytes(e.runningPredictedBytes)} of ${formatBytes(Math.max(0, jobBudgetBytes))}`
  const what = `${pad(e.kind, 6)} ${e.job}`
  const detail = e.detail === undefined ? "" : `: ${e.detail}`
  const peak = e.kind === "refuse" || e.kind === "skip" || (e.kind === "fail" && e.predictedBytes === 0) ? "" : ` (peak ${formatBytes(e.predictedBytes)}; ${load})`
  return `batch ${padLeft((e.tMs / 1000).toFixed(1), 7)} s  ${what}${peak}${detail}`
}

/**
 * The measured peak of a job: an external command's peak RSS, or a slicewise job's peak buffers
 * (what its prediction counts, less the per-job overhead).
 */
const measuredPeak = (j: BatchResult["jobs"][number]): string =>
  j.measuredPeakRssBytes !== undefined
    ? `${formatBytes(j.measuredPeakRssBytes)} rss`
    : j.measuredPeakBufferBytes === undefined
      ? ""
      : `${formatBytes(j.measuredPeakBufferBytes)} buf`

/**
 * The summary: job, state, kind, attempts, predicted peak, measured peak (RSS of an external
 * command, buffers of a slicewise job), wall, CPU, bytes read and written.
 */
export const summaryText = (r: BatchResult, peakRssBytes: number): string => {
  const header = ["job", "state", "kind", "attempts", "predicted", "measured", "wall", "cpu", "read", "written"]
  const rows = r.jobs.map((j) => [
    j.name.slice(0, 40),
    j.status,
    j.kind,
    j.attempts === undefined ? (j.startMs === undefined ? "0" : "1") : String(j.attempts),
    j.status === "not-run" ? "" : formatBytes(j.predictedPeakBytes),
    measuredPeak(j),
    j.wallMs === undefined ? "" : formatMs(j.wallMs),
    j.cpuMs === undefined ? "" : formatMs(j.cpuMs),
    j.bytesRead === undefined ? "" : formatBytes(j.bytesRead),
    j.bytesWritten === undefined ? "" : formatBytes(j.bytesWritten)
  ])
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)))
  const line = (row: ReadonlyArray<string>) => row.map((c, i) => (i < 3 ? pad(c, widths[i]!) : padLeft(c, widths[i]!))).join("  ")
  const problems = r.jobs.filter((j) => j.detail !== undefined).map((j) => `${j.name}: ${j.status}: ${j.detail}`)
  const resumed = r.jobs.flatMap((j) => (j.resumed === undefined ? [] : [`${j.name}: ${resumedText(j.resumed, j.resumed.passes)}`]))
  return [
    line(header),
    ...rows.map(line),
    `budget ${formatBytes(r.memoryBytes)}: baseline RSS ${formatBytes(r.baselineRssBytes)} + headroom ${formatBytes(r.headroomBytes)}, ` +
      `${formatBytes(Math.max(0, r.jobBudgetBytes))} for jobs (${formatBytes(r.overheadBytesPerJob)} per job on top of its buffers); ` +
      `concurrency ${r.concurrency}; peak RSS ${formatBytes(peakRssBytes)}`,
    ...resumed,
    ...problems
  ].join("\n")
}

export const runBatchCommand = (a: BatchArgs) =>
  Effect.gen(function* () {
    const memoryBytes = yield* parseMemory(a.memory, "--memory")
    if (Option.isSome(a.concurrency) && a.concurrency.value < 1) {
      return yield* new UsageError({ detail: `--concurrency ${a.concurrency.value}: give at least 1` })
    }
    const read = yield* readJobs(a.jobsFile)
    const jobs = a.resume ? read.map((j) => (j.kind === "run" ? { ...j, resume: true } : j)) : read
    let jobBudgetBytes = 0
    let load = { running: 0, runningPredictedBytes: 0 }
    const originMs = performance.now()
    const batch = runBatch(jobs.map(toBatchJob), {
      memoryBytes,
      originMs,
      ...(Option.isSome(a.concurrency) ? { concurrency: a.concurrency.value } : {}),
      onShare: (share) => {
        jobBudgetBytes = share.jobBudgetBytes
        process.stderr.write(
          `batch: ${jobs.length} job${jobs.length === 1 ? "" : "s"} under ${formatBytes(memoryBytes)}: baseline RSS ${formatBytes(share.baselineRssBytes)}, ` +
            `${formatBytes(Math.max(0, share.jobBudgetBytes))} for jobs, concurrency ${share.concurrency}\n`
        )
      },
      // "start" follows "admit" at once: one line for the two.
      onEvent: (e) => (e.kind === "admit" ? undefined : process.stderr.write(`${eventLine(e, jobBudgetBytes)}\n`)),
      onLoad: (running, runningPredictedBytes) => {
        load = { running, runningPredictedBytes }
      }
    })
    const { value: result, samples, startedAt } = yield* recording(batch, { load: () => load, originMs })
    const peak = peakRss()
    if (Option.isSome(a.profile)) yield* writeProfile(a.profile.value, batchProfile(result, startedAt, samples))
    const out = a.json
      ? JSON.stringify(Schema.encodeSync(BatchResultJson)({ ...result, peakRssBytes: peak }), null, 2)
      : summaryText(result, peak)
    yield* Effect.sync(() => process.stdout.write(`${out}\n`))
    const failed = result.jobs.filter((j) => j.status === "failed" || j.status === "interrupted").length
    const refused = result.jobs.filter((j) => j.status === "refused").length
    const notRun = result.jobs.filter((j) => j.status === "not-run").length
    if (failed + refused + notRun > 0) return yield* new BatchFailedError({ failed, refused, notRun, total: result.jobs.length })
  })
