/**
 * What the commands that run a program share: plan options from `--mode` and `--memory`, a budget
 * refusal that names a size that works, the calibrated throughputs, and running a program with a
 * progress bar and printing its measured figures (as text or JSON).
 *
 * @example
 * ```ts
 * const result = yield* runAndReport(program, { output: "out.nii.gz", mode: "fused", memory: Option.none(), threads: Option.none(), json: false })
 * ```
 */
import { availableParallelism } from "node:os"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { Program } from "../algebra/algebra.js"
import * as Cost from "../interpreters/cost/index.js"
import * as Plan from "../interpreters/plan/index.js"
import * as Run from "../interpreters/run/index.js"
import { formatBytes, formatMs, parseSize } from "../util/units.js"
import { UsageError } from "./errors.js"
import { progressBar } from "./progress.js"
import { metricsJson, metricsText } from "./report.js"

/** Writes `text` and a newline to stdout. */
export const print = (text: string) => Effect.sync(() => process.stdout.write(text.endsWith("\n") ? text : `${text}\n`))

/** A size a user can type that is at least `bytes`: "3.3MiB", "700KiB". */
export const sizeAtLeast = (bytes: number): string => {
  const [unit, factor] = bytes >= 2 ** 30 ? ["GiB", 2 ** 30] : bytes >= 2 ** 20 ? ["MiB", 2 ** 20] : ["KiB", 2 ** 10]
  return `${Math.ceil((bytes / factor) * 10) / 10}${unit}`
}

/** --threads, checked; default the number of CPUs. */
export const threadCount = (given: Option.Option<number>) =>
  Option.match(given, {
    onNone: () => Effect.succeed(availableParallelism()),
    onSome: (n) =>
      Number.isInteger(n) && n >= 1 && n <= 256
        ? Effect.succeed(n)
        : Effect.fail(new UsageError({ detail: `--threads must be an integer from 1 to 256, got ${n}` }))
  })

/** The plan options of a mode, a `--memory` budget and `--threads` (unfused runs on one thread). */
export const planOptions = (m: "fused" | "unfused", budget: Option.Option<string>, threads: Option.Option<number> = Option.none()) =>
  Effect.gen(function* () {
    const options: { rewrites?: ReadonlyArray<never>; memoryBytes?: number; threads: number } =
      m === "unfused" ? { rewrites: [], threads: 1 } : { threads: yield* threadCount(threads) }
    if (Option.isNone(budget)) return options as Plan.PlanOptions
    const bytes = parseSize(budget.value)
    if (bytes === undefined || bytes <= 0) {
      return yield* new UsageError({ detail: `--memory ${budget.value} is not a size (try 512MiB or 2GiB)` })
    }
    return { ...options, memoryBytes: bytes } as Plan.PlanOptions
  })

/** A BudgetError as the CLI says it: with a --memory value that works. */
export const explainBudget = <A, E, R>(effect: Effect.Effect<A, E, R>, budget: Option.Option<string>) =>
  Effect.catchIf(
    effect,
    (e): e is E & Plan.BudgetError => e instanceof Plan.BudgetError,
    (e) =>
      new UsageError({
        detail: `--memory ${Option.getOrElse(budget, () => "")} is too small: ${e.detail}; try --memory ${sizeAtLeast(e.minimumBytes)}`
      })
  )

/** The calibrated throughputs (Schema is loaded only by the commands that read them). */
export const throughput = Effect.flatMap(
  Effect.promise(() => import("../interpreters/cost/calibration.js")),
  (m) => m.loadThroughput()
)

export interface RunAndReport {
  /** What the program writes, for the last line. */
  readonly output: string
  readonly mode: "fused" | "unfused"
  readonly memory: Option.Option<string>
  readonly json: boolean
  /** Extra fields for the JSON result (e.g. the fusion method). */
  readonly extra?: Readonly<Record<string, unknown>>
  /** Where to write a profile of the run (--profile), if anywhere. */
  readonly profile?: Option.Option<string>
  /** Row threads (--threads); default: the number of CPUs. */
  readonly threads: Option.Option<number>
}

/**
 * Plans (refusing an impossible budget before any output is created), runs with a progress bar on
 * stderr, and prints the measured figures and the prediction, as `slicewise run` does.
 */
export const runAndReport = (program: Program, a: RunAndReport) =>
  Effect.gen(function* () {
    const options = yield* planOptions(a.mode, a.memory, a.threads)
    yield* explainBudget(Plan.make(program, options), a.memory)
    const bar = progressBar("run")
    const running = Run.run(program, { ...options, onProgress: bar.update, mode: a.mode }).pipe(Effect.ensuring(Effect.sync(bar.done)))
    // The profiler (and Schema) is loaded only when a profile is asked for.
    const result = yield* Option.match(a.profile ?? Option.none(), {
      onNone: () => running,
      onSome: (path) => Effect.flatMap(Effect.promise(() => import("./profile-run.js")), (m) => m.profileRun(running, { path, name: a.output, output: a.output }))
    })
    const { throughput: t, from } = yield* throughput
    const predicted = Cost.costOf(result.plan, t, from)
    if (a.json) {
      yield* print(
        JSON.stringify(
          { output: a.output, ...a.extra, plan: Plan.planJson(result.plan), predicted: Cost.costJson(predicted), metrics: metricsJson(result) },
          null,
          2
        )
      )
    } else {
      yield* print(
        `${metricsText(result)}\npredicted: read ${formatBytes(predicted.bytesRead)}, wrote ${predicted.bytesWrittenExact ? "" : "≈"}${formatBytes(predicted.bytesWritten)}, ` +
          `peak buffers ${formatBytes(predicted.peakBufferBytes)}, about ${formatMs(predicted.estimatedSeconds * 1000)}\nwrote ${a.output}`
      )
    }
    return result
  })
