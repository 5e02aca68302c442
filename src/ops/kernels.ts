/**
 * The built-in kernels' factories, as the one ES module a row worker imports to rebuild them: every
 * built-in kernel's recipe (algebra/kernel.ts) names this module and one of these exports, called
 * with cloned arguments. A factory exported here must give the same kernel from cloned arguments.
 * The worker holds no list of its own: a kernel of yours is rebuilt from your module the same way.
 *
 * Where this module is found (`BUILT_IN_KERNELS`, internal/kernel-module.ts): beside this file in
 * the sources (tsx) and in tsc's dist/, and as `slicewise-kernels.mjs` beside the CLI's bundle
 * (scripts/bundle.mjs), since importing the CLI's own bundle in a worker would run the CLI.
 *
 * @example
 * ```ts
 * const { module, factory, args } = gaussianKernel.recipe!   // module: BUILT_IN_KERNELS
 * const same = (await import(module))[factory](...args)      // what a worker does
 * ```
 */
export { ballPlaneKernel } from "./ball-distance.js"
export { ballKernel, rowDistanceKernel } from "./binary.js"
export { correlateXKernel, correlateYKernel, correlateZKernel } from "./correlate.js"
export { medianKernel } from "./median.js"
export { extremeXKernel, extremeYKernel, extremeZKernel } from "./morphology.js"
export { uniformXKernel, uniformYKernel, uniformZKernel } from "./uniform.js"
