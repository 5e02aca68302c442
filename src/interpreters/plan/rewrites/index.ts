/**
 * The planner's rewrites of the stage graph, in the order they run. Each is a named pass over a
 * fresh graph that returns the rewritten graph; `spill` is always applied (without it some
 * programs cannot run), the others are the optimisations that `fused` mode adds.
 *
 * @example
 * ```ts
 * const graph = optimize(buildGraph(program), ALL_REWRITES)
 * ```
 */
import type { Graph } from "../graph.js"
import { fuseChain } from "./fuse-chain.js"
import { fusePointwise } from "./fuse-pointwise.js"
import { spillForReuse } from "./reuse.js"
import { spill } from "./spills.js"

export const REWRITES = {
  "fuse-pointwise": fusePointwise,
  "fuse-chain": fuseChain,
  "spill-reuse": spillForReuse
} as const satisfies Record<string, (g: Graph) => Graph>

export type RewriteName = keyof typeof REWRITES

/** Every optimisation, in order: what `fused` mode plans with. */
export const ALL_REWRITES: ReadonlyArray<RewriteName> = Object.keys(REWRITES) as Array<RewriteName>

/** Applies the spill rewrite, then the named optimisations in their fixed order. */
export const optimize = (graph: Graph, rewrites: ReadonlyArray<RewriteName> = ALL_REWRITES): Graph => {
  let g = spill(graph)
  for (const name of ALL_REWRITES) if (rewrites.includes(name)) g = REWRITES[name](g)
  return g
}
