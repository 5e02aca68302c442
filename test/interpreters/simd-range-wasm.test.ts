/** The range loops' WebAssembly is what simd-range.wat assembles to (scripts/assemble-wasm.mjs). */
import { describe, expect, it } from "vitest"
import { SIMD_RANGE_WASM } from "../../src/interpreters/run/simd-range-wasm.js"
import { assembleWasm } from "../../scripts/assemble-wasm.mjs"

describe("simd-range.wat", () => {
  it("is what simd-range-wasm.ts holds", async () => {
    expect(SIMD_RANGE_WASM).toBe(await assembleWasm("src/interpreters/run/simd-range.wat"))
  })
})
