/**
 * The plan interpreter: a program's stage graph, split into passes with latencies, delay lines and
 * ring sizes, printable as text and JSON.
 *
 * @example
 * ```ts
 * const plan = yield* Plan.make(program)
 * console.log(Plan.planText(plan))
 * ```
 */
import * as Effect from "effect/Effect"
import type { Program } from "../../algebra/algebra.js"
import { PlanError } from "./errors.js"
import { buildGraph, type Graph } from "./graph.js"
import { planPasses, type Plan } from "./passes.js"
import { optimize, type RewriteName } from "./rewrites/index.js"

export { PlanError } from "./errors.js"
export { buildGraph, makePlanAlgebra, type Graph, type Node, type PlanRepr } from "./graph.js"
export { planPasses, type PassPlan, type Plan, type StagePlan } from "./passes.js"
export { planJson, planText } from "./print.js"
export { ALL_REWRITES, optimize, REWRITES, type RewriteName } from "./rewrites/index.js"

const asPlanError = (e: unknown): PlanError =>
  e instanceof PlanError ? e : new PlanError({ detail: e instanceof Error ? e.message : String(e) })

/** The stage graph of a program; a PlanError thrown while building it becomes a typed failure. */
export const graphOf = (program: Program): Effect.Effect<Graph, PlanError> =>
  Effect.try({ try: () => buildGraph(program), catch: asPlanError })

export interface PlanOptions {
  /** The optimisations to apply (default: all of them, the `fused` plan; `[]` gives one stage per node). */
  readonly rewrites?: ReadonlyArray<RewriteName>
}

/** Rewrites a graph and plans it (passes, latencies, rings). The graph is consumed. */
export const planGraph = (graph: Graph, options: PlanOptions = {}): Effect.Effect<Plan, PlanError> =>
  Effect.try({ try: () => planPasses(optimize(graph, options.rewrites)), catch: asPlanError })

/** The plan of a program (what `slicewise plan` prints). */
export const make = (program: Program, options: PlanOptions = {}): Effect.Effect<Plan, PlanError> =>
  Effect.flatMap(graphOf(program), (g) => planGraph(g, options))
