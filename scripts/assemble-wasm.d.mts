/** A WebAssembly text source, the TypeScript module generated from it and its constant's name. */
export interface WasmSource {
  readonly wat: string
  readonly out: string
  readonly name: string
}
/** Every source `node scripts/assemble-wasm.mjs` assembles. */
export declare const WASM_SOURCES: ReadonlyArray<WasmSource>
/** The module `wat` (a path from the repository's root) assembles to with wabt, base64. */
export declare const assembleWasm: (wat: string) => Promise<string>
/** The module of src/ops/internal/tap-sum.wat assembled by wabt, base64. */
export declare const assembleTapSum: () => Promise<string>
