/**
 * Rewrite `fuse-pointwise`: a chain of maps and zips becomes one stage, one compiled loop per slice.
 *
 * A pointwise stage whose only consumer is another pointwise stage is substituted into it: the
 * consumer's input leaf becomes the producer's expression wrapped in a cast to the producer's dtype
 * (exactly what storing it would do), so the fused loop computes the same bits with no intermediate
 * slice, no ring and one pass over memory instead of two.
 *
 * @example
 * ```ts
 * // threshold(gaussian(x)) * x  — the threshold and the product become one stage
 * const graph = fusePointwise(spill(buildGraph(program)))
 * ```
 */
import * as E from "../../../algebra/expr.js"
import type { Graph, Node, PointwiseNode, ScalarNode, VolumeNode } from "../graph.js"
import { latenciesIn } from "../passes.js"
import { consumersOf, renumber } from "./graph-edit.js"

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

/** Rewrites input leaves: `replace(i)` gives the expression that stands for input i. */
const substitute = (e: E.Expr, replace: (index: number) => E.Expr): E.Expr => {
  switch (e._tag) {
    case "Input":
      return replace(e.index)
    case "Const":
    case "ScalarRef":
      return e
    case "Lookup":
      return { ...e, index: substitute(e.index, replace) }
    case "Unary":
    case "Cast":
      return { ...e, arg: substitute(e.arg, replace) }
    case "Binary":
      return { ...e, left: substitute(e.left, replace), right: substitute(e.right, replace) }
    case "Select":
      return {
        ...e,
        cond: substitute(e.cond, replace),
        then: substitute(e.then, replace),
        otherwise: substitute(e.otherwise, replace)
      }
  }
}

/** Merges `producer` into `consumer` (which reads it), in place. */
const merge = (consumer: PointwiseNode, producer: PointwiseNode): void => {
  const inputs: Array<VolumeNode> = []
  const indexOf = (n: VolumeNode): number => {
    const i = inputs.indexOf(n)
    if (i >= 0) return i
    inputs.push(n)
    return inputs.length - 1
  }
  // Inputs of the consumer other than the producer keep their order, then the producer's.
  const consumerIndex = consumer.inputs.map((n) => (n === producer ? -1 : indexOf(n)))
  const producerIndex = producer.inputs.map(indexOf)
  const stored = producer.info.dtype === "float64" ? (e: E.Expr) => e : (e: E.Expr) => E.cast(producer.info.dtype, e)
  const inner = stored(substitute(producer.expr, (i) => E.input(producerIndex[i]!)))
  const expr = substitute(consumer.expr, (i) => (consumerIndex[i]! < 0 ? inner : E.input(consumerIndex[i]!)))
  const m = consumer as Mutable<PointwiseNode>
  m.inputs = inputs
  m.expr = expr
  // Keep the producer's scalar dependencies even where the merged expression no longer reads them:
  // a rewrite must not change which pass a stage runs in.
  m.scalars = [...new Set([...consumer.scalars, ...producer.scalars, ...(E.scalarRefs(expr) as Array<ScalarNode>)])]
  m.label = `${producer.label}+${consumer.label}`
}

export const fusePointwise = (graph: Graph): Graph => {
  const consumers = consumersOf(graph.nodes)
  const removed = new Set<Node>()
  // A producer that reaches its consumer later than the consumer's slowest input would otherwise be
  // held in a delay line; fused, its inputs would be held instead, and they may be wider. Fuse only
  // producers that are never delayed, in either direction a pass may take.
  const latencies = [latenciesIn(graph.nodes, "forward"), latenciesIn(graph.nodes, "backward")]
  const undelayed = (consumer: PointwiseNode, producer: PointwiseNode): boolean =>
    latencies.every((l) => consumer.inputs.every((i) => l.get(i)! <= l.get(producer)!))
  for (const n of graph.nodes) {
    if (n.kind !== "pointwise") continue
    // Inputs are visited before their consumers, so a producer has absorbed its own chain already.
    for (const input of [...n.inputs]) {
      if (input.kind !== "pointwise" || removed.has(input)) continue
      const users = consumers.get(input)!
      if (users.length !== 1 || users[0] !== n || !undelayed(n, input)) continue
      merge(n, input)
      removed.add(input)
      for (const i of input.inputs) {
        const list = consumers.get(i)!
        list.splice(list.indexOf(input), 1, n)
      }
    }
  }
  return removed.size === 0 ? graph : renumber(graph, graph.nodes.filter((n) => !removed.has(n)))
}
