/**
 * The per-slice work of one computing stage: its own result (a compiled pointwise loop, or a
 * window kernel over its input's ring), then, for a fused chain, each slice-local tail stage in
 * turn on two scratch slices that every step reuses.
 *
 * With row threads (threads/pool.ts), every step that can be split is: its rows are shared out
 * among the threads, and the next step starts when all of them are done, as plan/threads.ts
 * decides for pointwise loops and kernels alike. Anything else runs on this thread.
 *
 * What a kernel throws, here or in a worker, is thrown on as a KernelError naming the stage and
 * the slice (the executor turns it into the run's failure); a pointwise loop's throw stays a defect.
 *
 * @example
 * ```ts
 * const compute = stageCompute(node, context)
 * compute(s, ring.slot(s))   // step s of the stage, into its ring
 * ```
 */
import { allocShared, allocSlice, bytesPerVoxel, viewOf, type ArrayOf, type DType, type VoxelArray } from "../../algebra/dtype.js"
import * as E from "../../algebra/expr.js"
import { KernelError, thrownMessage } from "../../algebra/kernel-error.js"
import type { PreparedKernel, SliceWindow, WindowKernel } from "../../algebra/kernel.js"
import { sliceLength, type VolumeInfo } from "../../algebra/volume.js"
import type { Node, PointwiseNode, ScalarNode, VolumeNode, WindowNode } from "../plan/graph.js"
import { inputInfo } from "../plan/rewrites/fuse-chain.js"
import { partRows, pointwiseSplits, splitMode, type Threads } from "../plan/threads.js"
import { kernelWindow, type KernelWindow } from "../window.js"
import { pointwiseFromSource, pointwiseSource } from "./compile.js"
import type { RingBuffer } from "./ring.js"
import { RowWorkerError, type RowThreads } from "./threads/pool.js"

export interface StageContext {
  /** The ring holding a stage's outputs. */
  readonly ring: (n: VolumeNode) => RingBuffer
  /** The value of a scalar from an earlier pass. */
  readonly scalar: (n: ScalarNode) => unknown
  /** The z of step s in a volume of depth n, in this pass's direction. */
  readonly zOf: (depth: number, s: number) => number
  /** Row threads to split steps across (rings and scratch are then in shared memory). */
  readonly threads?: RowThreads | undefined
  /** Which steps are worth splitting (the pass's plan: plan/threads.ts). */
  readonly split: Threads
  /**
   * Set in a journaled run: each sweep's prepared kernel is put here, for checkpoints of its state,
   * and sweeps then run on this thread (a split sweep's state would live in the workers).
   */
  readonly sweeps?: Map<Node, PreparedKernel<DType, DType>> | undefined
}

/** A stage as plans and metrics show it, and as a KernelError names it. */
export const stageName = (node: Node): string => `#${node.id} ${node.label}`

/** `kernel.prepare(info)` for `stage`; what it throws is the stage's KernelError. */
const prepareKernel = (kernel: WindowKernel<DType, DType>, info: VolumeInfo, stage: string): PreparedKernel<DType, DType> => {
  try {
    return kernel.prepare(info)
  } catch (e) {
    throw new KernelError({ stage, kernel: kernel.name, phase: "prepare", detail: thrownMessage(e), cause: e })
  }
}

/** What `kernel` threw (here or in a row worker) computing slice z of `stage`. */
const computeError = (kernel: WindowKernel<DType, DType>, stage: string, z: number, e: unknown): KernelError =>
  new KernelError({
    stage,
    kernel: kernel.name,
    phase: "compute",
    z,
    detail: e instanceof RowWorkerError ? e.detail : thrownMessage(e),
    cause: e
  })

/** Fills `out` with step s of the stage. */
export type StageCompute = (s: number, out: VoxelArray) => void

/** Allocation of buffers that threads may read: shared when there are threads. */
const allocFor = (ctx: StageContext): (<D extends DType>(d: D, length: number) => ArrayOf<D>) =>
  ctx.threads === undefined ? allocSlice : allocShared

/**
 * A pointwise loop over `node`'s inputs (of dtypes `inputs`) as given per call, its rows split
 * across threads if any. The dtypes are passed in: a fused tail member's input is the head's
 * result, whose node now describes the chain's output.
 */
const pointwiseLoop = (node: PointwiseNode, inputs: ReadonlyArray<DType>, dtype: DType, ctx: StageContext) => {
  const source = pointwiseSource(node.expr, inputs, dtype)
  const loop = pointwiseFromSource(source)
  // In the order the compiled loop indexes them (a stage may depend on more than it reads).
  const scalars = (E.scalarRefs(node.expr) as Array<ScalarNode>).map(ctx.scalar)
  const length = sliceLength(node.info)
  const threads = ctx.threads
  if (threads === undefined || !pointwiseSplits(node, ctx.split)) {
    return (out: VoxelArray, inputs: ReadonlyArray<VoxelArray>) => loop(out, inputs, length, scalars)
  }
  const [, height, width] = node.info.shape
  const step = threads.definePointwise(source, scalars, width)
  const arrays: Array<VoxelArray> = new Array(node.inputs.length + 1)
  const views: Array<VoxelArray> = new Array(node.inputs.length)
  return (out: VoxelArray, inputs: ReadonlyArray<VoxelArray>) => {
    arrays[0] = out
    for (let k = 0; k < inputs.length; k++) arrays[k + 1] = inputs[k]!
    threads.run(step, 0, height, arrays, (start, end) => {
      const a = start * width
      const b = end * width
      for (let k = 0; k < inputs.length; k++) views[k] = inputs[k]!.subarray(a, b)
      loop(out.subarray(a, b), views, b - a, scalars)
    })
  }
}

/**
 * Slice z of `kernel` over the window `w` (of input `info`) into `out`, its rows split across the
 * threads where the kernel allows it (see the module comment). `stage` names it in errors. With
 * `onPrepared`, the kernel runs on this thread only and `onPrepared` gets it once prepared.
 */
const kernelStep = (
  kernel: WindowKernel<DType, DType>,
  info: VolumeInfo,
  w: KernelWindow<DType>,
  ctx: StageContext,
  stage: string,
  onPrepared?: (prepared: PreparedKernel<DType, DType>) => void
): ((z: number, out: VoxelArray) => void) => {
  const threads = onPrepared === undefined ? ctx.threads : undefined
  const mode = threads === undefined ? undefined : splitMode(kernel, info, ctx.split)
  if (mode !== "band") {
    const prepared = prepareKernel(kernel, info, stage)
    onPrepared?.(prepared)
    const rows = prepared.computeRows
    if (mode === undefined || rows === undefined) {
      return (z, out) => {
        w.moveTo(z)
        try {
          prepared.compute(w.window, out)
        } catch (e) {
          throw computeError(kernel, stage, z, e)
        }
      }
    }
    const step = threads!.defineKernel(kernel.recipe!, info, "rows")
    const arraysOf = windowArrays(kernel, w)
    return (z, out) => {
      w.moveTo(z)
      try {
        threads!.run(step, z, info.shape[1], arraysOf(out), (start, end) => rows(w.window, out, start, end))
      } catch (e) {
        throw computeError(kernel, stage, z, e)
      }
    }
  }
  // No y halo: each thread runs the kernel prepared for its band, on views of the band's rows.
  const [, height, width] = info.shape
  const step = threads!.defineKernel(kernel.recipe!, info, "band")
  const [first, last] = partRows(height, threads!.count, 0)
  const mine = prepareKernel(kernel, { ...info, shape: [info.shape[0], last - first, width] }, stage)
  const arraysOf = windowArrays(kernel, w)
  const before = kernel.halo.z.before
  const views: Array<VoxelArray> = new Array(before + kernel.halo.z.after + 1)
  const bandWindow: SliceWindow<DType> = {
    get z() {
      return w.window.z
    },
    at: (dz) => views[dz + before]!
  }
  return (z, out) => {
    w.moveTo(z)
    try {
      const arrays = arraysOf(out)
      threads!.run(step, z, height, arrays, (start, end) => {
        for (let i = 0; i < views.length; i++) views[i] = arrays[i + 1]!.subarray(start * width, end * width)
        mine.compute(bandWindow, out.subarray(start * width, end * width))
      })
    } catch (e) {
      throw computeError(kernel, stage, z, e)
    }
  }
}

/**
 * The arrays of a split kernel job, in one array reused slice after slice: the output, then the
 * window's slices (at its current z) from the first offset to the last.
 */
const windowArrays = (kernel: WindowKernel<DType, DType>, w: KernelWindow<DType>) => {
  const { before, after } = kernel.halo.z
  const arrays = new Array<VoxelArray>(before + after + 2)
  return (out: VoxelArray): ReadonlyArray<VoxelArray> => {
    arrays[0] = out
    for (let dz = -before; dz <= after; dz++) arrays[dz + before + 1] = w.window.at(dz)
    return arrays
  }
}

/** The stage's own result, before any fused tail. */
const headCompute = (node: PointwiseNode | WindowNode, ctx: StageContext): StageCompute => {
  if (node.kind === "pointwise") {
    const run = pointwiseLoop(node, node.inputs.map((i) => i.info.dtype), node.fused?.headOutput ?? node.info.dtype, ctx)
    const rings = node.inputs.map(ctx.ring)
    const buffers: Array<VoxelArray> = rings.map(() => new Uint8Array(0))
    return (s, out) => {
      for (let k = 0; k < rings.length; k++) buffers[k] = rings[k]!.get(s)
      run(out, buffers)
    }
  }
  const input = ctx.ring(node.input)
  const depth = node.input.info.shape[0]
  const w = kernelWindow(node.kernel, node.input.info, (zi) => input.get(ctx.zOf(depth, zi)), allocFor(ctx))
  const sweeps = node.direction === undefined ? undefined : ctx.sweeps
  const onPrepared = sweeps === undefined ? undefined : (prepared: PreparedKernel<DType, DType>) => void sweeps.set(node, prepared)
  const step = kernelStep(node.kernel, node.input.info, w, ctx, stageName(node), onPrepared)
  return (s, out) => step(ctx.zOf(depth, s), out)
}

export const stageCompute = (node: PointwiseNode | WindowNode, ctx: StageContext): StageCompute => {
  const head = headCompute(node, ctx)
  if (node.fused === undefined) return head
  const { headOutput, tail } = node.fused
  const length = sliceLength(node.info)
  const depth = node.info.shape[0]
  // Intermediate j (0: the head's result, j: tail stage j-1's) lives in scratch A or B by parity.
  const types: Array<DType> = [headOutput, ...tail.slice(0, -1).map((m) => m.info.dtype)]
  const bytes = [0, 1].map((p) => Math.max(0, ...types.filter((_, j) => j % 2 === p).map(bytesPerVoxel)) * length)
  const alloc = allocFor(ctx)
  const scratch = bytes.map((b) => alloc("uint8", b).buffer as ArrayBuffer)
  const intermediates = types.map((d, j) => viewOf(d, scratch[j % 2]!, 0, length))
  const steps = tail.map((member, j): ((z: number, out: VoxelArray) => void) => {
    const input = intermediates[j]!
    const info = inputInfo(node, member)
    if (member.kind === "pointwise") {
      const run = pointwiseLoop(member, [info.dtype], member.info.dtype, ctx)
      const inputs = [input]
      return (_z, out) => run(out, inputs)
    }
    return kernelStep(member.kernel, info, kernelWindow(member.kernel, info, () => input, alloc), ctx, stageName(node))
  })
  const last = steps.length - 1
  return (s, out) => {
    head(s, intermediates[0]!)
    const z = ctx.zOf(depth, s)
    for (let j = 0; j <= last; j++) steps[j]!(z, j === last ? out : intermediates[j + 1]!)
  }
}
