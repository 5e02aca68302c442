/**
 * slicewise: process 3D images that do not fit in memory by streaming them slice by slice along z.
 *
 * A pipeline is a `Program`, a function of an `Algebra<F>` for any interpreter `F`, built from the
 * op library (`gaussian`, `median`, `dilate`, `label`, …), pointwise expressions (`Expr`) and the
 * algebra's own `map`, `zip`, `window`, `sweep`, `reduce` and `write`. The same program is then
 * planned (`Plan`), costed without reading a voxel (`Cost`), run as Effect streams of slices with
 * fixed buffers (`Run`), or evaluated whole in memory as the reference (`Memory`).
 *
 * This module exports what composing and running a pipeline needs. The subpaths group the same
 * and more by layer: `slicewise/algebra`, `slicewise/ops`, `slicewise/io` (with
 * `slicewise/io/tiff`, `/nrrd`, `/nifti`, `/zarr`, `/dicom`), `slicewise/interpreters`, `slicewise/batch`,
 * `slicewise/jobs`, `slicewise/profile` and `slicewise/cluster` (runners on PostgreSQL; its packages are
 * optional peer dependencies). What no entry point exports is internal.
 *
 * @example
 * ```ts
 * import * as Effect from "effect/Effect"
 * import { Cost, Plan, Run, gaussian, openSource, sinkFor, threshold, type Program } from "slicewise"
 *
 * const main = Effect.gen(function* () {
 *   const scan = yield* openSource("scan/")
 *   const mask = yield* sinkFor("mask.tif")
 *   const program: Program = (alg) => ({
 *     mask: alg.write(threshold(alg, gaussian(alg, alg.source(scan), { sigma: 1 }), { min: 100 }), mask)
 *   })
 *   console.log(Plan.planText(yield* Plan.make(program)))
 *   console.log(Cost.costText(yield* Cost.estimate(program)))
 *   yield* Run.run(program, { threads: 2 })
 * })
 * ```
 *
 * @module slicewise
 */
export * from "./algebra/index.js"
export * from "./interpreters/index.js"
export { BudgetError, PlanError } from "./interpreters/plan/errors.js"
export type { Progress, RunError, RunOptions, RunResult } from "./interpreters/run/result.js"
export type { PlanOptions } from "./interpreters/plan/index.js"
export * from "./ops/index.js"
export { openSource, sinkFor } from "./io/index.js"
export type { SinkOptions, SourceOptions } from "./io/index.js"
export { arraySink, arraySource } from "./io/memory.js"
export type { ArraySink } from "./io/memory.js"
export { phantomSource } from "./io/phantom.js"
export type { PhantomOptions } from "./io/phantom.js"
