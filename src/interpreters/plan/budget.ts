/**
 * Fitting a plan into a memory budget. Candidates, each planned in full:
 *
 * - the plan with one write in flight per sink, where a sink could have two (a slice less per such
 *   sink);
 * - the plan without read-ahead and write-behind (a slice less per source, one or two per sink,
 *   no more bytes);
 * - that plan with every pass over the budget run in bands of rows (bands.ts);
 * - for each intermediate volume, the plan with that volume spilled to a file, which splits its
 *   pass in two (each half holds fewer rings), again with bands where a half is still too big.
 *
 * The one that reads the fewest bytes wins (then the fewest written, then the smallest peak): bands
 * re-read their halo rows, a spill writes and reads its volume once more. When no candidate fits, the error names the smallest budget one of them could run in.
 *
 * @example
 * ```ts
 * const plan = planWithin(program, { memoryBytes: 64 * 2 ** 20 })   // throws BudgetError if impossible
 * plan.passes.map((p) => p.bands?.rowsPerBand)
 * ```
 */
import type { Program } from "../../algebra/algebra.js"
import { formatBytes } from "../../util/units.js"
import { fitBands, leastBufferBytes, planIo } from "./bands.js"
import { BudgetError } from "./errors.js"
import { buildGraph, isVolumeNode, nodeInputs, type Graph, type Node, type VolumeNode } from "./graph.js"
import { planPasses, type Plan } from "./passes.js"
import { ONE_THREAD, type Threads } from "./threads.js"
import { renumber, rewire } from "./rewrites/graph-edit.js"
import { optimize, type RewriteName } from "./rewrites/index.js"
import { addSpill } from "./rewrites/spills.js"

/** The plan with every pass fitted into `budget` by bands, or undefined when one cannot be. */
const fitPlan = (plan: Plan, budget: number): Plan | undefined => {
  const passes = []
  for (const pass of plan.passes) {
    const fitted = fitBands(pass, budget)
    if (fitted === undefined) return undefined
    passes.push(fitted)
  }
  return { ...plan, passes, peakBufferBytes: Math.max(0, ...passes.map((p) => p.bufferBytes)) }
}

/** `graph` with volume `node` written to a spill and every consumer reading it back later. */
const splitAt = (graph: Graph, node: VolumeNode): Graph => {
  const nodes: Array<Node> = [...graph.nodes]
  const consumers = graph.nodes.filter((n) => nodeInputs(n).includes(node))
  const read = addSpill(nodes, node)
  for (const c of consumers) rewire(c, node, read)
  return renumber(graph, nodes)
}

/** Volumes worth splitting a pass at: computed ones that another stage reads. */
const splitPoints = (graph: Graph): Array<number> =>
  graph.nodes
    .filter((n) => isVolumeNode(n) && n.kind !== "source" && graph.nodes.some((c) => isVolumeNode(c) && nodeInputs(c).includes(n)))
    .map((n) => n.id)

export interface BudgetOptions {
  readonly rewrites?: ReadonlyArray<RewriteName>
  /** The most bytes of buffers the plan may hold. */
  readonly memoryBytes: number
  /** Threads that compute each slice (default one; see PlanOptions). */
  readonly threads?: Threads
}

/**
 * The plan of `program` that fits `memoryBytes` of buffers and reads the least; throws a
 * BudgetError naming the smallest budget that works when none fits.
 */
export const planWithin = (program: Program, options: BudgetOptions): Plan => {
  const budget = options.memoryBytes
  const planOf = (overlap: boolean, edit?: (g: Graph) => Graph, maxWritesBehind?: number): Plan => {
    const g = buildGraph(program)
    return planPasses(optimize(edit === undefined ? g : edit(g), options.rewrites), { overlap, threads: options.threads ?? ONE_THREAD, maxWritesBehind })
  }
  const base = planOf(true)
  if (base.peakBufferBytes <= budget) return base
  // One write in flight where a sink could have two: a slice less per such sink, still overlapped.
  if (base.passes.some((p) => p.writesBehind > 1)) {
    const single = planOf(true, undefined, 1)
    if (single.peakBufferBytes <= budget) return single
  }
  // Without read-ahead and write-behind: the same bytes, a slice less per source, one or two per sink. Bands and
  // splits only add bytes, so this wins whenever it fits, and they are planned without it.
  const lean = planOf(false)
  if (lean.peakBufferBytes <= budget) return lean
  const candidates = [lean, ...splitPoints(buildGraph(program)).map((id) => planOf(false, (g) => splitAt(g, g.nodes[id] as VolumeNode)))]
  let best: { plan: Plan; read: number; written: number } | undefined
  for (const c of candidates) {
    const fitted = fitPlan(c, budget)
    if (fitted === undefined) continue
    const { read, written } = planIo(fitted)
    if (
      best === undefined ||
      read < best.read ||
      (read === best.read && (written < best.written || (written === best.written && fitted.peakBufferBytes < best.plan.peakBufferBytes)))
    ) {
      best = { plan: fitted, read, written }
    }
  }
  if (best !== undefined) return best.plan
  const minimum = Math.min(...candidates.map((c) => Math.max(0, ...c.passes.map(leastBufferBytes))))
  throw new BudgetError({
    budgetBytes: budget,
    minimumBytes: minimum,
    detail:
      `the plan needs ${formatBytes(base.peakBufferBytes)} of buffers and no split or banding brings it under ` +
      `${formatBytes(budget)}; the smallest budget that works is ${formatBytes(minimum)} (${minimum} bytes)`
  })
}
