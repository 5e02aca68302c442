/**
 * The pipeline file of `slicewise batch` (a jobs file): `{ "jobs": [Job, …] }`, a Job being a
 * run, fuse, exec, register or warp job (a union on `kind`), each of which may come `after` others
 * by name. It is decoded with effect/Schema and checked as a graph (./dag.ts: unknown or shared
 * names, a circle, an input that is neither there nor written by a job it comes after); a bad file
 * fails with a JobsFileError naming the file and the JSON path of the first bad field
 * (`jobs[2].steps[0]`, `jobs[3].after[0]`). Relative paths in a job are read against the file's
 * directory.
 *
 * @example
 * ```json
 * { "jobs": [
 *   { "kind": "run", "name": "smooth", "input": "in/01.nii.gz", "output": "out/01.nii.gz",
 *     "steps": ["gaussian:sigma=1"] },
 *   { "kind": "run", "name": "mask", "after": ["smooth"], "input": "out/01.nii.gz",
 *     "output": "out/01-mask.nii.gz", "steps": ["threshold:min=100"] }
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
import { checkGraph, type GraphJob, type GraphPath } from "./dag.js"
import type { UsageError } from "./errors.js"
import { FuseJob, fuseSetUp } from "./fuse-job.js"
import { RunJob, runJobSetUp, type JobSetUp } from "./run-job.js"
import { declaredOutput, ExecJob, execSetUp, unusedOutput } from "./exec/exec-job.js"
import type { ExternalSetUp } from "./external.js"
import { BUILTIN_PARAMS, paramsList, RegisterJob, registerSetUp, WarpJob, warpSetUp } from "./exec/elastix.js"
import type { StepError } from "./steps.js"

/**
 * A job of a pipeline file: a pipeline (`slicewise run`), a label fusion (`slicewise fuse`), an
 * external command (exec), a registration (elastix) or a warp (transformix).
 */
export const Job = Schema.Union(RunJob, FuseJob, ExecJob, RegisterJob, WarpJob)
export type Job = typeof Job.Type

/** The kinds of job, as `kind` names them. */
export const JOB_KINDS: ReadonlyArray<Job["kind"]> = ["run", "fuse", "exec", "register", "warp"]

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

/** A job's name: its own, or `N:basename(output)` (N counting from 1). */
export const jobName = (job: Job, i: number): string => job.name ?? `${i + 1}:${nodePath.basename(firstOutput(job))}`

/** The path a job is known by in reports: its (first) output. */
const firstOutput = (job: Job): string => (job.kind === "exec" ? declaredOutput(job.outputs[0]).path : job.output)

/** What a job reads and writes, with where the file names each path (paths as in `job`). */
export const jobIo = (job: Job, i: number): Pick<GraphJob, "inputs" | "outputs"> => {
  const at = (field: string, path: string): GraphPath => ({ at: `jobs[${i}].${field}`, path })
  const j: Job = job
  switch (j.kind) {
    case "run":
      return { inputs: [at("input", j.input)], outputs: [at("output", j.output)] }
    case "fuse":
      return {
        inputs: [
          at("target", j.target),
          ...j.atlases.flatMap((a, k) => [...(a.image === undefined ? [] : [at(`atlases[${k}].image`, a.image)]), at(`atlases[${k}].labels`, a.labels)])
        ],
        outputs: [at("output", j.output)]
      }
    case "exec":
      return {
        inputs: j.inputs.map((p, k) => at(`inputs[${k}]`, p)),
        outputs: j.outputs.map((p, k) => at(`outputs[${k}]`, declaredOutput(p).path))
      }
    case "register": {
      const list = paramsList(j.params)
      const files = list.flatMap((p, k) => (BUILTIN_PARAMS[p] !== undefined ? [] : [at(typeof j.params === "string" ? "params" : `params[${k}]`, p)]))
      return { inputs: [at("fixed", j.fixed), at("moving", j.moving), ...files], outputs: [at("output", j.output.replace(/\/+$/, ""))] }
    }
    case "warp":
      return { inputs: [at("transform", j.transform), at("input", j.input)], outputs: [at("output", j.output)] }
  }
}

/** What the Schema cannot say of one job: an exec output its command does not name. */
const jobProblem = (job: Job, i: number): { readonly at: string; readonly detail: string } | undefined => {
  if (job.kind !== "exec") return undefined
  const k = unusedOutput(job)
  return k === undefined
    ? undefined
    : { at: `jobs[${i}].outputs[${k}]`, detail: `${job.outputs[k]} is not in the command as {output${k}}: the command must write it through that placeholder (atomic outputs)` }
}

/** The jobs as a graph, their paths resolved against the jobs file's directory. */
const graphOf = (file: string, jobs: ReadonlyArray<Job>): Array<GraphJob> =>
  jobs.map((job, i) => {
    const io = jobIo(job, i)
    const resolve = (p: GraphPath): GraphPath => ({ at: p.at, path: resolveFrom(file, p.path) })
    return { name: jobName(job, i), at: `jobs[${i}]`, after: job.after ?? [], inputs: io.inputs.map(resolve), outputs: io.outputs.map(resolve) }
  })

/**
 * Decodes the text of a jobs file (paths as written) and checks its graph. `exists` says whether
 * an input is there (default: every input is; readJobs looks at the file system).
 */
export const decodeJobs = (path: string, text: string, exists: (path: string) => boolean = () => true): Either.Either<ReadonlyArray<Job>, JobsFileError> => {
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
  if (Either.isLeft(decoded)) return Either.left(new JobsFileError({ path, ...firstIssue(decoded.left) }))
  const problem = decoded.right.jobs.map(jobProblem).find((p) => p !== undefined) ?? checkGraph(graphOf(path, decoded.right.jobs), exists)
  return problem === undefined ? Either.right(decoded.right.jobs) : Either.left(new JobsFileError({ path, ...problem }))
}

/** Resolves a job path against the jobs file's directory (URLs and absolute paths stay). */
export const resolveFrom = (jobsFile: string, p: string): string =>
  /^https?:\/\//i.test(p) ? p : nodePath.resolve(nodePath.dirname(nodePath.resolve(jobsFile)), p)

/** The job with every path it names resolved against the jobs file's directory. */
export const resolveJobPaths = <J extends Job>(job: J, jobsFile: string): J => {
  const at = (p: string) => resolveFrom(jobsFile, p)
  const j: Job = job
  if (j.kind === "run") return { ...j, input: at(j.input), output: at(j.output) } as unknown as J
  if (j.kind === "register") {
    const param = (p: string) => (BUILTIN_PARAMS[p] === undefined ? at(p) : p)
    return {
      ...j,
      fixed: at(j.fixed),
      moving: at(j.moving),
      output: at(j.output),
      params: typeof j.params === "string" ? param(j.params) : j.params.map(param),
      ...(j.log === undefined ? {} : { log: at(j.log) })
    } as unknown as J
  }
  if (j.kind === "warp") {
    return { ...j, transform: at(j.transform), input: at(j.input), output: at(j.output), ...(j.log === undefined ? {} : { log: at(j.log) }) } as unknown as J
  }
  if (j.kind === "exec") {
    // A trailing "/" says the output is a directory: resolving keeps it.
    const out = (p: string) => (p.endsWith("/") ? `${at(p)}/` : at(p))
    return {
      ...j,
      inputs: j.inputs.map(at),
      outputs: j.outputs.map(out),
      cwd: at(j.cwd ?? "."),
      ...(j.log === undefined ? {} : { log: at(j.log) })
    } as unknown as J
  }
  return {
    ...j,
    target: at(j.target),
    output: at(j.output),
    atlases: j.atlases.map((a) => ({ labels: at(a.labels), ...(a.image === undefined ? {} : { image: at(a.image) }) }))
  } as unknown as J
}

/**
 * Reads and decodes a jobs file, checking that every input is there or written by a job it comes
 * after; the jobs' paths are resolved against its directory.
 */
export const readJobs = (path: string): Effect.Effect<ReadonlyArray<Job>, JobsFileError | FileError> =>
  Effect.flatMap(
    Effect.try({ try: () => fs.readFileSync(path, "utf8"), catch: (e) => fileError(path, "read", e) }),
    (text) => Either.map(decodeJobs(path, text, fs.existsSync), (jobs) => jobs.map((j) => resolveJobPaths(j, path)))
  )

/**
 * Sets up a job of any kind (metadata only: no voxel read, no file created, no command started);
 * `name` names it in an external command's messages and log.
 */
export const jobSetUp = (job: Job, name = job.name ?? job.kind): Effect.Effect<JobSetUp | ExternalSetUp, StepError | IoError | UsageError> => {
  switch (job.kind) {
    case "run":
      return runJobSetUp(job)
    case "fuse":
      return fuseSetUp(job)
    case "exec":
      return execSetUp(job, name)
    case "register":
      return registerSetUp(job, name)
    case "warp":
      return warpSetUp(job, name)
  }
}
