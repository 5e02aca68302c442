/**
 * Predictions of an external tool's peak that learn from measurements: a job predicts from the
 * store's model of its tool and parameters (./tool-model-store.ts) when there is one, else from
 * the tool's built-in model; when it finishes, its measured peak is added to that model, so the
 * next prediction refits. This wraps a job's `run` effect, which batches and cluster runners both
 * execute, so both refine the same way.
 *
 * The store is a cache: one that cannot be read or written never fails a job. The problem is
 * logged once per file and process, and the built-in model is used.
 *
 * @example
 * ```ts
 * const ref = { entry: { key, tool: "elastix", params: "affine.txt" }, builtin: REGISTER_MODEL, path: modelsPath() }
 * const { bytes } = yield* predictTool(ref, voxels, threads)
 * const run = recordPeak(ref, voxels, threads, "job", runExternal(command))
 * ```
 */
import * as Effect from "effect/Effect"
import type { ExternalResult } from "../external.js"
import { appendSamples, lookupModel, modelsPath, type ModelEntry } from "./tool-model-store.js"
import { predictBytes, predictPeak, type MemoryModel } from "./tool-model.js"

/** Which store, and what its samples are (calibrate-tool's runs, or jobs'). */
export interface ModelOptions {
  /** Default: modelsPath() when the job is set up. */
  readonly modelsPath?: string
  /** Default "job". */
  readonly source?: "calibrate" | "job"
}

/** A job's model: its entry in the store and the built-in model to fall back on. */
export interface ToolModelRef {
  readonly entry: ModelEntry
  readonly builtin: MemoryModel
  readonly path: string
}

export const toolModelRef = (entry: ModelEntry, builtin: MemoryModel, options: ModelOptions = {}): ToolModelRef => ({
  entry,
  builtin,
  path: options.modelsPath ?? modelsPath()
})

const warned = new Set<string>()

/** Logs a store's problem once per file in this process: every job would otherwise repeat it. */
const warnOnce = (path: string, message: string): Effect.Effect<void> =>
  warned.has(path) ? Effect.void : Effect.zipRight(Effect.sync(() => warned.add(path)), Effect.logWarning(message))

/** The prediction for `voxels` on `threads`, and whether it came from the store or the built-in model. */
export const predictTool = (ref: ToolModelRef, voxels: number, threads: number): Effect.Effect<{ readonly bytes: number; readonly from: "stored" | "built-in" }> =>
  lookupModel(ref.path, ref.entry.key, ref.builtin.bytesPerVoxel).pipe(
    Effect.map((m) => (m === undefined ? { bytes: predictBytes(ref.builtin, voxels), from: "built-in" as const } : { bytes: predictPeak(m, voxels, threads), from: "stored" as const })),
    Effect.catchAll((e) => Effect.as(warnOnce(ref.path, `${e.message}; predicting from the built-in memory models`), { bytes: predictBytes(ref.builtin, voxels), from: "built-in" as const }))
  )

/** `run`, adding its measured peak to the store when it succeeds (a peak of 0, i.e. not measured, is not added). */
export const recordPeak = <E>(
  ref: ToolModelRef,
  voxels: number,
  threads: number,
  source: "calibrate" | "job",
  run: Effect.Effect<ExternalResult, E>
): Effect.Effect<ExternalResult, E> =>
  Effect.tap(run, (r) =>
    r.peakRssBytes <= 0
      ? Effect.void
      : appendSamples(ref.path, ref.entry, [{ voxels, threads, peakBytes: r.peakRssBytes, source }]).pipe(
          Effect.catchAll((e) => warnOnce(ref.path, `cannot record a measured peak (the job is not affected): ${e.message}`))
        )
  )
