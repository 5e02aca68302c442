import * as fs from "node:fs"
import { describe, expect, it } from "vitest"
import { analyseWeights } from "../../src/ops/correlate.js"
import { gaussianWeights } from "../../src/ops/gaussian.js"
import { tapSum } from "../../src/ops/internal/loops.js"
import { TAP_SUM_WASM } from "../../src/ops/internal/tap-sum-wasm.js"
import { WasmTapSum, type WasmTapDType } from "../../src/ops/internal/wasm-taps.js"
import { assembleTapSum } from "../../scripts/assemble-wasm.mjs"

type TapArray = Uint8Array | Uint16Array | Float32Array
const arrayOf = (dtype: WasmTapDType, n: number): TapArray =>
  dtype === "uint8" ? new Uint8Array(n) : dtype === "uint16" ? new Uint16Array(n) : new Float32Array(n)

/** float32 values that stress rounding: wide exponents, signs, subnormals, infinities, NaN. */
const FLOAT_EXTREMES = [3.4e38, -3.4e38, 1e-40, -1e-45, Infinity, -Infinity, NaN, 0, -0, 16777217, 1 / 3]

/**
 * Deterministic voxels: noise, or runs of the lowest and highest value (the saturating ends; for
 * float32, the values of FLOAT_EXTREMES).
 */
const voxelsOf = (dtype: WasmTapDType, n: number, seed: number, kind: "noise" | "extremes"): TapArray => {
  const a = arrayOf(dtype, n)
  const max = dtype === "uint8" ? 255 : 65535
  let s = seed >>> 0
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0
    if (dtype === "float32") a[i] = kind === "noise" ? ((s >>> 8) - 2 ** 23) * 2 ** ((s & 63) - 40) : FLOAT_EXTREMES[(s >>> 20) % FLOAT_EXTREMES.length]!
    else a[i] = kind === "noise" ? (s >>> 8) & max : (s >>> 20) & 1 ? max : 0
  }
  return a
}

/** The same value, NaN equal to NaN (the payload of a NaN is not compared). */
const same = (a: number, b: number) => a === b || (a !== a && b !== b)

describe("WasmTapSum: WebAssembly SIMD tap sums", () => {
  it("is what tap-sum.wat assembles to", async () => {
    expect(TAP_SUM_WASM).toBe(await assembleTapSum())
    expect(fs.existsSync(new URL("../../src/ops/internal/tap-sum.wat", import.meta.url))).toBe(true)
  })

  const weightSets: ReadonlyArray<{ name: string; weights: ArrayLike<number> }> = [
    { name: "gaussian σ 0.5", weights: gaussianWeights(0.5) },
    { name: "gaussian σ 2", weights: gaussianWeights(2) },
    { name: "gaussian σ 3.3", weights: gaussianWeights(3.3) },
    { name: "[1, 2, 1] / 4", weights: [0.25, 0.5, 0.25] },
    { name: "one tap", weights: [0.7] },
    // Sums above 255 and below 0: the cast saturates.
    { name: "sum above 1", weights: [0.6, 0.9, 0.6] },
    // Sums above 65535 for uint16 too.
    { name: "sum far above 1", weights: [2.5, 1.5, 2.5] },
    { name: "mixed signs", weights: [-0.7, 0.3, 1.9, 0.3, -0.7] }
  ]

  for (const dtype of ["uint8", "uint16", "float32"] as const) {
    for (const { name, weights } of weightSets) {
      it(`gives the JavaScript loop's voxels: ${dtype}, ${name}, every length 1–40 and 509`, () => {
        const k = analyseWeights(weights)
        expect(k.symmetry).toBe(1)
        const taps = k.weights.length
        const js = tapSum(k, dtype, true, dtype, "-test")
        for (const kind of ["noise", "extremes"] as const) {
          for (const n of [...Array.from({ length: 40 }, (_, i) => i + 1), 509]) {
            const lines = voxelsOf(dtype, taps * n + 3, n * 31 + taps, kind)
            // Taps at scattered offsets, as a y sum's reflected rows are.
            const offs = Int32Array.from({ length: taps }, (_, t) => ((t * 7) % taps) * n + (t % 3))
            const expected = arrayOf(dtype, n)
            js(expected, 0, n, [lines], offs, k.weights)
            const wasm = WasmTapSum.make(dtype, k, lines.length, n)!
            expect(wasm).toBeDefined()
            wasm.voxels.set(lines, 0)
            wasm.sum(wasm.outAt, n, offs)
            const got = wasm.voxels.subarray(wasm.outAt, wasm.outAt + n)
            let first = -1
            for (let i = 0; i < n && first < 0; i++) if (!same(got[i]!, expected[i]!) || Object.is(got[i], -0) !== Object.is(expected[i], -0)) first = i
            expect(first, `${kind}, n ${n}: first differing voxel`).toBe(-1)
          }
        }
      })
    }
  }

  it("declines weights it does not sum: even lengths, asymmetric ones", () => {
    expect(WasmTapSum.make("uint8", analyseWeights([0.5, 0.5]), 16, 16)).toBeUndefined()
    expect(WasmTapSum.make("uint16", analyseWeights([0.2, 0.5, 0.3]), 16, 16)).toBeUndefined()
    expect(WasmTapSum.make("uint8", analyseWeights([-0.5, 0, 0.5]), 16, 16)).toBeUndefined()
  })
})
