/**
 * The recipe of a built-in kernel (algebra/kernel.ts): its factory among the exports of
 * ops/kernels.ts, which a row worker imports by URL. This module imports no kernel, so the kernels'
 * modules can import it without an import circle.
 *
 * @example
 * ```ts
 * recipe: builtInRecipe("medianKernel", [dtype, radius, mode, cval])
 * ```
 */
import type { KernelRecipe } from "../../algebra/kernel.js"

/** Set by scripts/bundle.mjs: the built-in kernels' bundle file, beside the CLI's chunks. */
declare const SLICEWISE_KERNELS_BUNDLE: string | undefined

/**
 * The URL of ops/kernels: in the CLI's bundle its own entry point beside this chunk; otherwise the
 * module beside this one's folder, with this module's extension (.ts from the sources under tsx,
 * .js from tsc's dist/).
 */
export const BUILT_IN_KERNELS: string =
  typeof SLICEWISE_KERNELS_BUNDLE === "string"
    ? new URL(`./${SLICEWISE_KERNELS_BUNDLE}`, import.meta.url).href
    : new URL(`../kernels${/\.ts$/.test(new URL(import.meta.url).pathname) ? ".ts" : ".js"}`, import.meta.url).href

/** The recipe of a built-in kernel: `factory`, an export of ops/kernels.ts, called with `args`. */
export const builtInRecipe = (factory: string, args: ReadonlyArray<unknown>): KernelRecipe => ({ module: BUILT_IN_KERNELS, factory, args })
