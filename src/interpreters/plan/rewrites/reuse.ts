/**
 * Rewrite `spill-reuse`: a stage computed in one pass and needed again by a later one (after a
 * reduction) is either recomputed there, re-reading its sources, or written to a spill file by the
 * first pass and read back by the later one. The choice is by bytes: spill when writing and reading
 * the stage (2 × its size) costs less than re-reading the sources that only it needs in the later
 * pass — a uint8 mask of a float32 volume, or a zip of several volumes, before a `label`. Each spill
 * is then tried on the whole plan and kept only where the plan's peak buffer bytes do not grow
 * (memory comes before I/O) and its bytes read and written fall: the readers of a spill run after
 * the pass that writes it, which can split their pass and make it re-read other sources.
 *
 * @example
 * ```ts
 * // float32 → threshold → label: pass 2 reads the 1-byte mask (spill) instead of the 4-byte input
 * const graph = spillForReuse(buildGraph(program))
 * ```
 */
import type { Direction } from "../../../algebra/kernel.js"
import { volumeBytes } from "../../../algebra/volume.js"
import { planIo } from "../bands.js"
import type { Graph, Node, VolumeNode } from "../graph.js"
import { isVolumeNode, nodeInputs } from "../graph.js"
import { levels, planPasses, sweepDirections, volumeAncestors, type PassPlan, type Plan } from "../passes.js"
import { consumersOf, renumber, rewire } from "./graph-edit.js"
import { addSpill } from "./spills.js"

/** Sources a pass reads for its roots without going through `through`. */
const sourcesAvoiding = (pass: PassPlan, through: VolumeNode): Set<VolumeNode> => {
  const seen = new Set<Node>([through])
  const sources = new Set<VolumeNode>()
  const visit = (n: Node): void => {
    if (seen.has(n)) return
    seen.add(n)
    if (n.kind === "source") sources.add(n)
    for (const i of nodeInputs(n)) if (isVolumeNode(i)) visit(i)
  }
  for (const r of pass.roots) visit(r.input)
  return sources
}

/** The direction a root writing `v` would need: its sweeps', or none. */
const directionOf = (v: VolumeNode): Direction | undefined => {
  const ancestors = new Set<VolumeNode>()
  volumeAncestors(v, ancestors)
  const ds = sweepDirections(ancestors)
  return ds.has("backward") ? "backward" : ds.has("forward") ? "forward" : undefined
}

/** Bytes a plan reads and writes, spills included. */
const ioBytes = (plan: Plan): number => {
  const { read, written } = planIo(plan)
  return read + written
}

export const spillForReuse = (graph: Graph): Graph => {
  const plan = planPasses(graph)
  const peak = plan.peakBufferBytes
  let io = ioBytes(plan)
  const level = levels(graph)
  const nodes: Array<Node> = [...graph.nodes]
  const consumers = consumersOf(graph.nodes)
  const firstPass = new Map<VolumeNode, PassPlan>()
  for (const pass of plan.passes) {
    const members = new Set(pass.stages.map((s) => s.node))
    const spilled = new Set<VolumeNode>()
    // Nearest the outputs first: spilling a stage makes its ancestors unneeded in this pass.
    for (const { node: v } of [...pass.stages].reverse()) {
      const earlier = firstPass.get(v)
      if (earlier === undefined || v.kind === "source") continue
      const ancestors = new Set<VolumeNode>()
      volumeAncestors(v, ancestors)
      if ([...spilled].some((s) => ancestors.has(s) || s === v)) continue
      // Consumers of v here that the earlier pass does not compute: they would read the spill.
      const earlierMembers = new Set<Node>(earlier.stages.map((s) => s.node))
      const inPass = (c: Node) => members.has(c as VolumeNode) || (pass.roots as ReadonlyArray<Node>).includes(c)
      const readers = consumers.get(v)!.filter(inPass)
      // Every consumer here must read the spill; one that the earlier pass computes too would
      // have to read it there as well, before it is written (that consumer is a candidate itself).
      if (readers.length === 0 || readers.some((c) => earlierMembers.has(c))) continue
      // The spill is written by the earlier pass: only if a root writing v would land in that pass
      // (same level and direction), not in a pass of its own that recomputes v just to spill it.
      if (level.get(v) !== earlier.level || (directionOf(v) ?? "forward") !== earlier.direction) continue
      let reread = 0
      const others = sourcesAvoiding(pass, v)
      for (const a of ancestors) if (a.kind === "source" && !others.has(a)) reread += volumeBytes(a.info)
      if (2 * volumeBytes(v.info) >= reread) continue
      // Try it: keep the spill only if no pass then holds more buffers than any pass did before
      // (merging passes can; memory comes first), and the plan's I/O does fall.
      const read = addSpill(nodes, v)
      for (const c of readers) rewire(c, v, read)
      const trial = planPasses(renumber(graph, nodes))
      const trialIo = ioBytes(trial)
      if (trial.peakBufferBytes > peak || trialIo >= io) {
        for (const c of readers) rewire(c, read, v)
        nodes.splice(nodes.length - 2, 2)
        continue
      }
      io = trialIo
      spilled.add(v)
    }
    for (const { node } of pass.stages) if (!firstPass.has(node)) firstPass.set(node, pass)
  }
  // Trials renumber the nodes in place, so renumber whatever the outcome.
  return renumber(graph, nodes)
}
