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
import { planWithin } from "./budget.js"
import { BudgetError, PlanError } from "./errors.js"
import { buildGraph, type Graph } from "./graph.js"
import { planPasses, type Plan } from "./passes.js"
import { optimize, type RewriteName } from "./rewrites/index.js"

export { BudgetError, PlanError } from "./errors.js"
export { bandPass, fitBands, passReadBytes, whyNotBanded, type Band, type BandPlan } from "./bands.js"
export { planIo, planWithin } from "./budget.js"
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
  /**
   * The most bytes of buffers the plan may hold (default: no limit). Over it, the planner runs
   * passes in bands of rows or splits them with a spill (budget.ts), or fails with a BudgetError
   * naming the smallest budget that works.
   */
  readonly memoryBytes?: number
}

/** Rewrites a graph and plans it (passes, latencies, rings). The graph is consumed. */
export const planGraph = (graph: Graph, options: PlanOptions = {}): Effect.Effect<Plan, PlanError> =>
  Effect.try({ try: () => planPasses(optimize(graph, options.rewrites)), catch: asPlanError })

/** The plan of a program (what `slicewise plan` prints), within `options.memoryBytes` if given. */
export const make = (program: Program, options: PlanOptions = {}): Effect.Effect<Plan, PlanError | BudgetError> => {
  const memoryBytes = options.memoryBytes
  if (memoryBytes === undefined) return Effect.flatMap(graphOf(program), (g) => planGraph(g, options))
  return Effect.try({
    try: () => planWithin(program, { memoryBytes, ...(options.rewrites === undefined ? {} : { rewrites: options.rewrites }) }),
    catch: (e) => (e instanceof BudgetError ? e : asPlanError(e))
  })
}
