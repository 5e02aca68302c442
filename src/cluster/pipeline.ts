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
import * as WorkflowEngine from "@effect/workflow/WorkflowEngine"
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

/** A job's prediction, and why it is refused if no runner can hold it: recorded once. */
const Prediction = Schema.Struct({ bytes: Schema.Number, refused: Schema.optional(Schema.String) })

const predictActivity = (job: PipelineJob) =>
  Activity.make({
    name: `predict/${job.name}`,
    success: Prediction,
    error: Schema.String,
    execute: Effect.gen(function* () {
      const bytes = yield* Effect.mapError(predictJob(job.definition, job.name), (e) => e.message)
      // A job no runner alive in the last minutes can hold would wait forever: refused, naming what it needs.
      const largest = yield* Effect.orDie((yield* JobQueueService).largestRunner(RUNNERS_SEEN_SECONDS))
      return Option.isSome(largest) && largest.value.budgetBytes < bytes ? { bytes, refused: tooLargeMessage(bytes, largest.value) } : { bytes }
    })
  })

/**
 * A job whose dependencies have finished: its report if it will not run (one of them failed, its
 * prediction failed, it is refused), else "queued" once it is in the job queue.
 */
const startJob = (job: PipelineJob, pipelineId: string, executionId: string, reports: ReadonlyMap<string, JobReport>) =>
  Effect.gen(function* () {
    const base = { name: job.name, kind: kindOf(job.definition), attempts: 0 }
    const blocked = job.after.map((n) => reports.get(n)!).find((d) => d.state !== "done")
    if (blocked !== undefined) return { ...base, state: "not-run", error: `it comes after ${blocked.name}, which did not finish (${blocked.state})` } as const
    const predicted = yield* Effect.either(predictActivity(job))
    if (predicted._tag === "Left") return { ...base, state: "failed", error: predicted.left } as const
    const { bytes, refused } = predicted.right
    if (refused !== undefined) return { ...base, state: "refused", predictedBytes: bytes, error: refused } as const
    const token = yield* DurableDeferred.token(jobDeferred(job.name))
    const queued: QueuedJob = { name: job.name, definition: job.definition, predictedBytes: bytes }
    // Idempotent: a replayed workflow offers the same row again, which is left as it is.
    const queue = yield* JobQueueService
    yield* Effect.orDie(queue.offer({ id: `${executionId}/${job.name}`, pipeline: pipelineId, name: job.name, predictedBytes: bytes, payload: JSON.stringify(queued), token }))
    return "queued" as const
  })

/**
 * The workflow's body, in rounds: every job whose dependencies have finished is predicted and
 * queued, then the queued jobs' reports are looked up without waiting; only when a round changes
 * nothing does the workflow wait (suspended, until a runner reports a job — it then replays from
 * the start, its predictions recorded). Awaiting each job in a fiber of its own would not do: the
 * first await of an unfinished job suspends the whole workflow, interrupting the jobs not queued
 * yet, which would then wait for that job to finish.
 */
export const PipelineLive = SlicewisePipeline.toLayer((payload, executionId) =>
  Effect.gen(function* () {
    const records = yield* PipelineRecordsService
    const engine = yield* WorkflowEngine.WorkflowEngine
    yield* Activity.make({ name: "record/start", execute: Effect.orDie(records.start(payload)) })
    const reports = new Map<string, JobReport>()
    const queued = new Set<string>()
    while (reports.size < payload.jobs.length) {
      const ready = payload.jobs.filter((j) => !reports.has(j.name) && !queued.has(j.name) && j.after.every((n) => reports.has(n)))
      const started = yield* Effect.forEach(ready, (job) => startJob(job, payload.id, executionId, reports), { concurrency: "unbounded" })
      ready.forEach((job, i) => (started[i] === "queued" ? queued.add(job.name) : reports.set(job.name, started[i]!)))
      let finished = 0
      for (const name of queued) {
        const exit = yield* engine.deferredResult(jobDeferred(name))
        if (exit === undefined) continue
        reports.set(name, yield* exit)
        queued.delete(name)
        finished++
      }
      if (ready.length > 0 || finished > 0 || reports.size === payload.jobs.length) continue
      const waiting = [...queued][0]
      if (waiting === undefined) return yield* Effect.die(new Error(`pipeline ${payload.id}: no job can start (the graph was not checked?)`))
      yield* DurableDeferred.await(jobDeferred(waiting))
    }
    const all = payload.jobs.map((j) => reports.get(j.name)!)
    yield* Activity.make({ name: "record/finish", execute: Effect.orDie(records.finish(payload.id, all)) })
    return all
  })
)
