/**
 * How row threads share a kernel's slice, and the scratch that costs: one rule for the planner,
 * which counts the bytes, and the run interpreter, which splits (run/stage.ts).
 *
 * A step is split only when its slice is worth it: at least `minSplitOps` voxel-ops (the cost
 * model's count), since handing rows over and waiting for them costs a round trip between threads
 * each time (11 µs: `node --expose-gc bench/row-threads.mjs`, docs/BENCHMARKS.md "Row threads");
 * a threshold on a 512² slice (2¹⁸ voxel-ops) stays below it, a gaussian pass is above.
 *
 * A kernel with a recipe and local in-plane work is split. With no y halo, each thread runs it
 * prepared for its own band of rows ("band": the scratch of the bands adds up to about one
 * slice's); otherwise each thread holds a whole-slice kernel and computes its rows with
 * `computeRows` ("rows": the scratch times the threads).
 *
 * @example
 * ```ts
 * splitMode(gaussianY, info, { threads: 2, minSplitOps: DEFAULT_MIN_SPLIT_OPS })   // "rows" on a large slice
 * kernelScratchBytes(gaussianY, info, { threads: 2, minSplitOps: 0 })            // twice its scratch
 * ```
 */
import type { DType } from "../../algebra/dtype.js"
import type { WindowKernel } from "../../algebra/kernel.js"
import { opCount, usesLookup } from "../../algebra/expr.js"
import { sliceLength, type VolumeInfo } from "../../algebra/volume.js"
import type { PointwiseNode, WindowNode } from "./graph.js"
import { inputInfo } from "./rewrites/fuse-chain.js"
import type { Plan, Threads } from "./types.js"

export type { Threads } from "./types.js"

export type SplitMode = "rows" | "band"

/** The rows of part k of `height` rows split `parts` ways, as even as can be (part 0: the caller's). */
export const partRows = (height: number, parts: number, k: number): readonly [number, number] => [
  Math.floor((k * height) / parts),
  Math.floor(((k + 1) * height) / parts)
]

/**
 * About half a millisecond of work at the cost model's default rate: 2¹⁹ voxel-ops. uniform's y and
 * x passes on 512² slices reach it (splitting them took uniform size 3 at 512³ from 2.40 to 1.95 s:
 * `bash bench/before-after.sh`, docs/BENCHMARKS.md "The matrix at 512³ uint8, with row threads");
 * a threshold does not.
 */
export const DEFAULT_MIN_SPLIT_OPS = 2 ** 19

export const ONE_THREAD: Threads = { threads: 1, minSplitOps: DEFAULT_MIN_SPLIT_OPS }

/** Whether a step of `opsPerVoxel` over slices of `info` is split among `t`'s threads. */
export const worthSplitting = (opsPerVoxel: number, info: VolumeInfo, t: Threads): boolean =>
  t.threads > 1 && opsPerVoxel * sliceLength(info) >= t.minSplitOps

/** The most arrays a split step may hand a worker (its output and inputs: a window's slices). */
export const MAX_SPLIT_ARRAYS = 1024

/**
 * Whether a pointwise step is split among `t`'s threads: when its slice is worth it, unless it
 * reads a lookup table (which would be copied to every thread).
 */
export const pointwiseSplits = (node: PointwiseNode, t: Threads): boolean =>
  !usesLookup(node.expr) && node.inputs.length + 1 <= MAX_SPLIT_ARRAYS && worthSplitting(Math.max(1, opCount(node.expr)), node.info, t)

/** How threads share `kernel`'s slices of `input`; undefined when it runs on one thread. */
export const splitMode = (kernel: WindowKernel<DType, DType>, input: VolumeInfo, t: Threads): SplitMode | undefined => {
  if (kernel.recipe === undefined || kernel.inPlane === "global" || !worthSplitting(kernel.opsPerVoxel, input, t)) return undefined
  if (kernel.halo.z.before + kernel.halo.z.after + 2 > MAX_SPLIT_ARRAYS) return undefined
  return kernel.halo.y.before === 0 && kernel.halo.y.after === 0 ? "band" : "rows"
}

/** Scratch bytes of `kernel` over `input` run by `t`'s threads. */
export const kernelScratchBytes = (kernel: WindowKernel<DType, DType>, input: VolumeInfo, t: Threads): number => {
  const mode = splitMode(kernel, input, t)
  const threads = t.threads
  if (mode === undefined) return kernel.scratchBytes(input)
  if (mode === "rows") return threads * kernel.scratchBytes(input)
  const [depth, height, width] = input.shape
  let bytes = 0
  for (let k = 0; k < threads; k++) {
    const [start, end] = partRows(height, threads, k)
    bytes += kernel.scratchBytes({ ...input, shape: [depth, end - start, width] })
  }
  return bytes
}

/** A stage's own step and each fused tail step: its voxel-ops per voxel, and whether it is split. */
export const stageSteps = (
  node: PointwiseNode | WindowNode,
  t: Threads
): ReadonlyArray<{ readonly opsPerVoxel: number; readonly split: boolean }> =>
  [node, ...(node.fused?.tail ?? [])].map((m, j) => {
    if (m.kind === "pointwise") return { opsPerVoxel: Math.max(1, opCount(m.expr)), split: pointwiseSplits(m, t) }
    return { opsPerVoxel: m.kernel.opsPerVoxel, split: splitMode(m.kernel, j === 0 ? m.input.info : inputInfo(node, m), t) !== undefined }
  })

/** Whether any step of `plan` is split among threads (else a run needs no worker). */
export const anySplit = (plan: Plan): boolean =>
  plan.passes.some((whole) =>
    (whole.bands?.templates ?? [whole]).some((pass) =>
      pass.stages.some(({ node }) => node.kind !== "source" && stageSteps(node, pass.threads).some((s) => s.split))
    )
  )
