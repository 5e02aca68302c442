/**
 * `slicewise runner` and `slicewise submit` as Effect APIs. A runner joins the cluster (its
 * PostgreSQL), hosts pipeline workflows and pulls jobs while the sum of its running jobs' predicted
 * peaks stays within its memory less its own measured baseline and headroom. A submission is a
 * workflow whose id is a hash of its jobs: submitting the same pipeline twice runs it once, and
 * waiting on it again gives the same reports.
 *
 * @example
 * ```ts
 * yield* runRunner({ url, listen: { host: "127.0.0.1", port: 34431 }, name: "a", memoryBytes: 4 * 2 ** 30 })
 * const reports = yield* submitPipeline("pipeline.json", { url, wait: true })
 * ```
 */
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { HEADROOM_BYTES, jobName, readJobs, reapOrphans, settledRss, UsageError } from "../jobs/index.js"
import { formatBytes } from "../util/units.js"
import { clientLayer, runnerLayer, sqlLayer, type ClusterOptions } from "./layers.js"
import { ensureTables } from "./schema.js"
import { predictJob } from "./execute.js"
import { RUNNERS_SEEN_SECONDS, SlicewisePipeline, tooLargeMessage } from "./pipeline.js"
import { pipelineId, type JobReport, type PipelinePayload, type QueuedJob } from "./protocol.js"
import { makeJobQueue } from "./queue.js"
import { recordSamples, runningLoad } from "./samples.js"
import { clusterStatus, pipelineJobs } from "./status.js"
import { runWorker } from "./worker.js"

export interface RunnerOptions extends ClusterOptions {
  readonly listen: { readonly host: string; readonly port: number }
  readonly name: string
  /** The runner's whole memory (its RSS and its jobs'), bytes. */
  readonly memoryBytes: number
  /** Called once the budget is known: what jobs may use, and the runner's own RSS. */
  readonly onReady?: (budgetBytes: number, baselineBytes: number) => void
  /** Called when the runner reaped process groups a dead runner on this machine left running. */
  readonly onReaped?: (groups: number) => void
  readonly onStart?: (job: QueuedJob) => void
  readonly onFinish?: (report: JobReport) => void
}

/** Runs a runner until interrupted. */
export const runRunner = (options: RunnerOptions) =>
  Effect.gen(function* () {
    // Commands a runner killed here left running: their memory is not this runner's to give away.
    const { reaped } = reapOrphans()
    if (reaped > 0) options.onReaped?.(reaped)
    const baseline = settledRss()
    const budgetBytes = options.memoryBytes - baseline - HEADROOM_BYTES
    if (budgetBytes <= 0)
      return yield* new UsageError({
        detail: `--memory ${formatBytes(options.memoryBytes)} leaves no room for jobs: the runner itself takes ${formatBytes(baseline)} and ${formatBytes(HEADROOM_BYTES)} of headroom`
      })
    options.onReady?.(budgetBytes, baseline)
    // Its memory, CPU and I/O with its jobs' predictions, about once a second, for `slicewise report`.
    const load = runningLoad()
    yield* Effect.forkScoped(recordSamples({ runner: options.name, budgetBytes, baselineBytes: baseline, load: load.now }))
    yield* Effect.forkScoped(
      runWorker({
        runner: options.name,
        budgetBytes,
        own: { rss: () => process.memoryUsage.rss(), baselineBytes: baseline },
        refreshSeconds: Math.max(1, Math.floor((options.lockSeconds ?? 10) / 3)),
        onStart: (job) => {
          load.start(job)
          options.onStart?.(job)
        },
        onFinish: (report) => {
          load.finish(report)
          options.onFinish?.(report)
        }
      })
    )
    return yield* Effect.never
  }).pipe(Effect.scoped, Effect.provide(runnerLayer(options)))

/** The pipeline a jobs file describes, as the workflow takes it. */
export const pipelineOf = (file: string) =>
  Effect.map(readJobs(file), (jobs): PipelinePayload => {
    const list = jobs.map((job, i) => ({ name: jobName(job, i), after: job.after ?? [], definition: job as unknown }))
    return { id: pipelineId(list), jobs: list }
  })

/** A job no runner of the cluster can hold, found at submit: nothing was submitted. */
export class JobTooLargeError extends Data.TaggedError("JobTooLargeError")<{ readonly job: string; readonly detail: string }> {
  override get message(): string {
    return `job ${this.job} ${this.detail}: nothing submitted`
  }
}

/**
 * Refuses, before anything runs, a job that no runner alive can hold — among those whose inputs
 * exist now (no `after`); the others are predicted, and refused, once the jobs they come after
 * are done. With no runner alive yet there is nothing to compare with: the jobs wait for one.
 */
const checkFits = (payload: PipelinePayload) =>
  Effect.gen(function* () {
    const queue = yield* makeJobQueue()
    const largest = yield* queue.largestRunner(RUNNERS_SEEN_SECONDS)
    if (Option.isNone(largest)) return
    for (const job of payload.jobs.filter((j) => j.after.length === 0)) {
      const bytes = yield* Effect.mapError(predictJob(job.definition, job.name), (e) => new UsageError({ detail: `job ${job.name}: ${e.message}` }))
      if (bytes > largest.value.budgetBytes) return yield* new JobTooLargeError({ job: job.name, detail: tooLargeMessage(bytes, largest.value) })
    }
  })

/**
 * Submits a pipeline file: with `wait`, follows it to the end and returns every job's report;
 * without, returns its id once it is recorded. A job that no runner alive can hold is refused
 * here when its inputs exist already (else when it is predicted).
 */
export const submitPipeline = (file: string, options: ClusterOptions & { readonly wait: boolean }) =>
  Effect.gen(function* () {
    const payload = yield* pipelineOf(file)
    yield* checkFits(payload)
    if (!options.wait) {
      yield* SlicewisePipeline.execute(payload, { discard: true })
      return { id: payload.id, reports: undefined }
    }
    return { id: payload.id, reports: yield* SlicewisePipeline.execute(payload) }
  }).pipe(Effect.provide(clientLayer(options)))

/** The tables exist once a runner has started; a status before that sees them empty. */
const withTables = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.zipRight(ensureTables, effect)

/** `slicewise status`: the runners alive and the pipelines in the queue. */
export const clusterStatusOf = (url: string) => withTables(clusterStatus).pipe(Effect.provide(sqlLayer(url)))

/** `slicewise status ID`: the queued, running and finished jobs of one pipeline. */
export const pipelineStatusOf = (url: string, pipeline: string) => withTables(pipelineJobs(pipeline)).pipe(Effect.provide(sqlLayer(url)))
