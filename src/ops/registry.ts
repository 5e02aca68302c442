/**
 * The kernel factories a worker thread can call to rebuild a kernel from its `recipe`
 * (algebra/kernel.ts): the thread gets the factory's name and its arguments, never the kernel's
 * closures. A factory listed here must give the same kernel from cloned arguments.
 *
 * @example
 * ```ts
 * const kernel = kernelFromRecipe(original.recipe!)   // in a worker: the same kernel as `original`
 * ```
 */
import type { DType } from "../algebra/dtype.js"
import type { KernelRecipe, WindowKernel } from "../algebra/kernel.js"
import { ballKernel, rowDistanceKernel } from "./binary.js"
import { correlateXKernel, correlateYKernel, correlateZKernel } from "./correlate.js"
import { medianKernel } from "./median.js"
import { extremeXKernel, extremeYKernel, extremeZKernel } from "./morphology.js"
import { uniformXKernel, uniformYKernel, uniformZKernel } from "./uniform.js"

type Factory = (...args: never[]) => WindowKernel<DType, DType>

const factories: Readonly<Record<string, Factory>> = {
  "correlate-z": correlateZKernel,
  "correlate-y": correlateYKernel,
  "correlate-x": correlateXKernel,
  "uniform-z": uniformZKernel,
  "uniform-y": uniformYKernel,
  "uniform-x": uniformXKernel,
  "extreme-z": extremeZKernel,
  "extreme-y": extremeYKernel,
  "extreme-x": extremeXKernel,
  median: medianKernel,
  "row-distance": rowDistanceKernel as Factory,
  ball: ballKernel as Factory
}

/** The kernel a recipe describes; throws on a factory this build does not know. */
export const kernelFromRecipe = (recipe: KernelRecipe): WindowKernel<DType, DType> => {
  const factory = factories[recipe.factory]
  if (factory === undefined) throw new Error(`internal: no kernel factory "${recipe.factory}"`)
  return (factory as (...args: ReadonlyArray<unknown>) => WindowKernel<DType, DType>)(...recipe.args)
}
