/**
 * What travels through the cluster's storage: a pipeline (its jobs, as the pipeline file gives them,
 * paths resolved), a job on its way to a runner, and the report a runner gives back. Plain Schema
 * data, so that PostgreSQL keeps it and any runner decodes it.
 *
 * @example
 * ```ts
 * const id = pipelineId(jobs)   // the same jobs give the same id: submitting twice runs once
 * ```
 */
import * as crypto from "node:crypto"
import * as Schema from "effect/Schema"

/** A job as a runner receives it: its name, its definition (a pipeline-file job) and its prediction. */
export const QueuedJob = Schema.Struct({
  name: Schema.String,
  /** The job as the pipeline file gives it, paths resolved; decoded again as a Job by the runner. */
  definition: Schema.Unknown,
  predictedBytes: Schema.Number
})
export type QueuedJob = typeof QueuedJob.Type

export const JobState = Schema.Literal("done", "failed", "not-run", "refused")
export type JobState = typeof JobState.Type

/** What became of one job: where it ran, what it was predicted to need and what it used. */
export const JobReport = Schema.Struct({
  name: Schema.String,
  kind: Schema.String,
  state: JobState,
  runner: Schema.optional(Schema.String),
  attempts: Schema.Number,
  predictedBytes: Schema.optional(Schema.Number),
  /** Peak RSS of the job's processes (external) or of the runner while it ran (slicewise). */
  measuredBytes: Schema.optional(Schema.Number),
  cpuMs: Schema.optional(Schema.Number),
  wallMs: Schema.optional(Schema.Number),
  /** When it started and finished on its runner, ms since the epoch. */
  startedAt: Schema.optional(Schema.Number),
  finishedAt: Schema.optional(Schema.Number),
  bytesRead: Schema.optional(Schema.Number),
  bytesWritten: Schema.optional(Schema.Number),
  error: Schema.optional(Schema.String)
})
export type JobReport = typeof JobReport.Type

/** The `kind` of a job's definition ("?" when it names none), for reports. */
export const kindOf = (definition: unknown): string => {
  const kind = (definition as { kind?: unknown } | null)?.kind
  return typeof kind === "string" ? kind : "?"
}

/** A pipeline as submitted: its id and its jobs (each with a unique name). */
export const PipelinePayload = Schema.Struct({
  id: Schema.String,
  jobs: Schema.Array(Schema.Struct({ name: Schema.String, after: Schema.Array(Schema.String), definition: Schema.Unknown }))
})
export type PipelinePayload = typeof PipelinePayload.Type

/** The id of a pipeline: a hash of its jobs, so that the same submission is the same workflow. */
export const pipelineId = (jobs: PipelinePayload["jobs"]): string =>
  crypto.createHash("sha256").update(JSON.stringify(jobs)).digest("hex").slice(0, 16)
