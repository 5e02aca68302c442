/**
 * `slicewise calibrate-tool elastix|transformix [--params affine|bspline|FILE]… [--sizes 32,64,128]
 * [--threads 1,2] [--models FILE]`: measures an external tool's peak memory on synthetic images at
 * a few sizes and thread counts, fits peak = base + bytes/voxel · voxels (+ bytes/thread ·
 * threads), stores the samples in the tool-model store (src/jobs/exec/tool-model-store.ts) where
 * register and warp jobs with the same parameter files find them, and prints what it measured
 * beside what the model now predicts. Not `calibrate`, which measures slicewise's own throughputs.
 *
 * @example
 * ```sh
 * slicewise calibrate-tool elastix --params affine --sizes 32,64,128 --threads 1,2
 * slicewise calibrate-tool transformix --params bspline --models /shared/tool-models.json
 * ```
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Effect from "effect/Effect"
import * as nodePath from "node:path"
import { UsageError } from "../jobs/errors.js"
import type { Calibration, CalibrationRow } from "../jobs/exec/calibrate-tool.js"

const MiB = 2 ** 20
const mib = (b: number) => `${(b / MiB).toFixed(1)} MiB`

/** "32,48,64" as positive integers, or a UsageError naming the option. */
const positiveList = (text: string, option: string): Effect.Effect<ReadonlyArray<number>, UsageError> => {
  const xs = text.split(",").map((s) => Number(s.trim()))
  return xs.every((x) => Number.isInteger(x) && x > 0)
    ? Effect.succeed(xs)
    : Effect.fail(new UsageError({ detail: `${option} ${text}: give positive integers separated by commas, e.g. 32,48,64` }))
}

/** The table of runs and the fitted coefficients, as markdown (docs/BATCH.md quotes it). */
export const calibrationText = (c: Calibration, predict: (voxels: number, threads: number) => number, fitted: (voxels: number, threads: number) => number): string => {
  const m = c.model
  const lines = [
    `${c.ref.entry.tool} ${c.ref.entry.params} (model ${c.ref.entry.key} in ${c.ref.path})`,
    "",
    "| size | voxels | threads | measured peak | fitted | predicted | wall |",
    "| --- | --- | --- | --- | --- | --- | --- |",
    ...c.rows.map(
      (r: CalibrationRow) =>
        `| ${r.size}³ | ${r.voxels} | ${r.threads} | ${mib(r.peakBytes)} | ${mib(fitted(r.voxels, r.threads))} | ${mib(predict(r.voxels, r.threads))} | ${(r.wallMs / 1000).toFixed(2)} s |`
    ),
    ""
  ]
  if (m === undefined) return [...lines, "no peak was measured: no model"].join("\n")
  const perThread = m.bytesPerThread > 0 ? ` + ${mib(m.bytesPerThread)} · threads` : " (no thread term: the measurements show none)"
  return [
    ...lines,
    `fit over ${m.samples} samples: ${mib(m.baseBytes)} + ${m.bytesPerVoxel.toFixed(2)} B · voxels${perThread}; largest residual ${mib(m.maxResidualBytes)}`,
    "predicted = 1.25 × fitted, and at least the largest peak measured at a size ≤ the job's"
  ].join("\n")
}

const run = (a: { readonly tool: "elastix" | "transformix"; readonly params: ReadonlyArray<string>; readonly sizes: string; readonly threads: string; readonly models: { readonly _tag: string; readonly value?: string } }) =>
  Effect.gen(function* () {
    const sizes = yield* positiveList(a.sizes, "--sizes")
    const threads = yield* positiveList(a.threads, "--threads")
    const params = (a.params.length === 0 ? ["affine"] : a.params).map((p) => (p === "affine" || p === "bspline" ? p : nodePath.resolve(p)))
    // Loaded only when the command runs: elastix's job modules are not every command's.
    const [{ calibrateTool }, { modelsPath }, { predictPeak, fittedPeak }] = yield* Effect.promise(() =>
      Promise.all([import("../jobs/exec/calibrate-tool.js"), import("../jobs/exec/tool-model-store.js"), import("../jobs/exec/tool-model.js")])
    )
    const path = a.models.value === undefined ? modelsPath() : nodePath.resolve(a.models.value)
    const onRow = (r: CalibrationRow) => process.stderr.write(`calibrate-tool: ${a.tool} ${r.size}³, ${r.threads} thread(s): ${mib(r.peakBytes)} in ${(r.wallMs / 1000).toFixed(2)} s\n`)
    const c = yield* calibrateTool({ tool: a.tool, params, sizes, threads, modelsPath: path, onRow })
    const m = c.model
    const text = calibrationText(
      c,
      (v, t) => (m === undefined ? 0 : predictPeak(m, v, t)),
      (v, t) => (m === undefined ? 0 : fittedPeak(m, v, t))
    )
    yield* Effect.sync(() => process.stdout.write(`${text}\n`))
  })

export const calibrateToolCommand = Command.make(
  "calibrate-tool",
  {
    tool: Args.choice([["elastix", "elastix"], ["transformix", "transformix"]] as const, { name: "tool" }).pipe(
      Args.withDescription("the external tool: elastix (register jobs) or transformix (warp jobs)")
    ),
    params: Options.text("params").pipe(
      Options.repeated,
      Options.withDescription("elastix parameters, as a register job's: affine (default), bspline, or a parameter file; repeat to chain")
    ),
    sizes: Options.text("sizes").pipe(Options.withDefault("32,64,128"), Options.withDescription("cube sizes of the synthetic images (n for n³); the largest should not be far below your images, as the fit extrapolates")),
    threads: Options.text("threads").pipe(Options.withDefault("1,2"), Options.withDescription("thread counts to run at")),
    models: Options.text("models").pipe(
      Options.optional,
      Options.withDescription("the model store (default $SLICEWISE_MODELS, else ~/.cache/slicewise/tool-models.json)")
    )
  },
  (a) => run({ ...a, models: a.models._tag === "Some" ? { _tag: "Some", value: a.models.value } : { _tag: "None" } })
).pipe(Command.withDescription("measure elastix's or transformix's peak memory at a few sizes, fit and store the model register and warp jobs predict from"))
