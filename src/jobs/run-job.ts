/**
 * A pipeline as data: an input, steps and an output with their format options, what
 * `slicewise run` reads from its command line and a `"kind": "run"` job from a jobs file. Setting
 * one up opens the input's metadata, parses the steps and chooses the sink: it reads no voxel and
 * creates no file.
 *
 * @example
 * ```ts
 * const { program } = yield* runJobSetUp({ kind: "run", input: "a.nrrd", output: "b.nrrd", steps: ["median:radius=1"] })
 * yield* Run.run(program)
 * ```
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type { Program } from "../algebra/algebra.js"
import type { IoError } from "../algebra/io-errors.js"
import { openSource, sinkFor } from "../io/index.js"
import type { FileError } from "../algebra/io-errors.js"
import { fileIdentity } from "../io/identity.js"
import { journalName } from "../io/journal.js"
import type { ResumeOptions } from "../interpreters/run/resume.js"
import { SLICEWISE_VERSION } from "../util/version.js"
import { UsageError } from "./errors.js"
import { sinkOptions, sourceOptions } from "./formats.js"
import { parseMemory } from "./memory.js"
import { pipeline } from "./pipeline.js"
import { parseSteps, type StepError } from "./steps.js"

const NonNegativeInt = Schema.Int.pipe(Schema.nonNegative())

/**
 * The names of the jobs a job comes after (in a jobs file, every kind takes it): it starts only
 * once they have all finished, and their outputs may be its inputs.
 */
export const After = Schema.Array(Schema.NonEmptyString)

/** fused: the optimised plan; unfused: one stream stage per algebra node (same voxels, slower). */
export const RunMode = Schema.Literal("fused", "unfused")
export type RunMode = typeof RunMode.Type

/**
 * A `slicewise run` as data: the same input, output, steps and format options as on the command
 * line (`--level` → `level`, `--zarr-version` → `zarrVersion`, …), and optionally `buffers`
 * ("256MiB"), a cap for its plan's buffers as `--buffers` is (the memory of the whole process is
 * the batch's `--memory`), and `resume`, true to journal the run and continue an interrupted one
 * as `--resume` does (docs/RESUME.md; a journal of another run is discarded and the job starts
 * over, since a job's plan depends on the memory the batch gives it).
 */
export const RunJob = Schema.Struct({
  kind: Schema.Literal("run"),
  name: Schema.optional(Schema.NonEmptyString),
  after: Schema.optional(After),
  input: Schema.NonEmptyString,
  output: Schema.NonEmptyString,
  steps: Schema.Array(Schema.NonEmptyString),
  buffers: Schema.optional(Schema.NonEmptyString),
  mode: Schema.optional(RunMode),
  level: Schema.optional(NonNegativeInt),
  channel: Schema.optional(NonNegativeInt),
  time: Schema.optional(NonNegativeInt),
  series: Schema.optional(Schema.NonEmptyString),
  volume: Schema.optional(NonNegativeInt),
  scale: Schema.optional(Schema.Boolean),
  chunks: Schema.optional(Schema.NonEmptyString),
  codec: Schema.optional(Schema.NonEmptyString),
  zarrVersion: Schema.optional(Schema.Literal("2", "3")),
  levels: Schema.optional(Schema.Int.pipe(Schema.positive())),
  labels: Schema.optional(Schema.Boolean),
  resume: Schema.optional(Schema.Boolean)
})
export type RunJob = typeof RunJob.Type

/** A job ready to plan and run: its program, and how the job asked to run it. */
export interface JobSetUp {
  readonly program: Program
  /** Where it writes (for reports). */
  readonly output?: string
  readonly mode?: RunMode
  /** The job's own cap for its plan's buffers (`buffers`), if it gave one. */
  readonly bufferBytes?: number
  /** How the run is journaled (a run job with `resume`). */
  readonly resume?: ResumeOptions
}

/** The job's `buffers`, checked; undefined when it gives none. */
export const jobBuffers = (buffers: string | undefined): Effect.Effect<number | undefined, UsageError> =>
  buffers === undefined ? Effect.succeed(undefined) : parseMemory(buffers, "buffers")

/** How the job asked to run: its output, mode and buffer cap. */
export const jobRunOptions = (
  job: { readonly output: string; readonly mode?: RunMode | undefined },
  bufferBytes: number | undefined
): Omit<JobSetUp, "program"> => ({
  output: job.output,
  ...(job.mode === undefined ? {} : { mode: job.mode }),
  ...(bufferBytes === undefined ? {} : { bufferBytes })
})

/**
 * Opens the input (metadata only), parses the steps and builds the program that writes the output.
 * A job with no steps is refused: a mistyped command line would otherwise copy silently; `copy`
 * says so on purpose.
 */
export const runJobSetUp = (job: RunJob): Effect.Effect<JobSetUp, StepError | IoError | UsageError> =>
  Effect.gen(function* () {
    if (job.steps.length === 0) {
      return yield* new UsageError({
        detail: `no steps: give at least one (e.g. median:radius=1; the list is in slicewise run --help), or copy to convert ${job.input} to ${job.output} unchanged`
      })
    }
    const steps = yield* parseSteps(job.steps)
    const bufferBytes = yield* jobBuffers(job.buffers)
    const source = yield* openSource(job.input, sourceOptions(job))
    const sink = yield* sinkFor(job.output, yield* sinkOptions(job, source))
    const resume = job.resume === true ? { ...(yield* resumeOptions(job)), mismatch: "start over" as const } : undefined
    return { program: pipeline(source, steps, sink), ...jobRunOptions(job, bufferBytes), ...(resume && { resume }) }
  })

/**
 * How a run job is journaled to be resumable (`slicewise run --resume`, docs/RESUME.md): its
 * journal beside its output, and its identity (slicewise's version, the input's size, time and
 * first bytes, the steps as given).
 *
 * @example
 * ```ts
 * const resume = yield* resumeOptions(job)
 * yield* Run.run(program, { resume })   // journaled; continues an interrupted run of the same job
 * ```
 */
export const resumeOptions = (job: RunJob): Effect.Effect<ResumeOptions, FileError> =>
  Effect.map(fileIdentity(job.input), (input) => ({
    journal: journalName(job.output),
    identity: { slicewise: SLICEWISE_VERSION, inputs: [input], steps: job.steps }
  }))
