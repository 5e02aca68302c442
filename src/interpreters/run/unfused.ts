/**
 * The unfused executor: one Effect Stream stage per algebra node, `Stream.broadcast` for tees.
 * It takes the same programs and gives the same results as `Run.run` (the fused, tick-driven
 * executor), and exists as a second, independent reading of the plan: the spec's `unfused` mode,
 * a reference for the fused one, and a measure of what the fusion buys.
 *
 * The program is planned with no optimising rewrite (one stage per node; the `spill` rewrite, which
 * some programs need, is always applied), and the plan's passes run one after another in its
 * order and direction. Within a pass every volume node is a Stream of `{ z, data }` slices in pass
 * order:
 *
 * - a source reads its slices with its reader, each into a new buffer;
 * - a pointwise node zips its input streams and runs the compiled loop into a new buffer;
 * - a window or sweep keeps the input slices its kernel still needs and emits outputs in order;
 * - a node read by several consumers is broadcast, with a lag sized from the plan's latencies
 *   (`broadcastLags`), so that branches of different latency zipped again cannot deadlock;
 * - writes and reductions consume their input streams; all of them run concurrently, and they pull
 *   the whole pass through the broadcasts.
 *
 * Readers open when a pass first needs them (a spill exists only after the pass that writes it),
 * writers are created up front; all live in one Scope, so files close and unfinished outputs are
 * removed on success, failure and interruption. Outputs are committed after the last pass.
 *
 * Buffers are measured, not taken from the plan: every slice is reference-counted from its birth to
 * its last consumer (see `unfused/stages.ts`), so `peakBufferBytes` is the most slice bytes the
 * streams really held at once, plus kernel scratch. Unlike the fused run's rings it is not bounded
 * by the plan's `bufferBytes`: broadcasts let branches run ahead by up to their lag.
 *
 * @example
 * ```ts
 * const fused = yield* Run.run(program)
 * const unfused = yield* runUnfused(program)   // same voxels, one stream stage per node
 * ```
 */
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import type { Program } from "../../algebra/algebra.js"
import type { DType } from "../../algebra/dtype.js"
import type { Accumulator } from "../../algebra/kernel.js"
import type { SliceReader, SliceSource, SliceWriter } from "../../algebra/slices.js"
import type { ScalarNode, VolumeNode, WriteNode } from "../plan/graph.js"
import type { PassPlan } from "../plan/passes.js"
import * as Plan from "../plan/index.js"
import { runPlanned } from "./harness.js"
import { meterLookup, passOutcome, type PassRunner } from "./pass-runner.js"
import type { RunError, RunOptions, RunResult } from "./result.js"
import {
  broadcastLags,
  newMeter,
  pointwiseStage,
  release,
  sourceStage,
  windowStage,
  type Meter,
  type PassContext,
  type Slice
} from "./unfused/stages.js"
import { timed, timedEffect } from "./metrics.js"

export { BROADCAST_MARGIN, broadcastLags } from "./unfused/stages.js"

export interface UnfusedOptions extends RunOptions {
  /**
   * Slices each broadcast may buffer beyond the plan's bound (default BROADCAST_MARGIN). For
   * tests: below 0 a zip of branches of different latency can deadlock.
   */
  readonly broadcastMargin?: number
}

/** Consumer edges of every volume node of the pass (stages and roots). */
const consumerCounts = (pass: PassPlan): Map<VolumeNode, number> => {
  const counts = new Map<VolumeNode, number>()
  const add = (n: VolumeNode) => counts.set(n, (counts.get(n) ?? 0) + 1)
  for (const sp of pass.stages) {
    const n = sp.node
    if (n.kind === "pointwise") n.inputs.forEach(add)
    else if (n.kind === "window") add(n.input)
  }
  for (const r of pass.roots) add(r.input)
  return counts
}

/** A stream of each volume of the pass per consumer edge; `take` hands out the next one of a node. */
const stageStreams = (ctx: PassContext, readers: ReadonlyMap<SliceSource, SliceReader>, lags: ReadonlyMap<VolumeNode, number>) =>
  Effect.gen(function* () {
    const branches = new Map<VolumeNode, Array<Stream.Stream<Slice, RunError>>>()
    const take = (n: VolumeNode): Stream.Stream<Slice, RunError> => {
      const s = branches.get(n)?.pop()
      if (s === undefined) throw new Error(`internal (unfused run): no stream left for #${n.id} ${n.label}`)
      return s
    }
    for (const sp of ctx.pass.stages) {
      const node = sp.node
      ctx.meterOf(node)
      const stream =
        node.kind === "source"
          ? sourceStage(ctx, sp, readers.get(node.source)!)
          : node.kind === "pointwise"
            ? pointwiseStage(ctx, sp, node.inputs.map(take))
            : windowStage(ctx, sp, take(node.input))
      const n = ctx.consumers.get(node) ?? 0
      if (n <= 1) {
        branches.set(node, [stream])
        continue
      }
      // Stream.broadcast, taking one slice at a time: one element per chunk in, so that the lag
      // counts slices, and one per pull out (Stream.broadcast's own branches take everything
      // queued at once, which lets a fast branch hold a whole lag of slices in a zip while the
      // queue fills again). The upstream starts now, in the pass's scope, and waits whenever
      // the slowest branch is `lag` slices behind.
      const queues = yield* Stream.broadcastedQueues(Stream.rechunk(stream, 1), n, lags.get(node)!)
      branches.set(
        node,
        queues.map((q) => Stream.flattenTake(Stream.fromQueue(q, { maxChunkSize: 1, shutdown: true })))
      )
    }
    return take
  })

/** Drains a root's stream: into its writer, or into its reduction's accumulator (added to `accumulators`). */
const drainRoot = (
  ctx: PassContext,
  r: PassPlan["roots"][number],
  input: Stream.Stream<Slice, RunError>,
  writers: ReadonlyMap<WriteNode, SliceWriter>,
  accumulators: Map<ScalarNode, Accumulator<DType, unknown>>,
  progressed: () => void
): Effect.Effect<void, RunError> => {
  const m = ctx.meterOf(r)
  if (r.kind === "write") {
    const writer = writers.get(r)!
    return Stream.runForEach(input, (slice) =>
      Effect.suspend(() => {
        const before = writer.bytesWritten()
        return Effect.map(timedEffect(m, writer.write(slice.z, slice.data)), () => {
          m.bytesWritten += writer.bytesWritten() - before
          release(ctx, slice)
          progressed()
        })
      })
    )
  }
  const acc = r.reducer.start(r.input.info)
  accumulators.set(r, acc)
  return Stream.runForEach(input, (slice) =>
    Effect.sync(() => {
      timed(m, () => acc.add(slice.data, slice.z))
      release(ctx, slice)
      progressed()
    })
  )
}

/** Runs one pass; returns its metrics and the values of its reductions. */
const runPass: PassRunner<Meter, UnfusedOptions> = (pass, readers, writers, scalarValue, meters, options, passCount) =>
  // The pass's own scope holds its broadcasts' fibers: they end with the pass, or with its failure.
  Effect.scoped(
    Effect.gen(function* () {
      const started = performance.now()
      const meterOf = meterLookup(pass, meters, newMeter)
      const ctx: PassContext = { pass, consumers: consumerCounts(pass), meterOf, scalarValue, live: { bytes: 0, peak: 0 } }
      const take = yield* stageStreams(ctx, readers, broadcastLags(pass, options.broadcastMargin))
      const totalSlices = pass.roots.reduce((a, r) => a + r.input.info.shape[0], 0)
      let done = 0
      const progressed = () => options.onProgress?.({ pass: pass.index, passes: passCount, tick: ++done, ticks: totalSlices })
      const accumulators = new Map<ScalarNode, Accumulator<DType, unknown>>()
      const sinks = pass.roots.map((r) => drainRoot(ctx, r, take(r.input), writers, accumulators, progressed))
      yield* Effect.all(sinks, { concurrency: "unbounded", discard: true })
      let scratch = 0
      for (const sp of pass.stages) scratch += meterOf(sp.node).scratchBytes
      return passOutcome(pass, accumulators, started, ctx.live.peak + scratch)
    })
  )

/**
 * Plans `program` with one stage per node and runs it as one Effect Stream stage per node. Same
 * inputs, outputs and resource guarantees as `Run.run`.
 */
export const runUnfused = (program: Program, options: UnfusedOptions = {}): Effect.Effect<RunResult, RunError> =>
  // No optimising rewrite: the graph keeps one node per algebra call (spills are still made).
  runPlanned(Plan.make(program, { ...options, rewrites: [], threads: 1 }), options, runPass, (m: Meter) => m.peakLiveBytes + m.scratchBytes)
