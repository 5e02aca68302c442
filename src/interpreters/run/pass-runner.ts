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
import type { DType } from "../../algebra/dtype.js"
import type { Accumulator } from "../../algebra/kernel.js"
import type { SliceReader, SliceSource, SliceWriter } from "../../algebra/slices.js"
import type { Node, ScalarNode, WriteNode } from "../plan/graph.js"
import type { PassPlan } from "../plan/types.js"
import type { TimeMeter } from "./metrics.js"
import type { ResumeOptions, RestartPoint, RunJournal } from "./resume.js"
import type { PassMetrics, Progress, RunError } from "./result.js"

/** What the harness needs of an executor's options: a progress callback, per tick of a pass. */
export interface ProgressOptions {
  readonly onProgress?: (p: Progress) => void
  /** Journal the run and continue an interrupted one (resume.ts). */
  readonly resume?: ResumeOptions | undefined
  /** Without `resume`: a journal left by an interrupted run, discarded once the writers hold their locks. */
  readonly staleJournal?: string | undefined
  /** Set by the harness, for each pass of a journaled run: where it restarts, and its journal. */
  readonly restart?: PassRestart | undefined
}

/** A journaled pass: where it (re)starts, and the journal that records its writes. */
export interface PassRestart {
  readonly point: RestartPoint
  readonly journal: RunJournal
}

/** The figures every executor keeps per stage and pass (keyed "pass:id"). */
export interface StageMeter extends TimeMeter {
  bytesRead: number
  bytesWritten: number
}

/** The meter of node n in `pass`, made by `make` on first use (keyed "pass:id"). */
export const meterLookup =
  <M>(pass: PassPlan, meters: Map<string, M>, make: () => M) =>
  (n: Node): M => {
    const key = `${pass.index}:${n.id}`
    let m = meters.get(key)
    if (m === undefined) {
      m = make()
      meters.set(key, m)
    }
    return m
  }

/** What a pass gives back: its figures and the values of the reductions it made. */
export interface PassOutcome {
  readonly metrics: PassMetrics
  readonly reduced: ReadonlyMap<ScalarNode, unknown>
}

/** The outcome of a pass whose ticks have run since `started` (a performance.now() value). */
export const passOutcome = (
  pass: PassPlan,
  accumulators: ReadonlyMap<ScalarNode, Accumulator<DType, unknown>>,
  started: number,
  peakBufferBytes: number
): PassOutcome => {
  const reduced = new Map<ScalarNode, unknown>()
  for (const [n, acc] of accumulators) reduced.set(n, acc.result())
  // An unfused pass has no ticks of its own: the plan's, for comparison with the fused run.
  return { metrics: { index: pass.index, direction: pass.direction, ticks: pass.ticks, wallMs: performance.now() - started, peakBufferBytes }, reduced }
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
) => Effect.Effect<PassOutcome, RunError>
