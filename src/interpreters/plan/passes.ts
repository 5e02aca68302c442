/**
 * From a stage graph to a plan: passes, latencies, delay lines, ring sizes and buffer bytes.
 *
 * Passes. A scalar (a reduction) is known only after a whole pass over its input, so a stage that
 * uses one runs in a later pass; a stage needed by several passes is recomputed in each from the
 * sources, unless the spill-reuse rewrite (rewrites/reuse.ts) wrote it to a spill that the later
 * pass reads as a source. A backward sweep needs a pass that visits z downwards; every other stage
 * runs in either direction.
 *
 * @example
 * ```ts
 * const plan = planPasses(buildGraph(program))
 * plan.passes.length          // 2 for "otsu": histogram, then threshold
 * plan.peakBufferBytes        // the most slice buffer bytes any pass holds
 * ```
 */
import { bytesPerVoxel } from "../../algebra/dtype.js"
import type { SliceSink } from "../../algebra/slices.js"
import type { Direction } from "../../algebra/kernel.js"
import { sliceBytes, sliceLength } from "../../algebra/volume.js"
import { PlanError } from "./errors.js"
import type { Graph, Node, PointwiseNode, VolumeNode, WindowNode } from "./graph.js"
import { inputInfo } from "./rewrites/fuse-chain.js"
import { kernelScratchBytes, ONE_THREAD } from "./threads.js"
import { ringBlockBytes, ringCapacity, windowSteps, type Hold, type WindowSteps } from "./schedule.js"
import type { PassPlan, PassRoot, Plan, StagePlan, Threads } from "./types.js"

export type { PassPlan, PassRoot, Plan, StagePlan } from "./types.js"

/** The pass level at which each node's value becomes available. */
export const levels = (graph: Graph): Map<Node, number> => {
  const level = new Map<Node, number>()
  for (const n of graph.nodes) {
    switch (n.kind) {
      case "source":
        // A spill can be read only after the pass that writes it.
        level.set(n, n.spilledBy === undefined ? 0 : level.get(n.spilledBy.input)! + 1)
        break
      case "pointwise": {
        let l = 0
        for (const i of n.inputs) l = Math.max(l, level.get(i)!)
        for (const s of n.scalars) l = Math.max(l, level.get(s)!)
        level.set(n, l)
        break
      }
      case "window":
      case "write":
      case "derive":
        level.set(n, level.get(n.input)!)
        break
      case "reduce":
        // The scalar exists once the pass over its input has ended.
        level.set(n, level.get(n.input)! + 1)
        break
    }
  }
  return level
}

/** Volume ancestors of `root` (including itself when a volume), reached without crossing a scalar. */
export const volumeAncestors = (root: VolumeNode, into: Set<VolumeNode>): void => {
  if (into.has(root)) return
  into.add(root)
  if (root.kind === "pointwise") for (const i of root.inputs) volumeAncestors(i, into)
  else if (root.kind === "window") volumeAncestors(root.input, into)
}

export const sweepDirections = (nodes: Iterable<VolumeNode>): Set<Direction> => {
  const ds = new Set<Direction>()
  for (const n of nodes) if (n.kind === "window" && n.direction !== undefined) ds.add(n.direction)
  return ds
}

/**
 * Bytes of the two scratch slices a fused stage ping-pongs through: its own result and every tail
 * stage's but the last, alternately in slice A and slice B, each sized by its largest use; and its
 * tail's kernels' scratch.
 */
const tailScratchBytes = (n: PointwiseNode | WindowNode, threads: Threads): number => {
  if (n.fused === undefined) return 0
  const per = sliceLength(n.info)
  const sizes = [bytesPerVoxel(n.fused.headOutput), ...n.fused.tail.slice(0, -1).map((m) => bytesPerVoxel(m.info.dtype))]
  let a = 0
  let b = 0
  sizes.forEach((size, i) => (i % 2 === 0 ? (a = Math.max(a, size)) : (b = Math.max(b, size))))
  const kernels = n.fused.tail.reduce((sum, m) => sum + (m.kind === "window" ? kernelScratchBytes(m.kernel, inputInfo(n, m), threads) : 0), 0)
  return (a + b) * per + kernels
}

const scratchOf = (n: VolumeNode, threads: Threads): number => {
  if (n.kind === "source") return n.source.readerBufferBytes ?? 0
  if (n.kind === "pointwise") return tailScratchBytes(n, threads)
  return (
    tailScratchBytes(n, threads) +
    kernelScratchBytes(n.kernel, n.input.info, threads) +
    (n.kernel.mode === "constant" ? sliceBytes(n.input.info) : 0)
  )
}

/**
 * The tick at which a stage emits step 0: a source at once, a pointwise stage when its slowest input
 * has, a window when its input is `lookahead` steps further (`steps` of the window in the pass).
 */
export const stageLatency = (n: VolumeNode, latencyOf: (v: VolumeNode) => number, steps: WindowSteps | undefined): number => {
  switch (n.kind) {
    case "source":
      return 0
    case "pointwise":
      return Math.max(0, ...n.inputs.map(latencyOf))
    case "window":
      return latencyOf(n.input) + steps!.lookahead
  }
}

/** Every volume stage's latency, were the whole graph one pass in `direction` (for rewrites). */
export const latenciesIn = (nodes: ReadonlyArray<Node>, direction: Direction): Map<VolumeNode, number> => {
  const latency = new Map<VolumeNode, number>()
  for (const n of nodes) {
    if (n.kind !== "source" && n.kind !== "pointwise" && n.kind !== "window") continue
    const w = n.kind === "window" ? windowSteps(n.kernel.halo.z, n.kernel.mode, n.info.shape[0], direction) : undefined
    latency.set(n, stageLatency(n, (i) => latency.get(i)!, w))
  }
  return latency
}

/** The writes `sink` can have in flight (its `writesInFlight`), at least 1. */
const writesInFlightOf = (sink: SliceSink): number => {
  const n = sink.writesInFlight
  return n !== undefined && n >= 2 ? Math.floor(n) : 1
}

/**
 * With overlap, the ticks after which a pass's writes are awaited, and so the ticks a written step
 * stays in its ring after it is made: the fewest writes in flight its sinks allow (a TIFF stack's 2:
 * creating its next file, costly on ext4, overlaps the last slice's write), at most `most`.
 */
const passWritesBehind = (roots: ReadonlyArray<PassRoot>, most: number): number => {
  let fewest = most
  for (const r of roots) if (r.kind === "write") fewest = Math.min(fewest, writesInFlightOf(r.sink))
  return Number.isFinite(fewest) ? Math.max(1, fewest) : 1
}

/** Plans one pass: latencies, then ring capacities from every consumer's hold. */
export const planPass = (
  index: number,
  level: number,
  direction: Direction,
  roots: ReadonlyArray<PassRoot>,
  overlap: boolean,
  threads: Threads = ONE_THREAD,
  maxWritesBehind = Infinity
): PassPlan => {
  const members = new Set<VolumeNode>()
  for (const r of roots) volumeAncestors(r.input, members)
  const order = [...members].sort((a, b) => a.id - b.id)

  const latency = new Map<VolumeNode, number>()
  const steps = new Map<WindowNode, WindowSteps>()
  const holds = new Map<VolumeNode, Array<Hold>>()
  for (const n of order) holds.set(n, [])
  for (const n of order) {
    if (n.kind === "window" && n.direction !== undefined && n.direction !== direction) {
      throw new PlanError({ detail: `sweep #${n.id} ${n.label} runs ${n.direction} inside a ${direction} pass` })
    }
    const w = n.kind === "window" ? windowSteps(n.kernel.halo.z, n.kernel.mode, n.info.shape[0], direction) : undefined
    const l = stageLatency(n, (i) => latency.get(i)!, w)
    if (n.kind === "pointwise") for (const i of n.inputs) holds.get(i)!.push({ latency: l, suffixMin: undefined })
    if (n.kind === "window") {
      steps.set(n, w!)
      holds.get(n.input)!.push({ latency: l, suffixMin: w!.suffixMin })
    }
    latency.set(n, l)
  }
  const rootLatency = new Map<PassRoot, number>()
  const writesBehind = overlap ? passWritesBehind(roots, maxWritesBehind) : 0
  let writerBytes = 0
  for (const r of roots) {
    const l = latency.get(r.input)!
    rootLatency.set(r, l)
    // Write-behind: a sink is still writing step s during the next `writesBehind` ticks.
    holds.get(r.input)!.push({ latency: r.kind === "write" ? l + writesBehind : l, suffixMin: undefined })
    if (r.kind === "write") writerBytes += r.sink.writerBufferBytes?.(r.input.info) ?? 0
  }

  const haloZ = new Map<VolumeNode, readonly [number, number]>()
  let ticks = 0
  let bufferBytes = writerBytes
  const stages: Array<StagePlan> = order.map((n) => {
    const depth = n.info.shape[0]
    const l = latency.get(n)!
    // Read-ahead: a source makes step s a tick early, while the stages compute step s − 1.
    const made = overlap && n.kind === "source" ? l - 1 : l
    const ringSlices = Math.min(depth, ringCapacity(holds.get(n)!, depth, made))
    const ringBytes = ringBlockBytes(ringSlices, sliceBytes(n.info))
    const scratchBytes = scratchOf(n, threads)
    let halo: readonly [number, number] = [0, 0]
    if (n.kind === "pointwise") {
      for (const i of n.inputs) {
        const h = haloZ.get(i)!
        halo = [Math.max(halo[0], h[0]), Math.max(halo[1], h[1])]
      }
    } else if (n.kind === "window") {
      const h = haloZ.get(n.input)!
      halo = [h[0] + n.kernel.halo.z.before, h[1] + n.kernel.halo.z.after]
    }
    haloZ.set(n, halo)
    ticks = Math.max(ticks, depth + l)
    bufferBytes += ringBytes + scratchBytes
    return {
      node: n,
      latency: l,
      ringSlices,
      ringBytes,
      scratchBytes,
      steps: n.kind === "window" ? steps.get(n) : undefined,
      delays: n.kind === "pointwise" ? n.inputs.map((i) => l - latency.get(i)!) : [],
      haloZ: halo
    }
  })
  return { index, level, direction, roots, stages, rootLatency, ticks, bufferBytes, overlap, writesBehind, threads }
}

/**
 * Splits a graph into passes and plans each. Fails with a PlanError where a stage would need a
 * forward and a backward sweep in the same pass (that needs a spill).
 */
export const planPasses = (
  graph: Graph,
  options: { readonly overlap?: boolean; readonly threads?: Threads; readonly maxWritesBehind?: number } = {}
): Plan => {
  const level = levels(graph)
  const roots = graph.nodes.filter((n): n is PassRoot => n.kind === "reduce" || n.kind === "write")
  const groups = new Map<string, { level: number; direction: Direction; roots: Array<PassRoot> }>()
  for (const r of roots) {
    const ancestors = new Set<VolumeNode>()
    volumeAncestors(r.input, ancestors)
    const ds = sweepDirections(ancestors)
    if (r.kind === "reduce" && r.reducer.order !== undefined) ds.add(r.reducer.order)
    if (ds.size > 1) {
      // The spill rewrite removes every such conflict; reaching this is a planner bug.
      throw new PlanError({ detail: `internal: ${r.kind} #${r.id} ${r.label} depends on both a forward and a backward sweep` })
    }
    const direction: Direction = ds.has("backward") ? "backward" : "forward"
    const l = level.get(r.input)!
    const key = `${l}:${direction}`
    const g = groups.get(key) ?? { level: l, direction, roots: [] }
    g.roots.push(r)
    groups.set(key, g)
  }
  const ordered = [...groups.values()].sort(
    (a, b) => a.level - b.level || (a.direction === b.direction ? 0 : a.direction === "forward" ? -1 : 1)
  )
  const passes = ordered.map((g, i) =>
    planPass(i, g.level, g.direction, g.roots, options.overlap ?? true, options.threads ?? ONE_THREAD, options.maxWritesBehind)
  )
  return { graph, passes, peakBufferBytes: Math.max(0, ...passes.map((p) => p.bufferBytes)) }
}
