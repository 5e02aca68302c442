/**
 * The stages of the unfused executor: one Effect Stream per algebra node, carrying whole slices.
 *
 * Slices are immutable once emitted: every stage writes its output into a NEW buffer, because the
 * streams of a pass run ahead of one another asynchronously (through `Stream.broadcast`) and a
 * shared, reused buffer would be overwritten while a slower branch still reads it.
 *
 * Live buffers are counted honestly by reference counting: a slice is born with one reference per
 * consumer edge of its node in the pass, and every consumer releases it when it is done with it
 * (a pointwise stage after its loop, a window when the slice leaves the window, a sink after the
 * write, a reduction after the fold). A slice sitting in a broadcast's queue is still live. So
 * `peak` is the most slice bytes the pipeline held at once (not counting what the garbage
 * collector has yet to reclaim, nor the kernels' scratch, which is added separately).
 *
 * @example
 * ```ts
 * const out = windowStage(ctx, stagePlan, sourceStage(ctx, sourcePlan, reader))
 * ```
 */
import * as Channel from "effect/Channel"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import { timed, timedEffect, type TimeMeter } from "../metrics.js"
import * as Stream from "effect/Stream"
import { allocSlice, bytesPerVoxel, type DType, type VoxelArray } from "../../../algebra/dtype.js"
import { KernelError, thrownMessage } from "../../../algebra/kernel-error.js"
import type { PreparedKernel } from "../../../algebra/kernel.js"
import { sliceLength } from "../../../algebra/volume.js"
import type { IoError } from "../../../algebra/io-errors.js"
import type { SliceReader } from "../../../algebra/slices.js"
import type { Node, PointwiseNode, ScalarNode, VolumeNode, WindowNode } from "../../plan/graph.js"
import type { PassPlan, StagePlan } from "../../plan/passes.js"
import { zOfStep } from "../../plan/schedule.js"
import { kernelWindow } from "../../window.js"
import { compilePointwise } from "../compile.js"
import { stageName } from "../stage.js"

/** A mutable metrics record of one stage in one pass. */
export interface Meter extends TimeMeter {
  bytesRead: number
  bytesWritten: number
  /** Bytes of this stage's output slices alive now, and at most. */
  liveBytes: number
  peakLiveBytes: number
  /** Kernel scratch and state (windows), as the plan counts it. */
  scratchBytes: number
}

export const newMeter = (): Meter => ({
  cpuUs: 0,
  wallMs: 0,
  slices: 0,
  bytesRead: 0,
  bytesWritten: 0,
  liveBytes: 0,
  peakLiveBytes: 0,
  scratchBytes: 0
})

/** One slice in flight: output step `step` (z = `z`) of a node. Never written after it is emitted. */
export interface Slice {
  readonly step: number
  readonly z: number
  readonly data: VoxelArray
  /** Consumer edges that have not released it yet. */
  refs: number
  readonly bytes: number
  readonly owner: Meter
}

/** What the stages of one pass share. */
export interface PassContext {
  readonly pass: PassPlan
  /** Consumer edges of each volume node in this pass (a zip reading x twice counts 2). */
  readonly consumers: ReadonlyMap<VolumeNode, number>
  readonly meterOf: (n: Node) => Meter
  readonly scalarValue: (n: ScalarNode) => unknown
  /** Slice bytes alive in the whole pass, now and at most. */
  readonly live: { bytes: number; peak: number }
}

/** A new slice of `node`, counted live until each of its consumers has released it. */
const emit = (ctx: PassContext, node: VolumeNode, step: number, z: number, data: VoxelArray): Slice => {
  const refs = ctx.consumers.get(node) ?? 0
  const owner = ctx.meterOf(node)
  const bytes = refs > 0 ? data.length * bytesPerVoxel(node.info.dtype) : 0
  owner.liveBytes += bytes
  if (owner.liveBytes > owner.peakLiveBytes) owner.peakLiveBytes = owner.liveBytes
  ctx.live.bytes += bytes
  if (ctx.live.bytes > ctx.live.peak) ctx.live.peak = ctx.live.bytes
  return { step, z, data, refs, bytes, owner }
}

/** One consumer is done with `slice`. */
export const release = (ctx: PassContext, slice: Slice): void => {
  if (--slice.refs === 0) {
    slice.owner.liveBytes -= slice.bytes
    ctx.live.bytes -= slice.bytes
  }
}

const internal = (what: string): never => {
  throw new Error(`internal (unfused run): ${what}`)
}

/** A source: slices read by `reader` in pass order, each into a fresh buffer. */
export const sourceStage = (ctx: PassContext, sp: StagePlan, reader: SliceReader): Stream.Stream<Slice, IoError> => {
  const node = sp.node
  const depth = node.info.shape[0]
  const length = sliceLength(node.info)
  const meter = ctx.meterOf(node)
  return Stream.range(0, depth - 1).pipe(
    // mapEffect emits one element per chunk: a source never reads ahead of its consumer's pull.
    Stream.mapEffect((s) =>
      Effect.suspend(() => {
        const z = zOfStep(ctx.pass.direction, depth, s)
        const data = allocSlice(node.info.dtype, length)
        const before = reader.bytesRead()
        return Effect.map(timedEffect(meter, reader.read(z, data)), () => {
          meter.bytesRead += reader.bytesRead() - before
          return emit(ctx, node, s, z, data)
        })
      })
    )
  )
}

/** The zip of several streams, element by element (each zip pulls both sides concurrently). */
const zipAll = <E>(inputs: ReadonlyArray<Stream.Stream<Slice, E>>): Stream.Stream<ReadonlyArray<Slice>, E> => {
  let zipped: Stream.Stream<Array<Slice>, E> = Stream.map(inputs[0]!, (a) => [a])
  for (const next of inputs.slice(1)) zipped = Stream.zipWith(zipped, next, (as, b) => (as.push(b), as))
  return zipped
}

/** A pointwise node: its inputs zipped, then the compiled loop into a new slice. */
export const pointwiseStage = <E>(
  ctx: PassContext,
  sp: StagePlan,
  inputs: ReadonlyArray<Stream.Stream<Slice, E>>
): Stream.Stream<Slice, E> => {
  const node = sp.node as PointwiseNode
  const loop = compilePointwise(node.expr, node.inputs.map((i) => i.info.dtype), node.info.dtype)
  const length = sliceLength(node.info)
  const meter = ctx.meterOf(node)
  return Stream.suspend(() => {
    // Scalars come from earlier passes: known by the time this pass builds its streams.
    const scalars = node.scalars.map(ctx.scalarValue)
    const buffers: Array<VoxelArray> = inputs.map(() => new Uint8Array(0))
    return Stream.map(zipAll(inputs), (slices) => {
      const first = slices[0]!
      for (let k = 0; k < slices.length; k++) {
        if (slices[k]!.step !== first.step) internal(`zip #${node.id} joined steps ${slices.map((s) => s.step).join(", ")}`)
        buffers[k] = slices[k]!.data
      }
      const out = allocSlice(node.info.dtype, length)
      timed(meter, () => loop(out, buffers, length, scalars))
      // Counted before the inputs go: for a moment both are alive.
      const slice = emit(ctx, node, first.step, first.z, out)
      for (const s of slices) release(ctx, s)
      return slice
    })
  })
}

/**
 * A window or sweep node: a small channel that keeps the input slices its kernel still needs (by
 * input step), computes each output step as soon as the highest input step it reads has arrived,
 * and emits outputs in order. The boundary rule is the shared one (`kernelWindow`, fetching from
 * the held slices) and the steps each output reads are the plan's (`windowSteps`), so the stage
 * holds exactly the slices the fused run's ring would. A sweep is the same: its kernel keeps its
 * state and sees outputs in pass order, which is its direction (the planner guarantees it).
 * What the kernel throws (in `prepare` or `compute`) fails the stream with a KernelError.
 */
export const windowStage = <E>(
  ctx: PassContext,
  sp: StagePlan,
  input: Stream.Stream<Slice, E>
): Stream.Stream<Slice, E | KernelError> => {
  const node = sp.node as WindowNode
  const steps = sp.steps ?? internal(`window #${node.id} has no steps in its plan`)
  const depth = node.input.info.shape[0]
  const length = sliceLength(node.info)
  const direction = ctx.pass.direction
  const meter = ctx.meterOf(node)
  meter.scratchBytes = sp.scratchBytes
  const failure = (phase: "prepare" | "compute", e: unknown, z?: number) =>
    new KernelError({ stage: stageName(node), kernel: node.kernel.name, phase, z, detail: thrownMessage(e), cause: e })
  return Stream.suspend(() => {
    const held = new Map<number, Slice>()
    let prepared: PreparedKernel<DType, DType>
    try {
      prepared = node.kernel.prepare(node.input.info)
    } catch (e) {
      return Stream.fail(failure("prepare", e))
    }
    const w = kernelWindow(node.kernel, node.input.info, (zi) => {
      const s = held.get(zOfStep(direction, depth, zi))
      return s === undefined ? internal(`window #${node.id} ${node.label} read slice ${zi}, which it no longer holds`) : s.data
    })
    let received = 0 // input steps received so far (they arrive in order)
    let next = 0 // next output step
    let oldest = 0 // lowest input step possibly still held
    const drop = (below: number) => {
      for (; oldest < below; oldest++) {
        const s = held.get(oldest)
        if (s !== undefined) {
          held.delete(oldest)
          release(ctx, s)
        }
      }
    }
    // Pull-driven, one slice at a time: an output is computed when downstream pulls and its
    // inputs are here; otherwise one more input is taken. So the window holds what its kernel
    // needs and nothing queued behind it.
    let pending: Iterator<Slice> | undefined // the rest of the last input chunk
    const step = (): Channel.Channel<Chunk.Chunk<Slice>, Chunk.Chunk<Slice>, E | KernelError, E, unknown, unknown> => {
      if (next < depth && steps.hi[next]! < received) {
        const z = zOfStep(direction, depth, next)
        const data = allocSlice(node.info.dtype, length)
        w.moveTo(z)
        try {
          timed(meter, () => prepared.compute(w.window, data))
        } catch (e) {
          return Channel.fail(failure("compute", e, z))
        }
        const slice = emit(ctx, node, next, z, data)
        next++
        drop(steps.suffixMin[next]!)
        return Channel.zipRight(Channel.write(Chunk.of(slice)), Channel.suspend(step))
      }
      const more = pending?.next()
      if (more !== undefined && more.done !== true) {
        const s = more.value
        if (s.step !== received) internal(`window #${node.id} got step ${s.step}, expected ${received}`)
        held.set(received++, s)
        return step()
      }
      return Channel.readWithCause({
        onInput: (chunk: Chunk.Chunk<Slice>) => {
          pending = chunk[Symbol.iterator]()
          return step()
        },
        onFailure: (cause) => Channel.failCause(cause),
        onDone: () =>
          Channel.suspend(() => {
            if (next !== depth) internal(`window #${node.id} ended after ${next} of ${depth} outputs (${received} inputs)`)
            drop(depth)
            return Channel.void
          })
      })
    }
    const loop = Channel.suspend(step)
    return Stream.pipeThroughChannel(input, loop)
  })
}

/**
 * How many slices a broadcast of `node` may buffer for its slowest consumer.
 *
 * A broadcast's upstream publishes a slice only when every subscriber's queue has room, so the
 * queue must hold as many slices as one branch can be asked to run ahead of another. Branches
 * fork at `node` and meet again at a zip (or not at all). In the plan's tick schedule, `node`
 * emits step s at tick s + L(node) and a descendant d consumes it, through its own chain of
 * windows, no later than tick s + L(d); while one branch waits at a zip for the other (the zip's
 * `delays`), the fast branch has taken at most L(d) − L(node) more slices than the slow one. So the
 * plan's schedule is an execution in which no queue of this broadcast ever holds more than
 * reach − L(node) slices, reach being the largest latency among the node's descendants in the pass
 * (stages and roots). Stream stages between the fork and the join hold no extra slices of their
 * own (they are pull-based: a pointwise stage computes one slice when pulled; a window takes its
 * input as it needs it), so with at least that capacity the streams cannot wait on each other in
 * a cycle. Measured: a zip of a branch of latency 0 with one of latency 5 runs with exactly that
 * capacity (margin 0) and deadlocks with one slice less (test/interpreters/unfused.test.ts). The
 * margin is slack for what the argument does not model (a zip holding a chunk of its fast side
 * while it pulls the slow one, a rechunk's buffer); each unit costs one slice per broadcast.
 */
export const BROADCAST_MARGIN = 2

export const broadcastLags = (pass: PassPlan, margin: number = BROADCAST_MARGIN): Map<VolumeNode, number> => {
  const latency = new Map<VolumeNode, number>()
  for (const sp of pass.stages) latency.set(sp.node, sp.latency)
  const reach = new Map<VolumeNode, number>(latency)
  const raise = (n: VolumeNode, l: number) => {
    if (l > reach.get(n)!) reach.set(n, l)
  }
  for (const r of pass.roots) raise(r.input, pass.rootLatency.get(r)!)
  // Reverse topological order: consumers before producers.
  for (let i = pass.stages.length - 1; i >= 0; i--) {
    const n = pass.stages[i]!.node
    const l = reach.get(n)!
    if (n.kind === "pointwise") for (const x of n.inputs) raise(x, l)
    else if (n.kind === "window") raise(n.input, l)
  }
  const lags = new Map<VolumeNode, number>()
  for (const [n, l] of latency) lags.set(n, Math.max(1, reach.get(n)! - l + margin))
  return lags
}
