/**
 * Loading the library's WebAssembly SIMD modules, the ops' and the run interpreter's range masks
 * (assembled from .wat files by scripts/assemble-wasm.mjs into base64 constants): each compiled
 * once per thread, each instance
 * with a memory of its own. Where WebAssembly SIMD is missing, `compiledOnce` gives null and the
 * kernels keep their JavaScript loops.
 *
 * @example
 * ```ts
 * const tapSumModule = compiledOnce(TAP_SUM_WASM)
 * const module = tapSumModule()
 * if (module !== null) {
 *   const { buffer, exports } = instantiate(module, 65536)
 * }
 * ```
 */

// The project's TypeScript libraries do not declare WebAssembly; what is used of it:
declare const WebAssembly: {
  readonly Module: new (bytes: Uint8Array) => object
  readonly Instance: new (module: object, imports: object) => { readonly exports: Record<string, unknown> }
  readonly Memory: new (descriptor: { initial: number }) => { readonly buffer: ArrayBuffer }
}

/** A WebAssembly page: memories come in whole pages. */
export const WASM_PAGE = 65536

/** A function giving the module of `base64`, compiled on its first call; null without SIMD. */
export const compiledOnce = (base64: string): (() => object | null) => {
  let compiled: object | null | undefined
  return () => {
    if (compiled === undefined) {
      try {
        compiled = new WebAssembly.Module(Uint8Array.from(atob(base64), (c) => c.charCodeAt(0)))
      } catch {
        compiled = null
      }
    }
    return compiled
  }
}

/** An instance of `module` with a memory of its own, `bytes` rounded up to whole pages. */
export const instantiate = (module: object, bytes: number): { readonly buffer: ArrayBuffer; readonly exports: Record<string, unknown> } => {
  const memory = new WebAssembly.Memory({ initial: Math.ceil(bytes / WASM_PAGE) })
  const instance = new WebAssembly.Instance(module, { env: { memory } })
  return { buffer: memory.buffer, exports: instance.exports }
}
