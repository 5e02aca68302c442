/**
 * The `slicewise` command: run, plan, info, demo. Every failure is one line on stderr and a
 * non-zero exit; set SLICEWISE_DEBUG=1 for the full cause.
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as ValidationError from "@effect/cli/ValidationError"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import { shapeText, volumeBytes } from "../algebra/volume.js"
import * as Cost from "../interpreters/cost/index.js"
import * as Plan from "../interpreters/plan/index.js"
import * as Run from "../interpreters/run/index.js"
import { openSource, sinkFor } from "../io/index.js"
import { describeSteps, parseSteps } from "../ops/steps.js"
import { formatBytes, formatMs, parseSize } from "../util/units.js"
import { runDemo } from "./demo.js"
import { inputOptions, outputOptions, sinkOptions, sourceOptions } from "./formats.js"
import { pipeline } from "./pipeline.js"
import { progressBar } from "./progress.js"
import { metricsJson, metricsText } from "./report.js"
import { UsageError } from "./errors.js"

const VERSION = "0.1.0"

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
    "keep the plan's buffers within SIZE (e.g. 64MiB, 2GiB): passes run in bands of rows or are split by a spill, " +
      "whichever reads less; refused up front, naming the smallest budget that works, if nothing fits"
  )
)

const mode = Options.choice("mode", ["fused", "unfused"]).pipe(
  Options.withDefault("fused" as const),
  Options.withDescription("fused: the optimised plan (default); unfused: one stream stage per algebra node, for comparison")
)

const print = (text: string) => Effect.sync(() => process.stdout.write(text.endsWith("\n") ? text : `${text}\n`))

/** What every pipeline command takes: input, output, steps and the formats' options. */
const pipelineArgs = { input, output, steps, inputFlags: inputOptions, outputFlags: outputOptions }

/** Opens the input, parses the steps and builds the pipeline program. */
const setUp = (a: {
  readonly input: string
  readonly output: string
  readonly steps: ReadonlyArray<string>
  readonly inputFlags: Parameters<typeof sourceOptions>[0]
  readonly outputFlags: Parameters<typeof sinkOptions>[0]
}) =>
  Effect.gen(function* () {
    const parsed = yield* parseSteps(a.steps)
    const source = yield* openSource(a.input, sourceOptions(a.inputFlags))
    const sink = yield* sinkFor(a.output, yield* sinkOptions(a.outputFlags, source))
    return { source, sink, program: pipeline(source, parsed, sink) }
  })

/** A size a user can type that is at least `bytes`: "3.3MiB", "700KiB". */
const sizeAtLeast = (bytes: number): string => {
  const [unit, factor] = bytes >= 2 ** 30 ? ["GiB", 2 ** 30] : bytes >= 2 ** 20 ? ["MiB", 2 ** 20] : ["KiB", 2 ** 10]
  return `${Math.ceil((bytes / factor) * 10) / 10}${unit}`
}

/** The plan options of a mode and a `--memory` budget. */
const planOptions = (m: "fused" | "unfused", budget: Option.Option<string>) =>
  Effect.gen(function* () {
    const options: { rewrites?: ReadonlyArray<never>; memoryBytes?: number } = m === "unfused" ? { rewrites: [] } : {}
    if (Option.isNone(budget)) return options as Plan.PlanOptions
    const bytes = parseSize(budget.value)
    if (bytes === undefined || bytes <= 0) {
      return yield* new UsageError({ detail: `--memory ${budget.value} is not a size (try 512MiB or 2GiB)` })
    }
    return { ...options, memoryBytes: bytes } as Plan.PlanOptions
  })

/** A BudgetError as the CLI says it: with a --memory value that works. */
const explainBudget = <A, E, R>(effect: Effect.Effect<A, E, R>, budget: Option.Option<string>) =>
  Effect.catchIf(
    effect,
    (e): e is E & Plan.BudgetError => e instanceof Plan.BudgetError,
    (e) =>
      new UsageError({
        detail: `--memory ${Option.getOrElse(budget, () => "")} is too small: ${e.detail}; try --memory ${sizeAtLeast(e.minimumBytes)}`
      })
  )

const runCommand = Command.make("run", { ...pipelineArgs, json, memory, mode }, (a) =>
  Effect.gen(function* () {
    const { program } = yield* setUp(a)
    const options = yield* planOptions(a.mode, a.memory)
    // Plan first: an impossible budget is refused before any output is created.
    yield* explainBudget(Plan.make(program, options), a.memory)
    const bar = progressBar("run")
    const result = yield* Run.run(program, { ...options, onProgress: bar.update, mode: a.mode }).pipe(Effect.ensuring(Effect.sync(bar.done)))
    const { throughput: t, from } = yield* throughput
    const predicted = Cost.costOf(result.plan, t, from)
    if (a.json) {
      yield* print(
        JSON.stringify({ output: a.output, plan: Plan.planJson(result.plan), predicted: Cost.costJson(predicted), metrics: metricsJson(result) }, null, 2)
      )
    } else {
      yield* print(
        `${metricsText(result)}\npredicted: read ${formatBytes(predicted.bytesRead)}, wrote ${predicted.bytesWrittenExact ? "" : "≈"}${formatBytes(predicted.bytesWritten)}, ` +
          `peak buffers ${formatBytes(predicted.peakBufferBytes)}, about ${formatMs(predicted.estimatedSeconds * 1000)}\nwrote ${a.output}`
      )
    }
  })
).pipe(Command.withDescription("run the steps over the input and write the output"))

const planCommand = Command.make("plan", { ...pipelineArgs, json, memory, mode }, (a) =>
  Effect.gen(function* () {
    const { program } = yield* setUp(a)
    const plan = yield* explainBudget(Plan.make(program, yield* planOptions(a.mode, a.memory)), a.memory)
    yield* print(a.json ? JSON.stringify(Plan.planJson(plan), null, 2) : Plan.planText(plan))
  })
).pipe(Command.withDescription("print the plan (passes, stages, latencies, rings) without reading any voxel"))

/** The calibrated throughputs (Schema is loaded only by the commands that read them). */
const throughput = Effect.flatMap(
  Effect.promise(() => import("../interpreters/cost/calibration.js")),
  (m) => m.loadThroughput()
)

const costCommand = Command.make("cost", { ...pipelineArgs, json, memory, mode }, (a) =>
  Effect.gen(function* () {
    const { program } = yield* setUp(a)
    const { throughput: t, from } = yield* throughput
    const options = yield* planOptions(a.mode, a.memory)
    const cost = yield* explainBudget(Cost.estimate(program, { ...options, throughput: t, throughputFrom: from }), a.memory)
    yield* print(a.json ? JSON.stringify(Cost.costJson(cost), null, 2) : Cost.costText(cost))
  })
).pipe(Command.withDescription("the dry run: bytes read and written, amplification, buffers and voxel-ops, without reading any voxel"))

const infoCommand = Command.make("info", { input, inputFlags: inputOptions, json }, (a) =>
  Effect.gen(function* () {
    const s = yield* openSource(a.input, sourceOptions(a.inputFlags))
    const facts = {
      path: s.path,
      format: s.format,
      dtype: s.info.dtype,
      shape: s.info.shape,
      spacing: s.info.spacing,
      bytes: volumeBytes(s.info),
      ...s.details
    }
    if (a.json) return yield* print(JSON.stringify(facts, null, 2))
    yield* print(
      [
        `${s.path}: ${s.format}`,
        `  dtype    ${s.info.dtype}`,
        `  shape    ${shapeText(s.info.shape)} (z×y×x)`,
        `  spacing  ${s.info.spacing.join(" × ")}`,
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

const calibrateCommand = Command.make("calibrate", { size, json }, (a) =>
  Effect.gen(function* () {
    const bytes = parseSize(a.size)
    if (bytes === undefined || bytes <= 0) return yield* new UsageError({ detail: `--size ${a.size} is not a size (try 256MiB)` })
    const { runCalibrate } = yield* Effect.promise(() => import("./calibrate.js"))
    yield* runCalibrate(bytes, a.json)
  })
).pipe(Command.withDescription("measure this machine's read, write and compute throughputs for the cost estimate, and store them"))

const cli = Command.make("slicewise").pipe(
  Command.withDescription("stream 3D images slice by slice"),
  Command.withSubcommands([runCommand, planCommand, costCommand, infoCommand, calibrateCommand, demoCommand])
)

const main = Command.run(cli, { name: "slicewise", version: VERSION })

/** One line for a failure: typed errors carry their own message. */
const describeFailure = (cause: Cause.Cause<unknown>): string | undefined => {
  const failure = Cause.failureOption(cause)
  if (Option.isSome(failure)) {
    const e = failure.value
    if (ValidationError.isValidationError(e)) return undefined // @effect/cli has printed it
    if (e instanceof Error) return e.message
    return String(e)
  }
  if (Cause.isInterruptedOnly(cause)) return "interrupted"
  const defect = Cause.squash(cause)
  return `internal error: ${defect instanceof Error ? defect.message : String(defect)} (set SLICEWISE_DEBUG=1 for details)`
}

const fiber = Effect.runFork(main(process.argv).pipe(Effect.provide(NodeContext.layer)))
const interrupt = () => Effect.runFork(Fiber.interrupt(fiber))
process.once("SIGINT", interrupt)
process.once("SIGTERM", interrupt)
Effect.runPromise(Fiber.await(fiber)).then((exit) => {
  if (Exit.isSuccess(exit)) return
  const line = describeFailure(exit.cause)
  if (line !== undefined) process.stderr.write(`slicewise: ${line}\n`)
  if (process.env.SLICEWISE_DEBUG) process.stderr.write(`${Cause.pretty(exit.cause)}\n`)
  process.exitCode = Cause.isInterruptedOnly(exit.cause) ? 130 : 1
})
