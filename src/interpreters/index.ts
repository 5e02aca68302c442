/**
 * The four interpreters of a program (`slicewise/interpreters`), one namespace each: `Memory` (the
 * definitional semantics: whole volumes in memory), `Plan` (the static plan: passes, halos,
 * latencies, rings, spills, bands), `Cost` (the dry run: bytes, buffers, voxel-ops and time,
 * reading no voxel) and `Run` (the streaming execution). The root, `slicewise`, exports the same
 * namespaces.
 *
 * @example
 * ```ts
 * import { Cost, Memory, Plan, Run } from "slicewise/interpreters"
 * console.log(Plan.planText(yield* Plan.make(program)))
 * console.log(Cost.costText(yield* Cost.estimate(program)))
 * const streamed = yield* Run.run(program, { threads: 2 })
 * const reference = yield* Memory.evaluate(program)
 * ```
 *
 * @module
 */
export * as Cost from "./cost/index.js"
export * as Memory from "./memory/index.js"
export * as Plan from "./plan/index.js"
export * as Run from "./run/index.js"
