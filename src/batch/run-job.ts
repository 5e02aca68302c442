/**
 * A `run` job as a program: the same pipeline `slicewise run` builds from its arguments (parse the
 * steps, open the input, choose the sink, chain the steps), with paths resolved against the jobs
 * file's directory. Opens metadata only; reads no voxel and creates no file.
 *
 * @example
 * ```ts
 * const { program } = yield* runJobSetUp({ kind: "run", input: "a.nrrd", output: "b.nrrd", steps: ["copy"] }, "jobs.json")
 * ```
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { Program } from "../algebra/algebra.js"
import { openSource, sinkFor } from "../io/index.js"
import { parseSteps } from "../ops/steps.js"
import { sinkOptions, sourceOptions } from "../cli/formats.js"
import { pipeline } from "../cli/pipeline.js"
import { UsageError } from "../cli/errors.js"
import { parseSize } from "../util/units.js"
import { resolveFrom, type RunJob } from "./jobs.js"

export interface JobSetUp {
  readonly program: Program
  /** Where it writes (for the report). */
  readonly output?: string
  readonly mode?: "fused" | "unfused"
  /** The job's own memory cap for its plan's buffers, if it gave one. */
  readonly memoryBytes?: number
}

export const runJobSetUp = (job: RunJob, jobsFile: string) =>
  Effect.gen(function* () {
    const input = resolveFrom(jobsFile, job.input)
    const output = resolveFrom(jobsFile, job.output)
    const steps = yield* parseSteps(job.steps)
    let memoryBytes: number | undefined
    if (job.memory !== undefined) {
      memoryBytes = parseSize(job.memory)
      if (memoryBytes === undefined || memoryBytes <= 0) return yield* new UsageError({ detail: `memory ${job.memory} is not a size (try 256MiB)` })
    }
    const source = yield* openSource(input, sourceOptions({
        level: Option.fromNullable(job.level),
        channel: Option.fromNullable(job.channel),
        time: Option.fromNullable(job.time),
        volume: Option.fromNullable(job.volume),
        scale: job.scale ?? false
      }))
    const sink = yield* sinkFor(
      output,
      yield* sinkOptions(
        {
          chunks: Option.fromNullable(job.chunks),
          codec: Option.fromNullable(job.codec),
          zarrVersion: Option.fromNullable(job.zarrVersion),
          levels: Option.fromNullable(job.levels),
          labels: job.labels ?? false
        },
        source
      )
    )
    const setUp: JobSetUp = {
      program: pipeline(source, steps, sink),
      output,
      ...(job.mode === undefined ? {} : { mode: job.mode }),
      ...(memoryBytes === undefined ? {} : { memoryBytes })
    }
    return setUp
  })
