/**
 * The `slicewise` command: run, plan, info, demo. Every failure is one line on stderr and a
 * non-zero exit; set SLICEWISE_DEBUG=1 for the full cause.
 */
import { SLICEWISE_VERSION } from "../util/version.js"
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as ValidationError from "@effect/cli/ValidationError"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { shapeText, volumeBytes } from "../algebra/volume.js"
import { isOutOfSpace } from "../algebra/io-errors.js"
import * as Cost from "../interpreters/cost/index.js"
import * as Plan from "../interpreters/plan/index.js"
import { openSource } from "../io/index.js"
import { sourceOptions, type InputFormat, type OutputFormat } from "../jobs/formats.js"
import { resumeOptions, runJobSetUp, type RunJob } from "../jobs/run-job.js"
import * as fs from "node:fs"
import { UsageError } from "../jobs/errors.js"
import { parseMemory, type MemorySplit } from "../jobs/memory.js"
import { describeSteps } from "../jobs/steps.js"
import { shortest, type Precision } from "../util/numbers.js"
import { describeGeometry } from "../algebra/geometry.js"
import { formatBytes } from "../util/units.js"
import { runDemo } from "./demo.js"
import { fieldsOf, inputOptions, outputOptions, type Flags } from "./formats.js"
import { diceCommand, fuseCommand } from "./fuse.js"
import { segmentCommand } from "./segment.js"
import { calibrateToolCommand } from "./calibrate-tool.js"
import { runnerCommand, statusCommand, submitCommand } from "./cluster.js"
import { lazyTerminalLayer } from "./terminal.js"
import { fitBudget, splitText } from "./budget.js"
import { print, runAndReport, throughput } from "./run-program.js"
import { unknownOption } from "./unknown-options.js"


const input = Args.text({ name: "input" }).pipe(
  Args.withDescription(
    "a directory of .tif files, a .tif/.tiff file, a .nrrd/.nhdr file, a .nii/.nii.gz file, or a Zarr / OME-Zarr directory or http(s) URL"
  )
)
const output = Args.text({ name: "output" }).pipe(Args.withDescription("where to write; the format follows the path as for input"))
const steps = Args.text({ name: "step" }).pipe(
  Args.repeated,
  Args.withDescription(`steps, each name or name:key=value,…\n${describeSteps()}`)
)
const json = Options.boolean("json").pipe(Options.withDescription("print a machine-readable result"))
const memory = Options.text("memory").pipe(
  Options.optional,
  Options.withDescription(
    "keep the process's peak resident memory within SIZE (e.g. 256MiB, 2GiB): what the runtime, its headroom and the worker threads " +
      "leave goes to the plan's buffers, whose passes run in bands of rows or are split by a spill to fit, whichever reads less; " +
      "refused up front, naming a size that works, if nothing fits"
  )
)
const buffers = Options.text("buffers").pipe(
  Options.optional,
  Options.withDescription("keep the plan's buffers alone within SIZE (the part of --memory the planner fits)")
)

const mode = Options.choice("mode", ["fused", "unfused"]).pipe(
  Options.withDefault("fused" as const),
  Options.withDescription("fused: the optimised plan (default); unfused: one stream stage per algebra node, for comparison")
)

const threads = Options.integer("threads").pipe(
  Options.optional,
  Options.withDescription("threads that compute each slice together (default: the number of CPUs; 1: this thread only)")
)

/** What every pipeline command takes: input, output, steps and the formats' options. */
const pipelineArgs = { input, output, steps, inputFlags: inputOptions, outputFlags: outputOptions }

/** The pipeline of a command line, as a run job: input, output, steps and format options. */
const jobOf = (a: {
  readonly input: string
  readonly output: string
  readonly steps: ReadonlyArray<string>
  readonly inputFlags: Flags<InputFormat>
  readonly outputFlags: Flags<OutputFormat>
}): RunJob => ({ kind: "run", input: a.input, output: a.output, steps: a.steps, ...fieldsOf(a.inputFlags), ...fieldsOf(a.outputFlags) })

/** Opens the input, parses the steps and builds the pipeline program. */
const setUp = (a: Parameters<typeof jobOf>[0]) => runJobSetUp(jobOf(a))

const profile = Options.text("profile").pipe(
  Options.optional,
  Options.withDescription("write a profile (per-stage figures, RSS, CPU and I/O sampled every 100 ms) to this JSON file; slicewise report renders it")
)

const resume = Options.boolean("resume").pipe(
  Options.withDescription(
    "journal the run beside its output (<output>.slicewise-journal; raw NRRD, NIfTI .nii, Zarr and OME-Zarr, and uncompressed TIFF stack outputs) so that it can be continued if it is interrupted " +
      "(Ctrl-C, kill -9, power loss): run the same command with --resume again and it keeps the slices already written (verified by " +
      "their checksums) and continues from its last checkpoint; a journal of another input, other steps or another slicewise is refused. " +
      "With plan and cost: show the run's checkpoints (interval, journal bytes, where each pass restarts)"
  )
)

/** The journal of the run being made with --resume, for the line printed if it is interrupted. */
let resumableJournal: string | undefined

const runCommand = Command.make("run", { ...pipelineArgs, json, memory, buffers, mode, profile, threads, resume }, (a) =>
  Effect.gen(function* () {
    const job = jobOf(a)
    const { program } = yield* setUp(a)
    const journaled = a.resume ? yield* resumeOptions(job) : undefined
    resumableJournal = journaled?.journal
    yield* runAndReport(program, { ...a, resume: journaled })
  })
).pipe(Command.withDescription("run the steps over the input and write the output"))

/**
 * Prints a dry run: its JSON with the budget's split and (with --resume) the checkpoints, or its
 * text with them around it.
 */
const printDryRun = (a: { readonly json: boolean; readonly resume: boolean }, plan: Plan.Plan, split: MemorySplit | undefined, json: object, text: string) => {
  const checkpoints = a.resume ? Plan.checkpointPlan(plan) : undefined
  if (a.json) return print(JSON.stringify({ ...json, ...(split === undefined ? {} : { memory: split }), ...(checkpoints === undefined ? {} : { checkpoints }) }, null, 2))
  const body = split === undefined ? text : `${splitText(split, plan.peakBufferBytes)}\n${text}`
  return print(checkpoints === undefined ? body : `${body}\n${Plan.checkpointText(checkpoints)}`)
}

const planCommand = Command.make("plan", { ...pipelineArgs, json, memory, buffers, mode, threads, resume }, (a) =>
  Effect.gen(function* () {
    const { program } = yield* setUp(a)
    const { plan, split } = yield* fitBudget(program, a)
    yield* printDryRun(a, plan, split, Plan.planJson(plan), Plan.planText(plan))
  })
).pipe(Command.withDescription("print the plan (passes, stages, latencies, rings) without reading any voxel"))

const costCommand = Command.make("cost", { ...pipelineArgs, json, memory, buffers, mode, threads, resume }, (a) =>
  Effect.gen(function* () {
    const { program } = yield* setUp(a)
    const { throughput: t, from } = yield* throughput
    const { plan, split } = yield* fitBudget(program, a)
    const cost = Cost.costOf(plan, t, from)
    yield* printDryRun(a, plan, split, Cost.costJson(cost), Cost.costText(cost))
  })
).pipe(Command.withDescription("the dry run: bytes read and written, amplification, buffers and voxel-ops, without reading any voxel"))

/**
 * How precisely a format stores the voxel spacing: NIfTI-1's pixdim is float32 (NIfTI-2 is refused);
 * NRRD and Zarr write decimals, TIFF rationals, all read as float64.
 */
const spacingPrecision = (format: string): Precision => (format.startsWith("nifti") ? "float32" : "float64")

const infoCommand = Command.make("info", { input, inputFlags: inputOptions, json }, (a) =>
  Effect.gen(function* () {
    const s = yield* openSource(a.input, { ...sourceOptions(fieldsOf<InputFormat>(a.inputFlags)), describe: true })
    // Printed (text and JSON) as the shortest decimal that reads back as the stored value: a NIfTI
    // pixdim of 0.9 is 0.9, not the float32's 0.8999999761581421; Math.fround of it is the stored value.
    const precision = spacingPrecision(s.format)
    const spacing = s.info.spacing.map((v) => shortest(v, precision))
    const g = s.info.geometry
    const geometry = g === undefined ? undefined : { ...g, origin: g.origin.map((v) => shortest(v, precision)) }
    const facts = {
      path: s.path,
      format: s.format,
      dtype: s.info.dtype,
      shape: s.info.shape,
      spacing,
      ...(geometry === undefined ? {} : { geometry }),
      bytes: volumeBytes(s.info),
      ...s.details
    }
    if (a.json) return yield* print(JSON.stringify(facts, null, 2))
    yield* print(
      [
        `${s.path}: ${s.format}`,
        `  dtype    ${s.info.dtype}`,
        `  shape    ${shapeText(s.info.shape)} (z×y×x)`,
        `  spacing  ${spacing.join(" × ")}${s.info.geometry?.unit === undefined ? "" : ` ${s.info.geometry.unit}`}`,
        ...Object.entries(g === undefined ? {} : describeGeometry(g, (v) => String(shortest(v, precision))))
          .filter(([k]) => k !== "unit")
          .map(([k, v]) => `  ${k.padEnd(8)} ${v}`),
        `  size     ${formatBytes(volumeBytes(s.info))} of voxels`,
        ...Object.entries(s.details).map(([k, v]) => `  ${k.padEnd(8)} ${v}`)
      ].join("\n")
    )
  })
).pipe(Command.withDescription("describe a volume: format, dtype, shape, spacing, layout"))

const demoCommand = Command.make("demo", { json }, (a) => runDemo(a.json)).pipe(
  Command.withDescription("make a phantom volume, run a short pipeline on it, print the plan and the metrics")
)

const size = Options.text("size").pipe(
  Options.withDefault("256MiB"),
  Options.withDescription("bytes of the test volume (larger than free memory to measure the disk, not the page cache)")
)

const batchCommand = Command.make(
  "batch",
  {
    jobsFile: Args.text({ name: "jobs.json" }).pipe(Args.withDescription('a jobs file: { "jobs": [{ "kind": "run", … } | { "kind": "fuse", … }] }')),
    memory: Options.text("memory").pipe(
      Options.withDescription("the budget for the whole process (RSS): jobs start only while their predicted peaks fit in it")
    ),
    concurrency: Options.integer("concurrency").pipe(Options.optional, Options.withDescription("most jobs at once (default: the number of CPUs)")),
    profile,
    json,
    resume: Options.boolean("resume").pipe(
      Options.withDescription(
        'journal every run job (as its "resume": true does) so that the same command after a crash, a kill or Ctrl-C continues each ' +
          "unfinished job from its last checkpoint; finished jobs' outputs are there already and are written again"
      )
    )
  },
  (a) => Effect.flatMap(Effect.promise(() => import("./batch.js")), (m) => m.runBatchCommand(a))
).pipe(Command.withDescription("run many jobs at once under one memory budget, each admitted by its predicted peak"))

const reportCommand = Command.make(
  "report",
  {
    profile: Args.text({ name: "profile.json | ID" }).pipe(
      Args.withDescription("a profile written by run --profile or batch --profile; with --cluster, a pipeline's id (as submit prints it)")
    ),
    cluster: Options.text("cluster").pipe(Options.optional, Options.withDescription("the cluster's PostgreSQL (postgres://…): report the pipeline ID run there")),
    out: Options.text("out").pipe(Options.optional, Options.withDescription("where to write the page (default: the profile's path with .html, or ID.html)"))
  },
  (a) =>
    Option.match(a.cluster, {
      onNone: (): Effect.Effect<void, unknown> => Effect.flatMap(Effect.promise(() => import("./profile-report.js")), (m) => m.runReportCommand(a)),
      onSome: (cluster) => Effect.flatMap(Effect.promise(() => import("./cluster-report.js")), (m) => m.runClusterReportCommand({ id: a.profile, cluster, out: a.out }))
    })
).pipe(Command.withDescription("render a profile, or a pipeline run on a cluster, as a self-contained HTML page: memory, CPU and I/O over time, jobs, stages"))

const calibrateCommand = Command.make("calibrate", { size, json }, (a) =>
  Effect.gen(function* () {
    const bytes = yield* parseMemory(a.size, "--size")
    const { runCalibrate } = yield* Effect.promise(() => import("./calibrate.js"))
    yield* runCalibrate(bytes, a.json)
  })
).pipe(Command.withDescription("measure this machine's read, write and compute throughputs for the cost estimate, and store them"))

const cli = Command.make("slicewise").pipe(
  Command.withDescription("stream 3D images slice by slice"),
  Command.withSubcommands([runCommand, planCommand, costCommand, infoCommand, calibrateCommand, calibrateToolCommand, demoCommand, fuseCommand, diceCommand, segmentCommand, batchCommand, runnerCommand, submitCommand, statusCommand, reportCommand])
)

const run = Command.run(cli, { name: "slicewise", version: SLICEWISE_VERSION })

/**
 * The command line, refused first if a word that looks like an option is none of its command's:
 * @effect/cli would take it for a positional argument (a step, an input).
 */
const main = (argv: ReadonlyArray<string>) =>
  Effect.suspend(() => {
    const unknown = unknownOption(argv.slice(2), cli)
    return unknown === undefined ? run(argv) : Effect.fail(new UsageError({ detail: unknown }))
  })

/** One line for a failure: typed errors carry their own message. */
const describeFailure = (cause: Cause.Cause<unknown>): string | undefined => {
  const failure = Cause.failureOption(cause)
  if (Option.isSome(failure)) {
    const e = failure.value
    if (ValidationError.isValidationError(e)) return undefined // @effect/cli has printed it
    const line = e instanceof Error ? e.message : String(e)
    // A journaled run out of space keeps its journal (run/harness.ts).
    return isOutOfSpace(e) && resumableJournal !== undefined && fs.existsSync(resumableJournal)
      ? `${line}; resumable once there is room: run the same command with --resume (journal ${resumableJournal})`
      : line
  }
  if (Cause.isInterruptedOnly(cause)) {
    return resumableJournal !== undefined && fs.existsSync(resumableJournal)
      ? `interrupted; resumable: run the same command with --resume (journal ${resumableJournal})`
      : "interrupted"
  }
  const defect = Cause.squash(cause)
  return `internal error: ${defect instanceof Error ? defect.message : String(defect)} (set SLICEWISE_DEBUG=1 for details)`
}

// What @effect/cli needs, and no more: NodeContext.layer would also load child_process (with net
// and dgram) and worker support for a command executor the CLI never uses; the terminal is made
// only if a prompt needs it.
const environment = Layer.mergeAll(NodeFileSystem.layer, NodePath.layer, lazyTerminalLayer)
const fiber = Effect.runFork(main(process.argv).pipe(Effect.provide(environment)))
// A signal interrupts the fiber, so that every scope closes (temporaries, spills and the output's
// lock removed); the exit code is then the shell's for that signal, 128 + its number, as if it had
// killed the process. A second signal of the same kind kills it at once (Node's default).
const SIGNAL_EXIT = { SIGINT: 130, SIGTERM: 143 } as const
let signalled: keyof typeof SIGNAL_EXIT | undefined
const interruptOn = (signal: keyof typeof SIGNAL_EXIT) => () => {
  signalled ??= signal
  Effect.runFork(Fiber.interrupt(fiber))
}
process.once("SIGINT", interruptOn("SIGINT"))
process.once("SIGTERM", interruptOn("SIGTERM"))
Effect.runPromise(Fiber.await(fiber)).then((exit) => {
  if (Exit.isSuccess(exit)) return
  const line = describeFailure(exit.cause)
  if (line !== undefined) process.stderr.write(`slicewise: ${line}\n`)
  if (process.env.SLICEWISE_DEBUG) process.stderr.write(`${Cause.pretty(exit.cause)}\n`)
  process.exitCode = Cause.isInterruptedOnly(exit.cause) ? SIGNAL_EXIT[signalled ?? "SIGINT"] : 1
})
