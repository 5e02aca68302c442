/**
 * The per-slice work of one computing stage: its own result (a compiled pointwise loop, or a
 * window kernel over its input's ring), then, for a fused chain, each slice-local tail stage in
 * turn on two scratch slices that every step reuses.
 *
 * @example
 * ```ts
 * const compute = stageCompute(node, context)
 * compute(s, ring.slot(s))   // step s of the stage, into its ring
 * ```
 */
import { allocSlice, bytesPerVoxel, viewOf, type DType, type VoxelArray } from "../../algebra/dtype.js"
import * as E from "../../algebra/expr.js"
import type { PreparedKernel } from "../../algebra/kernel.js"
import { sliceLength } from "../../algebra/volume.js"
import type { PointwiseNode, ScalarNode, VolumeNode, WindowNode } from "../plan/graph.js"
import { inputInfo } from "../plan/rewrites/fuse-chain.js"
import { kernelWindow } from "../window.js"
import { compilePointwise } from "./compile.js"
import type { RingBuffer } from "./ring.js"

export interface StageContext {
  /** The ring holding a stage's outputs. */
  readonly ring: (n: VolumeNode) => RingBuffer
  /** The value of a scalar from an earlier pass. */
  readonly scalar: (n: ScalarNode) => unknown
  /** The z of step s in a volume of depth n, in this pass's direction. */
  readonly zOf: (depth: number, s: number) => number
}

/** Fills `out` with step s of the stage. */
export type StageCompute = (s: number, out: VoxelArray) => void

/** A pointwise loop over `node`'s inputs as given per call. */
const pointwiseLoop = (node: PointwiseNode, dtype: DType, ctx: StageContext) => {
  const loop = compilePointwise(node.expr, node.inputs.map((i) => i.info.dtype), dtype)
  // In the order the compiled loop indexes them (a stage may depend on more than it reads).
  const scalars = (E.scalarRefs(node.expr) as Array<ScalarNode>).map(ctx.scalar)
  const length = sliceLength(node.info)
  return (out: VoxelArray, inputs: ReadonlyArray<VoxelArray>) => loop(out, inputs, length, scalars)
}

/** The stage's own result, before any fused tail. */
const headCompute = (node: PointwiseNode | WindowNode, ctx: StageContext): StageCompute => {
  if (node.kind === "pointwise") {
    const run = pointwiseLoop(node, node.fused?.headOutput ?? node.info.dtype, ctx)
    const rings = node.inputs.map(ctx.ring)
    const buffers: Array<VoxelArray> = rings.map(() => new Uint8Array(0))
    return (s, out) => {
      for (let k = 0; k < rings.length; k++) buffers[k] = rings[k]!.get(s)
      run(out, buffers)
    }
  }
  const input = ctx.ring(node.input)
  const depth = node.input.info.shape[0]
  const prepared: PreparedKernel<DType, DType> = node.kernel.prepare(node.input.info)
  const w = kernelWindow(node.kernel, node.input.info, (zi) => input.get(ctx.zOf(depth, zi)))
  return (s, out) => {
    w.moveTo(ctx.zOf(depth, s))
    prepared.compute(w.window, out)
  }
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
  const scratch = bytes.map((b) => allocSlice("uint8", b).buffer as ArrayBuffer)
  const intermediates = types.map((d, j) => viewOf(d, scratch[j % 2]!, 0, length))
  const steps = tail.map((member, j): ((z: number, out: VoxelArray) => void) => {
    const input = intermediates[j]!
    if (member.kind === "pointwise") {
      const run = pointwiseLoop(member, member.info.dtype, ctx)
      const inputs = [input]
      return (_z, out) => run(out, inputs)
    }
    const info = inputInfo(node, member)
    const prepared: PreparedKernel<DType, DType> = member.kernel.prepare(info)
    const w = kernelWindow(member.kernel, info, () => input)
    return (z, out) => {
      w.moveTo(z)
      prepared.compute(w.window, out)
    }
  })
  const last = steps.length - 1
  return (s, out) => {
    head(s, intermediates[0]!)
    const z = ctx.zOf(depth, s)
    for (let j = 0; j <= last; j++) steps[j]!(z, j === last ? out : intermediates[j + 1]!)
  }
}
