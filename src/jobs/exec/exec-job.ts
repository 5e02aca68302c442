/**
 * `"kind": "exec"`: any external command as a job of a pipeline file, with its declared inputs and
 * outputs (for the dependency graph and atomic outputs), its predicted peak memory (for
 * admission) and bounded retries. The command's arguments name outputs by placeholder:
 * `{output0}` is the first declared output's temporary path, renamed to it when the command exits
 * 0 (./run-external.ts); `{input0}`, `{threads}` and `{work}` (a scratch directory) are
 * substituted too. An output written with a trailing `/` is a directory, created empty for the
 * command. Every declared output must appear in the command as its placeholder: an output the
 * command writes under its own name could not be made atomic.
 *
 * @example
 * ```json
 * { "kind": "exec", "name": "smooth", "command": ["c3d", "{input0}", "-smooth", "1vox", "-o", "{output0}"],
 *   "inputs": ["t1.nii.gz"], "outputs": ["t1-smooth.nii.gz"], "memory": "2GiB", "retries": 1 }
 * ```
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { UsageError } from "../errors.js"
import type { ExternalSetUp } from "../external.js"
import { parseMemory } from "../memory.js"
import { After } from "../run-job.js"
import { runExternal, type DeclaredOutput, type ExternalCommand } from "./run-external.js"

const NonNegativeInt = Schema.Int.pipe(Schema.nonNegative())

/** Options every external job (exec, register, warp) takes. */
export const externalFields = {
  name: Schema.optional(Schema.NonEmptyString),
  after: Schema.optional(After),
  /** Predicted peak resident memory of the command ("2GiB"); register and warp have a model. */
  memory: Schema.optional(Schema.NonEmptyString),
  threads: Schema.optional(Schema.Int.pipe(Schema.positive())),
  /** Failed attempts retried (default 0). */
  retries: Schema.optional(NonNegativeInt.pipe(Schema.lessThanOrEqualTo(10))),
  /** Seconds per attempt before the command's process group is killed. */
  timeout: Schema.optional(Schema.Number.pipe(Schema.positive())),
  /** Where the log goes (default: the first output's path + ".log"). */
  log: Schema.optional(Schema.NonEmptyString)
}

export const ExecJob = Schema.Struct({
  kind: Schema.Literal("exec"),
  command: Schema.NonEmptyArray(Schema.String),
  inputs: Schema.optionalWith(Schema.Array(Schema.NonEmptyString), { default: () => [] }),
  outputs: Schema.NonEmptyArray(Schema.NonEmptyString),
  /** The command's working directory (default: the pipeline file's). */
  cwd: Schema.optional(Schema.NonEmptyString),
  ...externalFields,
  memory: Schema.NonEmptyString
})
export type ExecJob = typeof ExecJob.Type

/** A declared output: `dir/` is a directory. */
export const declaredOutput = (path: string): DeclaredOutput =>
  path.endsWith("/") ? { path: path.replace(/\/+$/, ""), directory: true } : { path }

/** The first declared output that the command does not name as its placeholder, if any. */
export const unusedOutput = (job: Pick<ExecJob, "command" | "outputs">): number | undefined => {
  const i = job.outputs.findIndex((_, k) => !job.command.some((arg) => arg.includes(`{output${k}}`)))
  return i < 0 ? undefined : i
}

/** The log file of an external job: its own, or beside its first output. */
export const logFileOf = (job: { readonly log?: string | undefined }, firstOutput: string): string => job.log ?? `${firstOutput.replace(/\/+$/, "")}.log`

/** The runner options an external job's common fields give. */
export const commonCommand = (job: {
  readonly threads?: number | undefined
  readonly retries?: number | undefined
  readonly timeout?: number | undefined
}): Pick<ExternalCommand, "threads" | "retries" | "timeoutMs"> => ({
  ...(job.threads === undefined ? {} : { threads: job.threads }),
  ...(job.retries === undefined ? {} : { retries: job.retries }),
  ...(job.timeout === undefined ? {} : { timeoutMs: job.timeout * 1000 })
})

/** Sets up an exec job: checks its memory and placeholders; runs nothing. */
export const execSetUp = (job: ExecJob, name: string): Effect.Effect<ExternalSetUp, UsageError> =>
  Effect.gen(function* () {
    const predictedBytes = yield* parseMemory(job.memory, "memory")
    const unused = unusedOutput(job)
    if (unused !== undefined) {
      return yield* new UsageError({ detail: `outputs[${unused}] ${job.outputs[unused]} is not in the command as {output${unused}}: it could not be written atomically` })
    }
    const outputs = job.outputs.map(declaredOutput)
    return {
      _tag: "External",
      predictedBytes,
      output: outputs[0]!.path,
      run: runExternal({
        job: name,
        argv: job.command,
        inputs: job.inputs,
        outputs,
        logFile: logFileOf(job, outputs[0]!.path),
        ...(job.cwd === undefined ? {} : { cwd: job.cwd }),
        ...commonCommand(job)
      })
    }
  })
