/**
 * Editing a stage graph in place, for the planner's rewrites. A graph from `buildGraph` is fresh
 * for every plan, so a rewrite owns it: it rewires inputs and adds nodes, then `renumber` restores
 * the invariant every later step relies on (nodes in topological order, id = position).
 */
import type { Graph, Node, VolumeNode } from "../graph.js"
import { nodeInputs } from "../graph.js"

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

/** Replaces `from` by `to` among the volume inputs of `consumer`. */
export const rewire = (consumer: Node, from: VolumeNode, to: VolumeNode): void => {
  if (consumer.kind === "pointwise") {
    ;(consumer as Mutable<typeof consumer>).inputs = consumer.inputs.map((i) => (i === from ? to : i))
  } else if (consumer.kind === "window" || consumer.kind === "reduce" || consumer.kind === "write") {
    if (consumer.input === from) (consumer as Mutable<typeof consumer>).input = to
  }
}

/** The graph with `nodes` in a topological order and ids equal to positions. */
export const renumber = (graph: Graph, nodes: ReadonlyArray<Node>): Graph => {
  const ordered: Array<Node> = []
  const seen = new Set<Node>()
  const visit = (n: Node): void => {
    if (seen.has(n)) return
    seen.add(n)
    for (const i of nodeInputs(n)) visit(i)
    ordered.push(n)
  }
  // Visit in the old order so that untouched programs keep their numbering.
  for (const n of [...nodes].sort((a, b) => a.id - b.id)) visit(n)
  ordered.forEach((n, i) => ((n as Mutable<Node>).id = i))
  return { ...graph, nodes: ordered }
}

/** Consumers of each node (volume and scalar edges), in node order. */
export const consumersOf = (nodes: ReadonlyArray<Node>): Map<Node, Array<Node>> => {
  const out = new Map<Node, Array<Node>>()
  for (const n of nodes) out.set(n, [])
  for (const n of nodes) for (const i of nodeInputs(n)) out.get(i)?.push(n)
  return out
}
