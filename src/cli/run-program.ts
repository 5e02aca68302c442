/**
 * What the commands that run a program share: the calibrated throughputs, and running a program
 * within its budget (./budget.ts) with a progress bar, printing its measured figures (as text or
 * JSON).
 *
 * @example
 * ```ts
 * const result = yield* runAndReport(program, { output: "out.nii.gz", mode: "fused", memory: Option.none(), threads: Option.none(), json: false })
 * ```
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { Program } from "../algebra/algebra.js"
import * as Cost from "../interpreters/cost/index.js"
import * as Plan from "../interpreters/plan/index.js"
import * as Run from "../interpreters/run/index.js"
import { formatBytes, formatMs } from "../util/units.js"
import { journalName } from "../io/journal.js"
import { fitBudget, splitText, type BudgetFlags } from "./budget.js"
import { progressBar } from "./progress.js"
import { metricsJson, metricsText } from "./report.js"

/** Writes `text` and a newline to stdout. */
export const print = (text: string) => Effect.sync(() => process.stdout.write(text.endsWith("\n") ? text : `${text}\n`))

/** The calibrated throughputs; their module is loaded only by the commands that use them. */
export const throughput = Effect.flatMap(
  Effect.promise(() => import("../interpreters/cost/calibration.js")),
  (m) => m.loadThroughput()
)

export interface RunAndReport extends BudgetFlags {
  /** What the program writes, for the last line. */
  readonly output: string
  readonly json: boolean
  /** Extra fields for the JSON result (e.g. the fusion method). */
  readonly extra?: Readonly<Record<string, unknown>>
  /** Where to write a profile of the run (--profile), if anywhere. */
  readonly profile?: Option.Option<string>
  /** Journal the run, and continue an interrupted one (--resume). */
  readonly resume?: Run.ResumeOptions | undefined
}

/**
 * Plans (refusing an impossible budget before any output is created), runs with a progress bar on
 * stderr, and prints the measured figures and the prediction, as `slicewise run` does.
 */
export const runAndReport = (program: Program, a: RunAndReport) =>
  Effect.gen(function* () {
    const { options, split } = yield* fitBudget(program, a)
    const bar = progressBar("run")
    const running = Run.run(program, { ...options, onProgress: bar.update, mode: a.mode, ...(a.resume === undefined ? { staleJournal: journalName(a.output) } : { resume: a.resume }) }).pipe(
      Effect.ensuring(Effect.sync(bar.done))
    )
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
          { output: a.output, ...a.extra, ...(split === undefined ? {} : { memory: split }), plan: Plan.planJson(result.plan), predicted: Cost.costJson(predicted), metrics: metricsJson(result), ...(result.resumed === undefined ? {} : { resumed: result.resumed }) },
          null,
          2
        )
      )
    } else {
      if (split !== undefined) yield* print(splitText(split, result.plan.peakBufferBytes))
      if (result.resumed !== undefined) yield* print(resumedText(result.resumed, result.plan.passes.length))
      yield* print(
        `${metricsText(result)}\npredicted: read ${formatBytes(predicted.bytesRead)}, wrote ${predicted.bytesWrittenExact ? "" : "≈"}${formatBytes(predicted.bytesWritten)}, ` +
          `peak buffers ${formatBytes(predicted.peakBufferBytes)}, about ${formatMs(predicted.estimatedSeconds * 1000)}\n` +
          [...Plan.geometryNotes(result.plan.graph), `wrote ${a.output}`].join("\n")
      )
    }
    return result
  })

/**
 * The line of a resumed run: where it picked up and what it did again.
 *
 * @example
 * ```ts
 * resumedText({ pass: 1, slice: 40, kept: 140, verified: 64, redone: 3 }, 2)
 * // "resumed at slice 40 of pass 2 of 2 (140 slices kept, the last 64 read back and verified); redid 3 slices"
 * ```
 */
export const resumedText = (r: Run.ResumeReport, passes: number): string =>
  `resumed at slice ${r.slice} of pass ${r.pass + 1} of ${passes} (${r.kept} slices kept, the last ${r.verified} read back and verified); redid ${r.redone} slices`
