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
import { DEFAULT_MIN_SPLIT_OPS, type Threads } from "./threads.js"

export { BudgetError, PlanError } from "./errors.js"
export { bandPass, fitBands, passReadBytes, planIo, whyNotBanded, type Band, type BandPlan } from "./bands.js"
export { planWithin } from "./budget.js"
export { checkpointInterval, checkpointPlan, checkpointText, type CheckpointPlan, type PassCheckpoints } from "./checkpoints.js"
export { buildGraph, makePlanAlgebra, type Graph, type Node, type PlanRepr } from "./graph.js"
export { planPasses, type PassPlan, type Plan, type StagePlan } from "./passes.js"
export { geometryNotes, planJson, planText } from "./print.js"
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
  /**
   * Threads that compute each slice together, this one included (default 1). Steps that can be
   * split (pointwise loops, kernels with a recipe: see algebra/kernel.ts) share their rows among
   * them, and the plan counts every thread's kernel scratch (plan/threads.ts). The voxels are the
   * same for any count. The run interpreter's fused mode uses it; unfused runs on one thread.
   */
  readonly threads?: number
  /**
   * The least voxel-ops per slice (the cost model's count) a step must do to be split among
   * threads (default 2¹⁹, about half a millisecond here): below it, handing rows over costs more than
   * it saves.
   */
  readonly minSplitOps?: number
}

/** The threads of `options`, with defaults. */
export const threadsOf = (options: PlanOptions): Threads => ({
  threads: options.threads ?? 1,
  minSplitOps: options.minSplitOps ?? DEFAULT_MIN_SPLIT_OPS
})

/** Rewrites a graph and plans it (passes, latencies, rings). The graph is consumed. */
export const planGraph = (graph: Graph, options: PlanOptions = {}): Effect.Effect<Plan, PlanError> =>
  Effect.try({ try: () => planPasses(optimize(graph, options.rewrites), { threads: threadsOf(options) }), catch: asPlanError })

/** The plan of a program (what `slicewise plan` prints), within `options.memoryBytes` if given. */
export const make = (program: Program, options: PlanOptions = {}): Effect.Effect<Plan, PlanError | BudgetError> => {
  const memoryBytes = options.memoryBytes
  if (memoryBytes === undefined) return Effect.flatMap(graphOf(program), (g) => planGraph(g, options))
  return Effect.try({
    try: () =>
      planWithin(program, { memoryBytes, threads: threadsOf(options), ...(options.rewrites === undefined ? {} : { rewrites: options.rewrites }) }),
    catch: (e) => (e instanceof BudgetError ? e : asPlanError(e))
  })
}
