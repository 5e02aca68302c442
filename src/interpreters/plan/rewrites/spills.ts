/**
 * Rewrite `spill`: a sweep must see its input in its own direction, but a pass visits z one way.
 * Where a sweep's input is itself made by a sweep of the other direction (the z phase of a
 * distance transform: forward, then backward over the forward result), or a zip joins branches
 * that need opposite directions, the input is written to a spill file in one pass and read back,
 * in the other direction, by a later pass. Without this the program cannot be planned.
 *
 * @example
 * ```ts
 * const graph = spill(buildGraph(program))   // forward sweep → spill write | spill source → backward sweep
 * ```
 */
import type { Direction } from "../../../algebra/kernel.js"
import { makeSpill } from "../../../io/spill.js"
import type { Graph, Node, SourceNode, VolumeNode, WriteNode } from "../graph.js"
import { renumber, rewire } from "./graph-edit.js"

const opposite = (d: Direction): Direction => (d === "forward" ? "backward" : "forward")

/**
 * Adds to `nodes` a write of `input` to a new spill file and a source reading it back (to run in a
 * later pass); returns the source. Consumers are rewired by the caller.
 */
export const addSpill = (nodes: Array<Node>, input: VolumeNode): SourceNode => {
  const { sink, source } = makeSpill(input.info, `#${input.id} ${input.label}`)
  const write: WriteNode = { kind: "write", id: nodes.length, label: `spill of #${input.id}`, input, sink }
  const read: SourceNode = { kind: "source", id: nodes.length + 1, label: `spill of #${input.id}`, info: input.info, source, spilledBy: write }
  nodes.push(write, read)
  return read
}

export const spill = (graph: Graph): Graph => {
  const nodes: Array<Node> = [...graph.nodes]
  // The directions a volume node's computation needs (from the sweeps among its ancestors).
  const needs = new Map<VolumeNode, ReadonlySet<Direction>>()
  const NONE: ReadonlySet<Direction> = new Set()

  const spillInput = (consumer: Node, input: VolumeNode): SourceNode => {
    const read = addSpill(nodes, input)
    rewire(consumer, input, read)
    needs.set(read, NONE)
    return read
  }

  for (const n of graph.nodes) {
    switch (n.kind) {
      case "source":
        needs.set(n, NONE)
        break
      case "pointwise": {
        // Join in the direction of the first input that needs one; spill the inputs that need the other.
        let direction: Direction | undefined
        for (const i of n.inputs) for (const d of needs.get(i)!) direction ??= d
        const all = new Set<Direction>()
        for (const i of [...n.inputs]) {
          const ds = needs.get(i)!
          if (direction !== undefined && ds.has(opposite(direction))) spillInput(n, i)
          else for (const d of ds) all.add(d)
        }
        needs.set(n, all)
        break
      }
      case "window": {
        const ds = needs.get(n.input)!
        if (n.direction === undefined) {
          needs.set(n, ds)
        } else {
          if (ds.has(opposite(n.direction))) spillInput(n, n.input)
          needs.set(n, new Set([n.direction]))
        }
        break
      }
      case "reduce": {
        const order = n.reducer.order
        if (order !== undefined && needs.get(n.input)!.has(opposite(order))) spillInput(n, n.input)
        break
      }
      default:
        break
    }
  }
  return nodes.length === graph.nodes.length ? graph : renumber(graph, nodes)
}
