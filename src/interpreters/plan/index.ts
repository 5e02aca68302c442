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

export { PlanError } from "./errors.js"
export { buildGraph, makePlanAlgebra, type Graph, type Node, type PlanRepr } from "./graph.js"
export { planPasses, type PassPlan, type Plan, type StagePlan } from "./passes.js"
export { planJson, planText } from "./print.js"

const asPlanError = (e: unknown): PlanError =>
  e instanceof PlanError ? e : new PlanError({ detail: e instanceof Error ? e.message : String(e) })

/** The stage graph of a program; a PlanError thrown while building it becomes a typed failure. */
export const graphOf = (program: Program): Effect.Effect<Graph, PlanError> =>
  Effect.try({ try: () => buildGraph(program), catch: asPlanError })

/** Plans a graph (passes, latencies, rings). */
export const planGraph = (graph: Graph): Effect.Effect<Plan, PlanError> =>
  Effect.try({ try: () => planPasses(graph), catch: asPlanError })

/** The plan of a program (what `slicewise plan` prints). */
export const make = (program: Program): Effect.Effect<Plan, PlanError> => Effect.flatMap(graphOf(program), planGraph)
