/**
 * What an executor hands the harness (harness.ts) to run one pass, and the figures it keeps: the
 * contract between the harness, banded passes (bands.ts) and the fused and unfused executors.
 *
 * @example
 * ```ts
 * const runPass: PassRunner<StageMeter, ProgressOptions> = (pass, readers, writers, scalarValue, meters, options, passCount) => …
 * ```
 */
import type * as Effect from "effect/Effect"
import type { SliceReader, SliceSource, SliceWriter } from "../../algebra/slices.js"
import type { ScalarNode, WriteNode } from "../plan/graph.js"
import type { PassPlan } from "../plan/types.js"
import type { TimeMeter } from "./metrics.js"
import type { PassMetrics, Progress, RunError } from "./result.js"

/** What the harness needs of an executor's options: a progress callback, per tick of a pass. */
export interface ProgressOptions {
  readonly onProgress?: (p: Progress) => void
}

/** The figures every executor keeps per stage and pass (keyed "pass:id"). */
export interface StageMeter extends TimeMeter {
  bytesRead: number
  bytesWritten: number
}

/** Runs one pass; returns its figures and the values of the reductions it made. */
export type PassRunner<M extends StageMeter, O> = (
  pass: PassPlan,
  readers: ReadonlyMap<SliceSource, SliceReader>,
  writers: ReadonlyMap<WriteNode, SliceWriter>,
  scalarValue: (n: ScalarNode) => unknown,
  meters: Map<string, M>,
  options: O,
  passCount: number
) => Effect.Effect<{ readonly metrics: PassMetrics; readonly reduced: ReadonlyMap<ScalarNode, unknown> }, RunError>
