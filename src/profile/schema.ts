/**
 * The profile file that `slicewise run --profile` and `slicewise batch --profile` write and
 * `slicewise report` reads: figures per stage of every job, the scheduler's events (batch), and a
 * time series sampled while running. Versioned (`format`, `version`) and checked when read.
 *
 * @example
 * ```ts
 * const profile = Schema.decodeUnknownSync(Profile)(JSON.parse(text))
 * for (const job of profile.jobs) console.log(job.name, job.wallMs)
 * ```
 */
import * as Schema from "effect/Schema"

const Bytes = Schema.Number.pipe(Schema.nonNegative())
const Ms = Schema.Number.pipe(Schema.nonNegative())

/** One sample of the process, taken about every 100 ms. */
export const Sample = Schema.Struct({
  /** Milliseconds since the profile started. */
  tMs: Ms,
  rssBytes: Bytes,
  /** CPU time (user + system) since the previous sample over the wall time, in % of one core. */
  cpuPercent: Schema.Number.pipe(Schema.nonNegative()),
  /** From /proc/self/io since the previous sample, bytes per second (absent where there is none). */
  io: Schema.optional(
    Schema.Struct({
      /** rchar / wchar: bytes passed through read and write calls, page cache included. */
      readBytesPerSecond: Bytes,
      writeBytesPerSecond: Bytes,
      /** read_bytes / write_bytes: bytes the storage layer fetched and was sent. */
      diskReadBytesPerSecond: Bytes,
      diskWriteBytesPerSecond: Bytes
    })
  ),
  /** Batch: jobs running and the sum of their predicted peaks at the sample. */
  running: Schema.optional(Schema.Int.pipe(Schema.nonNegative())),
  runningPredictedBytes: Schema.optional(Bytes)
})
export type Sample = typeof Sample.Type

/** Measured figures of one stage in one pass (RunResult.stages). */
export const StageFigures = Schema.Struct({
  pass: Schema.Int,
  id: Schema.Int,
  kind: Schema.String,
  label: Schema.String,
  cpuMs: Ms,
  wallMs: Ms,
  slices: Schema.Int,
  bytesRead: Bytes,
  bytesWritten: Bytes,
  peakBufferBytes: Bytes
})
export type StageFigures = typeof StageFigures.Type

/** A stage of a job's plan, for the report's graph of it (optional: profiles before it have none). */
export const PlanStage = Schema.Struct({
  pass: Schema.Int,
  id: Schema.Int,
  kind: Schema.String,
  label: Schema.String,
  /** The stages it reads (ids in the same pass). */
  inputs: Schema.Array(Schema.Int),
  /** Slices of its input it reaches before and after the one it makes (a window), and the slices its ring holds. */
  reachZ: Schema.Tuple(Schema.Int, Schema.Int),
  ringSlices: Schema.Int
})
export type PlanStage = typeof PlanStage.Type

/** What was run: the command line and the versions that ran it. */
export const WhatWasRun = Schema.Struct({
  argv: Schema.Array(Schema.String),
  versions: Schema.Struct({ slicewise: Schema.String, node: Schema.String, effect: Schema.String })
})
export type WhatWasRun = typeof WhatWasRun.Type

/** "not-run": a job it comes after (`after`) did not succeed, so it never started. */
export const JobStatus = Schema.Literal("done", "failed", "refused", "interrupted", "not-run")

/** One job: predicted before it started, measured after. A `run` is a batch of one. */
export const JobFigures = Schema.Struct({
  name: Schema.String,
  kind: Schema.String,
  status: JobStatus,
  /** Peak the scheduler admitted the job with: planned buffers plus the per-job overhead. */
  predictedPeakBytes: Bytes,
  /** The plan's peak buffer bytes (0 when it could not be planned). */
  plannedBufferBytes: Bytes,
  /** The per-job budget its plan was fitted into, when it needed one. */
  planMemoryBytes: Schema.optional(Bytes),
  startMs: Schema.optional(Ms),
  endMs: Schema.optional(Ms),
  wallMs: Schema.optional(Ms),
  /** CPU time of its compute stages (./cpu.ts). */
  cpuMs: Schema.optional(Ms),
  bytesRead: Schema.optional(Bytes),
  bytesWritten: Schema.optional(Bytes),
  measuredPeakBufferBytes: Schema.optional(Bytes),
  /** External commands (exec, register, warp): the peak RSS of the command's processes. */
  measuredPeakRssBytes: Schema.optional(Bytes),
  /** How many times it was started (retries of external commands); absent: once, or never. */
  attempts: Schema.optional(Schema.Int.pipe(Schema.nonNegative())),
  /** A journaled run that went on from an interrupted one (docs/RESUME.md): where, and what it did again. */
  resumed: Schema.optional(
    Schema.Struct({ pass: Schema.Int, passes: Schema.Int, slice: Schema.Int, kept: Schema.Int, verified: Schema.Int, redone: Schema.Int })
  ),
  output: Schema.optional(Schema.String),
  /** Why it failed or was refused, one line. */
  detail: Schema.optional(Schema.String),
  stages: Schema.Array(StageFigures),
  /** Its plan's stages (run profiles since the plan graph; absent in older ones). */
  plan: Schema.optional(Schema.Array(PlanStage))
})
export type JobFigures = typeof JobFigures.Type

/** An event of the batch scheduler (src/batch/scheduler.ts). */
export const SchedulerEvent = Schema.Struct({
  tMs: Ms,
  /** skip: not run because a job it comes after did not succeed. */
  kind: Schema.Literal("admit", "start", "finish", "fail", "refuse", "skip"),
  index: Schema.Int,
  job: Schema.String,
  predictedBytes: Bytes,
  runningPredictedBytes: Schema.Number,
  running: Schema.Int,
  detail: Schema.optional(Schema.String)
})
export type SchedulerEvent = typeof SchedulerEvent.Type

export const PROFILE_VERSION = 1

export const Profile = Schema.Struct({
  format: Schema.Literal("slicewise-profile"),
  version: Schema.Literal(PROFILE_VERSION),
  command: Schema.Literal("run", "batch"),
  /** When it started, ISO 8601. */
  startedAt: Schema.String,
  sampleIntervalMs: Ms,
  /** RSS when the jobs were about to start (runtime, modules, parsed inputs). */
  baselineRssBytes: Bytes,
  /** Peak RSS of the process (getrusage). */
  peakRssBytes: Bytes,
  /** Batch: the --memory budget and the part of it the jobs share. */
  memoryBytes: Schema.optional(Bytes),
  jobBudgetBytes: Schema.optional(Schema.Number),
  /** Batch: the process-wide headroom of the overhead model (src/jobs/memory.ts). */
  headroomBytes: Schema.optional(Bytes),
  /** The command line and versions (absent in profiles written before they were recorded). */
  what: Schema.optional(WhatWasRun),
  samples: Schema.Array(Sample),
  jobs: Schema.Array(JobFigures),
  events: Schema.Array(SchedulerEvent)
})
export type Profile = typeof Profile.Type
