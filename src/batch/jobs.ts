/**
 * The jobs file of `slicewise batch`: `{ "jobs": [Job, …] }`, a Job being a union on `kind`. It is
 * decoded with effect/Schema; a bad file fails with a JobsFileError naming the file and the JSON
 * path of the first bad field (`jobs[2].steps[0]`).
 *
 * @example
 * ```json
 * { "jobs": [
 *   { "kind": "run", "name": "case-01", "input": "in/01.nii.gz", "output": "out/01.nii.gz",
 *     "steps": ["gaussian:sigma=1", "threshold:min=100"] }
 * ] }
 * ```
 */
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import * as fs from "node:fs"
import * as nodePath from "node:path"
import { firstIssue, locatedMessage } from "../util/json-path.js"

const NonNegativeInt = Schema.Int.pipe(Schema.nonNegative())

/**
 * A `slicewise run` as a job: the same input, output, steps and format flags as on the command
 * line (`--level` → `level`, `--zarr-version` → `zarrVersion`, …), and optionally a `memory` cap
 * ("256MiB") that its plan must fit, as `run --memory` does.
 */
export const RunJob = Schema.Struct({
  kind: Schema.Literal("run"),
  name: Schema.optional(Schema.NonEmptyString),
  input: Schema.NonEmptyString,
  output: Schema.NonEmptyString,
  steps: Schema.Array(Schema.NonEmptyString),
  memory: Schema.optional(Schema.NonEmptyString),
  mode: Schema.optional(Schema.Literal("fused", "unfused")),
  level: Schema.optional(NonNegativeInt),
  channel: Schema.optional(NonNegativeInt),
  time: Schema.optional(NonNegativeInt),
  volume: Schema.optional(NonNegativeInt),
  scale: Schema.optional(Schema.Boolean),
  chunks: Schema.optional(Schema.NonEmptyString),
  codec: Schema.optional(Schema.NonEmptyString),
  zarrVersion: Schema.optional(Schema.Literal("2", "3")),
  levels: Schema.optional(Schema.Int.pipe(Schema.positive())),
  labels: Schema.optional(Schema.Boolean)
})
export type RunJob = typeof RunJob.Type

/** A file that is not a valid jobs file: `message` names the file and where in it. */
export class JobsFileError extends Data.TaggedError("JobsFileError")<{
  readonly path: string
  /** The JSON path of the bad field, or "" for the file as a whole. */
  readonly at: string
  readonly detail: string
}> {
  override get message(): string {
    return locatedMessage(this.path, this.at, this.detail)
  }
}

/**
 * The schema of a jobs file over the given job schema (run jobs, or run and fuse jobs). Each job
 * is checked against the member its `kind` names, so an error speaks of that member's fields.
 */
export const jobsFileSchema = <A, I>(job: Schema.Schema<A, I, never>) =>
  Schema.Struct({ jobs: Schema.Array(job).pipe(Schema.minItems(1, { message: () => "give at least one job" })) })

/**
 * Decodes the text of a jobs file. A job's `kind` is checked first, so an unknown kind is one
 * clear error and not a list of every member's complaints.
 */
export const decodeJobs = <A, I>(
  path: string,
  text: string,
  job: Schema.Schema<A, I, never>,
  kinds: ReadonlyArray<string>
): Either.Either<ReadonlyArray<A>, JobsFileError> => {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (e) {
    return Either.left(new JobsFileError({ path, at: "", detail: `not JSON: ${e instanceof Error ? e.message : String(e)}` }))
  }
  const jobs = (json as { jobs?: unknown } | null)?.jobs
  if (Array.isArray(jobs)) {
    for (let i = 0; i < jobs.length; i++) {
      const kind = (jobs[i] as { kind?: unknown } | null)?.kind
      if (typeof kind !== "string" || !kinds.includes(kind)) {
        const detail = kind === undefined ? `missing "kind" (one of ${kinds.join(", ")})` : `unknown kind ${JSON.stringify(kind)} (one of ${kinds.join(", ")})`
        return Either.left(new JobsFileError({ path, at: `jobs[${i}].kind`, detail }))
      }
    }
  }
  const decoded = Schema.decodeUnknownEither(jobsFileSchema(job), { onExcessProperty: "error" })(json)
  if (Either.isRight(decoded)) return Either.right(decoded.right.jobs)
  return Either.left(new JobsFileError({ path, ...firstIssue(decoded.left) }))
}

/** Resolves a job path against the jobs file's directory (URLs and absolute paths stay). */
export const resolveFrom = (jobsFile: string, p: string): string =>
  /^https?:\/\//i.test(p) ? p : nodePath.resolve(nodePath.dirname(nodePath.resolve(jobsFile)), p)

/** Reads and decodes a jobs file. */
export const readJobs = <A, I>(
  path: string,
  job: Schema.Schema<A, I, never>,
  kinds: ReadonlyArray<string>
): Effect.Effect<ReadonlyArray<A>, JobsFileError> =>
  Effect.flatMap(
    Effect.try({
      try: () => fs.readFileSync(path, "utf8"),
      catch: (e) => new JobsFileError({ path, at: "", detail: `cannot read: ${(e as NodeJS.ErrnoException).code ?? String(e)}` })
    }),
    (text) => decodeJobs(path, text, job, kinds)
  )
