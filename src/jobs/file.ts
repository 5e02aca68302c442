/**
 * The jobs file of `slicewise batch`: `{ "jobs": [Job, …] }`, a Job being a run or a fuse job
 * (a union on `kind`). It is decoded with effect/Schema; a bad file fails with a JobsFileError
 * naming the file and the JSON path of the first bad field (`jobs[2].steps[0]`). Relative paths
 * in a job are read against the jobs file's directory.
 *
 * @example
 * ```json
 * { "jobs": [
 *   { "kind": "run", "name": "case-01", "input": "in/01.nii.gz", "output": "out/01.nii.gz",
 *     "steps": ["gaussian:sigma=1", "threshold:min=100"] }
 * ] }
 * ```
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import * as fs from "node:fs"
import * as nodePath from "node:path"
import { fileError, type FileError, type IoError } from "../algebra/io-errors.js"
import { firstIssue, JsonFileError } from "../util/json-path.js"
import type { UsageError } from "./errors.js"
import { FuseJob, fuseSetUp } from "./fuse-job.js"
import { RunJob, runJobSetUp, type JobSetUp } from "./run-job.js"
import type { StepError } from "./steps.js"

/** A job of a jobs file: a pipeline (`slicewise run`) or a label fusion (`slicewise fuse`). */
export const Job = Schema.Union(RunJob, FuseJob)
export type Job = typeof Job.Type

/** The kinds of job, as `kind` names them. */
export const JOB_KINDS: ReadonlyArray<Job["kind"]> = ["run", "fuse"]

/** A file that is not a valid jobs file: `message` names the file and where in it. */
export class JobsFileError extends JsonFileError("JobsFileError") {}

const JobsFile = Schema.Struct({ jobs: Schema.Array(Job).pipe(Schema.minItems(1, { message: () => "give at least one job" })) })

/** A job's `kind`, checked before the rest so that an unknown kind is one clear error. */
const kindError = (path: string, jobs: ReadonlyArray<unknown>): JobsFileError | undefined => {
  const kinds: ReadonlyArray<string> = JOB_KINDS
  for (let i = 0; i < jobs.length; i++) {
    const kind = (jobs[i] as { kind?: unknown } | null)?.kind
    if (typeof kind !== "string" || !kinds.includes(kind)) {
      const detail = kind === undefined ? `missing "kind" (one of ${kinds.join(", ")})` : `unknown kind ${JSON.stringify(kind)} (one of ${kinds.join(", ")})`
      return new JobsFileError({ path, at: `jobs[${i}].kind`, detail })
    }
  }
  return undefined
}

/** Decodes the text of a jobs file (paths as written). */
export const decodeJobs = (path: string, text: string): Either.Either<ReadonlyArray<Job>, JobsFileError> => {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (e) {
    return Either.left(new JobsFileError({ path, at: "", detail: `not JSON: ${e instanceof Error ? e.message : String(e)}` }))
  }
  const jobs = (json as { jobs?: unknown } | null)?.jobs
  const badKind = Array.isArray(jobs) ? kindError(path, jobs) : undefined
  if (badKind !== undefined) return Either.left(badKind)
  const decoded = Schema.decodeUnknownEither(JobsFile, { onExcessProperty: "error" })(json)
  if (Either.isRight(decoded)) return Either.right(decoded.right.jobs)
  return Either.left(new JobsFileError({ path, ...firstIssue(decoded.left) }))
}

/** Resolves a job path against the jobs file's directory (URLs and absolute paths stay). */
export const resolveFrom = (jobsFile: string, p: string): string =>
  /^https?:\/\//i.test(p) ? p : nodePath.resolve(nodePath.dirname(nodePath.resolve(jobsFile)), p)

/** The job with every path it names resolved against the jobs file's directory. */
export const resolveJobPaths = <J extends Job>(job: J, jobsFile: string): J => {
  const at = (p: string) => resolveFrom(jobsFile, p)
  const j: Job = job
  if (j.kind === "run") return { ...j, input: at(j.input), output: at(j.output) } as unknown as J
  return {
    ...j,
    target: at(j.target),
    output: at(j.output),
    atlases: j.atlases.map((a) => ({ labels: at(a.labels), ...(a.image === undefined ? {} : { image: at(a.image) }) }))
  } as unknown as J
}

/** Reads and decodes a jobs file; the jobs' paths are resolved against its directory. */
export const readJobs = (path: string): Effect.Effect<ReadonlyArray<Job>, JobsFileError | FileError> =>
  Effect.flatMap(
    Effect.try({ try: () => fs.readFileSync(path, "utf8"), catch: (e) => fileError(path, "read", e) }),
    (text) => Either.map(decodeJobs(path, text), (jobs) => jobs.map((j) => resolveJobPaths(j, path)))
  )

/** Sets up a job of either kind (metadata only: no voxel read, no file created). */
export const jobSetUp = (job: Job): Effect.Effect<JobSetUp, StepError | IoError | UsageError> =>
  job.kind === "run" ? runJobSetUp(job) : fuseSetUp(job)
