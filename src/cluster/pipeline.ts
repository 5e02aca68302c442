/**
 * A pipeline as a durable workflow on the cluster (@effect/workflow on @effect/cluster's workflow
 * engine): each job, once the jobs it comes after are done, has its peak predicted (an activity,
 * recorded once) and is put in the job queue (queue.ts) with the token of a durable deferred;
 * a runner with room takes it (worker.ts) and completes the deferred with its report, which the
 * workflow awaits. The workflow survives the runner that executes it: another resumes it, and
 * recorded predictions and finished jobs are not run again.
 *
 * @example
 * ```ts
 * const reports = yield* SlicewisePipeline.execute({ id: pipelineId(jobs), jobs })
 * ```
 */
import * as Activity from "@effect/workflow/Activity"
import * as DurableDeferred from "@effect/workflow/DurableDeferred"
import * as Workflow from "@effect/workflow/Workflow"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { predictJob } from "./execute.js"
import { JobReport, kindOf, PipelinePayload, type QueuedJob } from "./protocol.js"
import { PipelineRecordsService } from "./pipelines.js"
import { JobQueueService } from "./queue.js"
import { formatBytes } from "../util/units.js"

/** Runners seen in this many seconds count as the cluster's (a runner announces itself every few seconds). */
export const RUNNERS_SEEN_SECONDS = 300

/** Why a job is refused: what it needs, and the largest runner's room. */
export const tooLargeMessage = (bytes: number, runner: { readonly name: string; readonly budgetBytes: number }): string =>
  `needs ${formatBytes(bytes)}; the largest runner, ${runner.name}, has ${formatBytes(runner.budgetBytes)} for jobs`

export const SlicewisePipeline = Workflow.make({
  name: "SlicewisePipeline",
  payload: PipelinePayload,
  success: Schema.Array(JobReport),
  idempotencyKey: (p) => p.id
})

/** The deferred a job's report completes; its token names the pipeline and the job. */
export const jobDeferred = (name: string) => DurableDeferred.make(`job/${name}`, { success: JobReport })

type PipelineJob = PipelinePayload["jobs"][number]

/** One job: after its dependencies, predicted, queued, reported. */
const runJob = (job: PipelineJob, pipelineId: string, executionId: string, reports: ReadonlyMap<string, Deferred.Deferred<JobReport>>) =>
  Effect.gen(function* () {
    const deps = yield* Effect.forEach(job.after, (n) => Deferred.await(reports.get(n)!))
    const blocked = deps.find((d) => d.state !== "done")
    const base = { name: job.name, kind: kindOf(job.definition), attempts: 0 }
    if (blocked !== undefined) return { ...base, state: "not-run", error: `it comes after ${blocked.name}, which did not finish (${blocked.state})` } as const
    const predicted = yield* Activity.make({
      name: `predict/${job.name}`,
      success: Schema.Number,
      error: Schema.String,
      execute: Effect.mapError(predictJob(job.definition, job.name), (e) => e.message)
    }).pipe(Effect.either)
    if (predicted._tag === "Left") return { ...base, state: "failed", error: predicted.left } as const
    const queue = yield* JobQueueService
    // A job no runner alive in the last minutes can hold would wait forever: refused, naming what it needs.
    const largest = yield* Effect.orDie(queue.largestRunner(RUNNERS_SEEN_SECONDS))
    if (Option.isSome(largest) && largest.value.budgetBytes < predicted.right)
      return {
        ...base,
        state: "refused",
        predictedBytes: predicted.right,
        error: tooLargeMessage(predicted.right, largest.value)
      } as const
    const deferred = jobDeferred(job.name)
    const token = yield* DurableDeferred.token(deferred)
    const queued: QueuedJob = { name: job.name, definition: job.definition, predictedBytes: predicted.right }
    // Idempotent: a replayed workflow offers the same row again, which is left as it is.
    yield* Effect.orDie(queue.offer({ id: `${executionId}/${job.name}`, pipeline: pipelineId, name: job.name, predictedBytes: predicted.right, payload: JSON.stringify(queued), token }))
    return yield* DurableDeferred.await(deferred)
  })

/** The workflow's body: every job at once, each waiting for those it comes after. */
export const PipelineLive = SlicewisePipeline.toLayer((payload, executionId) =>
  Effect.gen(function* () {
    const records = yield* PipelineRecordsService
    yield* Activity.make({ name: "record/start", execute: Effect.orDie(records.start(payload)) })
    const reports = new Map<string, Deferred.Deferred<JobReport>>()
    for (const job of payload.jobs) reports.set(job.name, yield* Deferred.make<JobReport>())
    const all = yield* Effect.forEach(
      payload.jobs,
      (job) => Effect.tap(runJob(job, payload.id, executionId, reports), (r) => Deferred.succeed(reports.get(job.name)!, r)),
      { concurrency: "unbounded" }
    )
    yield* Activity.make({ name: "record/finish", execute: Effect.orDie(records.finish(payload.id, all)) })
    return all
  })
)
