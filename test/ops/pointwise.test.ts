/**
 * cast and threshold against numpy (the cast rule: truncate toward zero, then saturate — not
 * numpy's wrap-around, so the fixture computes np.clip(np.trunc(v), lo, hi)); the other pointwise
 * helpers on small inline volumes. Integer results: exact.
 */
import * as Effect from "effect/Effect"
import { describe, expect, it } from "vitest"
import type { DType } from "../../src/algebra/dtype.js"
import { volumeInfo } from "../../src/algebra/volume.js"
import { evaluate } from "../../src/interpreters/memory/index.js"
import { arraySource } from "../../src/io/memory.js"
import { binarize, cast, clamp, linear, threshold } from "../../src/ops/pointwise.js"
import { erase } from "../../src/ops/internal/volume.js"
import { casesOf, compare, expectedOf, runOp } from "./fixtures.js"

describe("cast = the cast rule", () => {
  it.each(casesOf("cast").map((c) => [c.id, c] as const))("%s", async (_, c) => {
    const out = await runOp(c, (alg, v) => cast(alg, v, c.params.dtype as DType))
    expect(out.dtype).toBe(c.params.dtype)
    const r = compare(out.dtype, out.data, expectedOf(c))
    expect(r.differing, r.first).toBe(0)
  })
})

describe("threshold: 1 where min ≤ v ≤ max", () => {
  it.each(casesOf("threshold").map((c) => [c.id, c] as const))("%s", async (_, c) => {
    const p = c.params as { min: number; max?: number }
    const out = await runOp(c, (alg, v) => erase(threshold(alg, v, p.max === undefined ? { min: p.min } : { min: p.min, max: p.max })))
    expect(out.dtype).toBe("uint8")
    const r = compare(out.dtype, out.data, expectedOf(c))
    expect(r.differing, r.first).toBe(0)
  })

  it("threshold:min=128 on uint8 is v >= 128", async () => {
    const data = Uint8Array.from({ length: 256 }, (_, i) => i)
    const src = arraySource(volumeInfo("uint8", [1, 16, 16]), data)
    const r = await Effect.runPromise(evaluate((alg) => ({ m: threshold(alg, alg.source(src), { min: 128 }) })))
    expect(Array.from(r.volumes.m!.data)).toEqual(Array.from(data, (v) => (v >= 128 ? 1 : 0)))
  })
})

describe("binarize, linear, clamp", () => {
  const data = Float32Array.of(-2.5, -1, 0, 0.5, 1, 2.75, 100, 300, Number.NaN, -0)
  const src = arraySource(volumeInfo("float32", [1, 2, 5]), data)
  it("computes in float64 and stores with the cast rule", async () => {
    const r = await Effect.runPromise(
      evaluate((alg) => {
        const v = alg.source(src)
        return {
          b: binarize(alg, v),
          l: linear(alg, v, { scale: 2, offset: 1, dtype: "uint8" }),
          c: clamp(alg, v, { min: -1, max: 2 })
        }
      })
    )
    // NaN is non-zero (as numpy's bool(nan)); -0 is zero.
    expect(Array.from(r.volumes.b!.data)).toEqual([1, 1, 0, 1, 1, 1, 1, 1, 1, 0])
    // 2v + 1: -4, -1, 1, 2, 3, 6.5, 201, 601, NaN, 1 → truncate, saturate, NaN → 0.
    expect(Array.from(r.volumes.l!.data)).toEqual([0, 0, 1, 2, 3, 6, 201, 255, 0, 1])
    expect(r.volumes.c!.info.dtype).toBe("float32")
    expect(Array.from(r.volumes.c!.data).slice(0, 8)).toEqual([-1, -1, 0, 0.5, 1, 2, 2, 2])
  })
})
