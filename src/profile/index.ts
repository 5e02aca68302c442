/**
 * Profiles: record one while an effect runs, write one to a file, read one back (checked against
 * its Schema; a bad file fails with a ProfileError naming the file and the JSON path).
 *
 * @example
 * ```ts
 * const { value, samples, startedAt } = yield* recording(Run.run(program))
 * yield* writeProfile("run.profile.json", runProfile({ startedAt, samples, result: value, baselineRssBytes }))
 * const again = yield* readProfile("run.profile.json")
 * ```
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import * as fs from "node:fs"
import { fileError, type FileError } from "../algebra/io-errors.js"
import type { RunResult } from "../interpreters/run/index.js"
import { firstIssue, JsonFileError } from "../util/json-path.js"
import { computeCpuMs } from "./cpu.js"
import { startSampler, type SamplerOptions } from "./sampler.js"
import { Profile, PROFILE_VERSION, type JobFigures, type Sample } from "./schema.js"
import { planStages, whatWasRun } from "./what.js"

export { Profile, PROFILE_VERSION, type JobFigures, type Sample } from "./schema.js"

/** A profile file that is not a valid profile (one that cannot be read or written is a FileError). */
export class ProfileError extends JsonFileError("ProfileError") {}

export interface Recording<A> {
  readonly value: A
  readonly samples: ReadonlyArray<Sample>
  readonly startedAt: string
}

/** Runs `effect` while sampling the process; the sampler stops however the effect ends. */
export const recording = <A, E, R>(effect: Effect.Effect<A, E, R>, options: SamplerOptions = {}): Effect.Effect<Recording<A>, E, R> =>
  Effect.scoped(
    Effect.gen(function* () {
      const startedAt = new Date().toISOString()
      const sampler = yield* startSampler(options)
      const value = yield* effect
      return { value, sampler, startedAt }
    })
  ).pipe(Effect.map(({ value, sampler, startedAt }) => ({ value, samples: sampler.samples, startedAt })))

/** Peak RSS of this process so far (getrusage). */
export const peakRss = (): number => process.resourceUsage().maxRSS * 1024

/** The profile of one `slicewise run`: a batch of one job. */
export const runProfile = (a: {
  readonly startedAt: string
  readonly samples: ReadonlyArray<Sample>
  readonly result: RunResult
  readonly baselineRssBytes: number
  readonly name: string
  readonly output?: string
  readonly sampleIntervalMs?: number
}): Profile => {
  const r = a.result
  const job: JobFigures = {
    name: a.name,
    kind: "run",
    status: "done",
    predictedPeakBytes: r.plan.peakBufferBytes,
    plannedBufferBytes: r.plan.peakBufferBytes,
    startMs: 0,
    endMs: r.wallMs,
    wallMs: r.wallMs,
    cpuMs: computeCpuMs(r.stages),
    bytesRead: r.bytesRead,
    bytesWritten: r.bytesWritten,
    measuredPeakBufferBytes: r.peakBufferBytes,
    ...(a.output === undefined ? {} : { output: a.output }),
    stages: r.stages.map((st) => ({ ...st })),
    plan: planStages(r.plan)
  }
  return {
    format: "slicewise-profile",
    version: PROFILE_VERSION,
    command: "run",
    startedAt: a.startedAt,
    what: whatWasRun(),
    sampleIntervalMs: a.sampleIntervalMs ?? 100,
    baselineRssBytes: a.baselineRssBytes,
    peakRssBytes: peakRss(),
    samples: a.samples,
    jobs: [job],
    events: []
  }
}

/** What a profile records of a batch: its budget, how it was shared, its jobs and its events. */
export interface BatchFigures {
  readonly memoryBytes: number
  readonly baselineRssBytes: number
  readonly headroomBytes: number
  readonly jobBudgetBytes: number
  readonly jobs: ReadonlyArray<JobFigures>
  readonly events: Profile["events"]
}

/** The profile of a batch, from its figures (a batch's result) and the samples taken while it ran. */
export const batchProfile = (r: BatchFigures, startedAt: string, samples: ReadonlyArray<Sample>, sampleIntervalMs = 100): Profile => ({
  format: "slicewise-profile",
  version: PROFILE_VERSION,
  command: "batch",
  startedAt,
  what: whatWasRun(),
  sampleIntervalMs,
  baselineRssBytes: r.baselineRssBytes,
  peakRssBytes: peakRss(),
  memoryBytes: r.memoryBytes,
  jobBudgetBytes: r.jobBudgetBytes,
  headroomBytes: r.headroomBytes,
  samples,
  jobs: r.jobs,
  events: r.events
})

/** Writes a profile as JSON (encoded with its Schema). */
export const writeProfile = (path: string, profile: Profile): Effect.Effect<void, FileError> =>
  Effect.try({
    try: () => fs.writeFileSync(path, `${JSON.stringify(Schema.encodeSync(Profile)(profile))}\n`),
    catch: (e) => fileError(path, "write", e)
  })

/** Decodes a profile from JSON text; the error names the first bad field. */
export const decodeProfile = (path: string, text: string): Either.Either<Profile, ProfileError> => {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (e) {
    return Either.left(new ProfileError({ path, at: "", detail: `not JSON: ${e instanceof Error ? e.message : String(e)}` }))
  }
  const format = (json as { format?: unknown; version?: unknown } | null)?.format
  const version = (json as { version?: unknown } | null)?.version
  if (format !== "slicewise-profile") return Either.left(new ProfileError({ path, at: "format", detail: "not a slicewise profile" }))
  if (version !== PROFILE_VERSION) {
    return Either.left(new ProfileError({ path, at: "version", detail: `version ${String(version)}; this slicewise reads version ${PROFILE_VERSION}` }))
  }
  const decoded = Schema.decodeUnknownEither(Profile)(json)
  if (Either.isRight(decoded)) return Either.right(decoded.right)
  return Either.left(new ProfileError({ path, ...firstIssue(decoded.left) }))
}

/** Reads and checks a profile file. */
export const readProfile = (path: string): Effect.Effect<Profile, ProfileError | FileError> =>
  Effect.flatMap(
    Effect.try({
      try: () => fs.readFileSync(path, "utf8"),
      catch: (e) => fileError(path, "read", e)
    }),
    (text) => decodeProfile(path, text)
  )
