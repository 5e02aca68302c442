/**
 * Rewrite `fuse-chain`: a stage followed by slice-local stages — in-plane windows (no reach along
 * z) and single-input maps — each read only by the next, becomes one stage. A separable filter's z
 * pass reads the ring, then its y and x passes (and a threshold after them) run on two scratch
 * slices reused slice after slice, instead of each keeping a ring of its own.
 *
 * Slice-local stages add no latency and read nothing else, so the fused stage is scheduled exactly
 * as its head was; only its output changes to the tail's.
 *
 * @example
 * ```ts
 * // gaussian-z → gaussian-y → gaussian-x → threshold: one stage, scratch 2 slices
 * const graph = fuseChain(fusePointwise(spill(buildGraph(program))))
 * ```
 */
import type { VolumeInfo } from "../../../algebra/volume.js"
import type { Graph, Node, PointwiseNode, WindowNode } from "../graph.js"
import { consumersOf, renumber, rewire } from "./graph-edit.js"

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

/**
 * A stage that reads only the same slice of its one input (and no scalar: one from a later pass
 * would move the whole chain to that pass).
 */
const isSliceLocal = (n: Node): n is PointwiseNode | WindowNode =>
  (n.kind === "pointwise" && n.inputs.length === 1 && n.scalars.length === 0 && n.fused === undefined) ||
  (n.kind === "window" &&
    n.direction === undefined &&
    n.fused === undefined &&
    n.kernel.halo.z.before === 0 &&
    n.kernel.halo.z.after === 0)

/** The volume a tail member reads: the output of the one before it (or of the head). */
export const inputInfo = (n: PointwiseNode | WindowNode, member: PointwiseNode | WindowNode): VolumeInfo => {
  const tail = n.fused!.tail
  const i = tail.indexOf(member)
  const dtype = i === 0 ? n.fused!.headOutput : tail[i - 1]!.info.dtype
  return { ...member.info, dtype }
}

export const fuseChain = (graph: Graph): Graph => {
  const consumers = consumersOf(graph.nodes)
  const removed = new Set<Node>()
  for (const head of graph.nodes) {
    if ((head.kind !== "pointwise" && head.kind !== "window") || removed.has(head)) continue
    const tail: Array<PointwiseNode | WindowNode> = []
    let users = consumers.get(head)!
    while (users.length === 1 && isSliceLocal(users[0]!) && !removed.has(users[0]!)) {
      const next = users[0] as PointwiseNode | WindowNode
      tail.push(next)
      removed.add(next)
      users = consumers.get(next)!
      for (const u of users) rewire(u, next, head)
    }
    if (tail.length === 0) continue
    const m = head as Mutable<PointwiseNode | WindowNode>
    m.fused = { headOutput: head.info.dtype, tail }
    m.info = tail[tail.length - 1]!.info
    m.label = [head.label, ...tail.map((t) => t.label)].join("→")
    consumers.set(head, users)
  }
  return removed.size === 0 ? graph : renumber(graph, graph.nodes.filter((n) => !removed.has(n)))
}
