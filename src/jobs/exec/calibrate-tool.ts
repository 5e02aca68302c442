/**
 * Calibrates the memory model of elastix or transformix for a parameter set: makes synthetic
 * fixed and moving images (./blob-volume.ts) at a few cube sizes, runs the tool on them at a few
 * thread counts as register and warp jobs do (registerSetUp / warpSetUp, so the peak is measured
 * by the same runner, ./run-external.ts), stores every measured peak in the model store as a
 * calibration sample, and returns the measurements with the model refitted from the store.
 *
 * transformix needs a transform: each size is registered once (1 thread; those peaks go to
 * elastix's model too) and its transform applied, linearly, to the moving image.
 *
 * @example
 * ```ts
 * const c = yield* calibrateTool({ tool: "elastix", params: ["affine"], sizes: [32, 48], threads: [1, 2], modelsPath: "/tmp/m.json" })
 * c.rows.map((r) => [r.size, r.threads, r.peakBytes]); c.model?.bytesPerVoxel
 * ```
 */
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as nodePath from "node:path"
import { UsageError } from "../errors.js"
import { writeBlobVolume } from "./blob-volume.js"
import { paramFiles, registerModelRef, registerSetUp, transformChain, transformFile, warpModelRef, warpSetUp, type RegisterJob } from "./elastix.js"
import type { ToolModelRef } from "./learned-memory.js"
import { lookupModel } from "./tool-model-store.js"
import type { FittedModel } from "./tool-model.js"

export type CalibratedTool = "elastix" | "transformix"

export interface CalibrateOptions {
  readonly tool: CalibratedTool
  /** As a register job's `params`: affine, bspline or parameter files, in order. */
  readonly params: ReadonlyArray<string>
  /** Cube sizes (n of n³). */
  readonly sizes: ReadonlyArray<number>
  readonly threads: ReadonlyArray<number>
  readonly modelsPath: string
  /** Called after each run, for progress. */
  readonly onRow?: (row: CalibrationRow) => void
}

/** One measured run. */
export interface CalibrationRow {
  readonly size: number
  /** The voxels the model counts: fixed + moving (elastix) or input + output grid (transformix). */
  readonly voxels: number
  readonly threads: number
  readonly peakBytes: number
  readonly wallMs: number
}

export interface Calibration {
  readonly ref: ToolModelRef
  readonly rows: ReadonlyArray<CalibrationRow>
  /** The model refitted from all the store's samples of this tool and parameters (earlier ones too). */
  readonly model: FittedModel | undefined
}

/** The moving image's shift: a few voxels, growing with the size so that each size has a real registration to do. */
const shiftOf = (n: number): [number, number, number] => [Math.round(n / 32), Math.round(n / 16), -Math.round(n / 24)]

/** Runs an external job set up by `setUp`, timing it. */
const timed = <E>(setUp: Effect.Effect<{ readonly run: Effect.Effect<{ readonly peakRssBytes: number }, Error> }, E>) =>
  Effect.gen(function* () {
    const s = yield* setUp
    const t0 = performance.now()
    const r = yield* s.run
    return { peakBytes: r.peakRssBytes, wallMs: performance.now() - t0 }
  })

/** The measurements at one size, in `dir`. */
const calibrateSize = (o: CalibrateOptions, dir: string, n: number) =>
  Effect.gen(function* () {
    const at = (f: string) => nodePath.join(dir, `${n}-${f}`)
    yield* writeBlobVolume(at("fixed.nii.gz"), n)
    yield* writeBlobVolume(at("moving.nii.gz"), n, shiftOf(n))
    const models = { modelsPath: o.modelsPath, source: "calibrate" as const }
    const register = (threads: number, output: string) =>
      registerSetUp({ kind: "register", fixed: at("fixed.nii.gz"), moving: at("moving.nii.gz"), params: o.params as RegisterJob["params"], output, threads }, `calibrate-${n}-${threads}`, models)
    const rows: Array<CalibrationRow> = []
    if (o.tool === "transformix") yield* timed(register(1, at("reg")))
    for (const threads of o.threads) {
      const m =
        o.tool === "elastix"
          ? yield* timed(register(threads, at(`reg-${threads}`)))
          : yield* timed(
              warpSetUp({ kind: "warp", transform: at("reg"), input: at("moving.nii.gz"), output: at(`warped-${threads}.nii.gz`), interpolation: "linear", threads }, `calibrate-warp-${n}-${threads}`, models)
            )
      const row = { size: n, voxels: 2 * n ** 3, threads, ...m }
      rows.push(row)
      o.onRow?.(row)
    }
    return rows
  })

/** The store entry the runs of `o` go to (for transformix, found from the first size's transform). */
const refOf = (o: CalibrateOptions, dir: string): Effect.Effect<ToolModelRef, UsageError> => {
  if (o.tool === "elastix") return registerModelRef(paramFiles(o.params as RegisterJob["params"]), { modelsPath: o.modelsPath })
  const tp = transformFile(nodePath.join(dir, `${o.sizes[0]}-reg`))
  return Effect.succeed(warpModelRef(transformChain(tp, fs.readFileSync(tp, "utf8")), { modelsPath: o.modelsPath }))
}

/** Measures, stores and refits (see the module comment); the images and outputs go to a temporary directory, removed afterwards. */
export const calibrateTool = (o: CalibrateOptions): Effect.Effect<Calibration, Error> =>
  Effect.acquireUseRelease(
    Effect.sync(() => fs.mkdtempSync(nodePath.join(os.tmpdir(), "slicewise-calibrate-tool-"))),
    (dir) =>
      Effect.gen(function* () {
        if (o.params.length === 0 || o.sizes.length === 0 || o.threads.length === 0) {
          return yield* new UsageError({ detail: "calibrate-tool: give at least one parameter set, size and thread count" })
        }
        const rows: Array<CalibrationRow> = []
        for (const n of o.sizes) rows.push(...(yield* calibrateSize(o, dir, n)))
        const ref = yield* refOf(o, dir)
        const model = yield* lookupModel(o.modelsPath, ref.entry.key, ref.builtin.bytesPerVoxel)
        return { ref, rows, model }
      }),
    (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
  )
