/**
 * uniform, correlate and gaussian against scipy.ndimage.uniform_filter / correlate1d /
 * gaussian_filter (scipy 1.10).
 *
 * Tolerances, and why:
 * - uniform: none for integer dtypes (every sum is exact). Along z, scipy keeps a running sum
 *   (sum += in − out) where the window kernel sums its slices afresh (see src/ops/uniform.ts); for
 *   float inputs the two round differently: float32 results within one float32 ulp, float64 ones
 *   within 1e-15 × the largest |input| (the running sum's error is relative to the terms, not to
 *   the result, which can be much smaller after cancellation).
 * - gaussian with scipy's own weights (from the fixtures): none, for every dtype — this checks that
 *   the correlation runs the same float64 operations in the same order as scipy.
 * - gaussian with our weights: numpy's exp (its AVX-512 version on the machine that made the
 *   fixtures) and V8's Math.exp disagree in the last bit for about a quarter of arguments, so a
 *   weight can differ by an ulp or two. float32 results within 4 float32 ulps; float64 within
 *   1e-15 × the largest |input|; integers exact here (they could only differ where scipy's float64
 *   sum lies within ~1e-15 of an integer, which none of the fixtures hits).
 */
import { describe, expect, it } from "vitest"
import { correlate } from "../../src/ops/correlate.js"
import { gaussian, gaussianWeights, pairwiseSum } from "../../src/ops/gaussian.js"
import { uniform } from "../../src/ops/uniform.js"
import type { BoundaryMode } from "../../src/algebra/boundary.js"
import type { DType } from "../../src/algebra/dtype.js"
import { axes, casesOf, compare, expectedOf, inputOf, manifest, maxAbs, maxDiff, runOp, ulps64 } from "./fixtures.js"

const modeOf = (p: Readonly<Record<string, unknown>>) => (p.mode as BoundaryMode | undefined) ?? "reflect"
const dtypeOf = (p: Readonly<Record<string, unknown>>) => p.dtype as DType | undefined
const isFloatType = (d: DType) => d === "float32" || d === "float64"

describe("uniform = scipy.ndimage.uniform_filter", () => {
  it.each(casesOf("uniform").map((c) => [c.id, c] as const))("%s", async (_, c) => {
    const p = c.params
    const out = await runOp(c, (alg, v) =>
      uniform(alg, v, { size: axes(p.size), mode: modeOf(p), cval: p.cval as number, ...(dtypeOf(p) ? { dtype: dtypeOf(p)! } : {}) })
    )
    expect(out.dtype).toBe(c.output.dtype)
    const expected = expectedOf(c)
    const r = compare(out.dtype, out.data, expected)
    const floatInput = isFloatType(manifest.inputs[c.input]!.dtype)
    if (!floatInput) expect(r.differing, r.first).toBe(0)
    else if (out.dtype === "float64") expect(maxDiff(out.data, expected), r.first).toBeLessThanOrEqual(1e-15 * maxAbs(inputOf(c).data))
    else expect(r.worst, r.first).toBeLessThanOrEqual(1)
  })
})

describe("correlate = scipy.ndimage.correlate1d along z, y, x: bit-identical", () => {
  // Symmetric, anti-symmetric, general and even-length weights; the same float64 operations in the
  // same order as scipy, so every dtype must match exactly.
  it.each(casesOf("correlate").map((c) => [c.id, c] as const))("%s", async (_, c) => {
    const p = c.params
    const [wz, wy, wx] = p.weights as ReadonlyArray<ReadonlyArray<number> | null>
    const out = await runOp(c, (alg, v) =>
      correlate(alg, v, {
        z: wz ?? undefined,
        y: wy ?? undefined,
        x: wx ?? undefined,
        mode: modeOf(p),
        cval: p.cval as number,
        ...(dtypeOf(p) ? { dtype: dtypeOf(p)! } : {})
      })
    )
    expect(out.dtype).toBe(c.output.dtype)
    const r = compare(out.dtype, out.data, expectedOf(c))
    expect(r.differing, r.first).toBe(0)
  })
})

describe("gaussian = scipy.ndimage.gaussian_filter", () => {
  it("pairwiseSum is numpy's sum, bit for bit (n < 8, 8 … 128, > 128)", () => {
    for (const g of manifest.gaussianWeights) {
      expect(pairwiseSum(Float64Array.from(g.exp)), `σ=${g.sigma} n=${g.exp.length}`).toBe(g.sum)
    }
  })

  it("gaussianWeights are scipy's up to the last bits of exp", () => {
    let worst = 0
    let differing = 0
    let total = 0
    for (const g of manifest.gaussianWeights) {
      const w = gaussianWeights(g.sigma, g.truncate)
      expect(w.length).toBe(g.weights.length)
      for (let i = 0; i < w.length; i++) {
        const d = ulps64(w[i]!, g.weights[i]!)
        total++
        if (d > 0) differing++
        worst = Math.max(worst, d)
      }
    }
    expect(worst).toBeLessThanOrEqual(4)
    // Log-free record of how close: at most a few ulps, on a fraction of the weights.
    expect(differing).toBeLessThan(total)
  })

  it.each(casesOf("gaussian").map((c) => [c.id, c] as const))("%s, with scipy's weights: bit-identical", async (_, c) => {
    const p = c.params
    const [wz, wy, wx] = c.scipyWeights!
    const out = await runOp(c, (alg, v) =>
      correlate(alg, v, {
        z: wz ?? undefined,
        y: wy ?? undefined,
        x: wx ?? undefined,
        mode: modeOf(p),
        cval: p.cval as number,
        ...(dtypeOf(p) ? { dtype: dtypeOf(p)! } : {})
      })
    )
    expect(out.dtype).toBe(c.output.dtype)
    const r = compare(out.dtype, out.data, expectedOf(c))
    expect(r.differing, r.first).toBe(0)
  })

  it.each(casesOf("gaussian").map((c) => [c.id, c] as const))("%s", async (_, c) => {
    const p = c.params
    const out = await runOp(c, (alg, v) =>
      gaussian(alg, v, {
        sigma: axes(p.sigma),
        truncate: p.truncate as number,
        mode: modeOf(p),
        cval: p.cval as number,
        ...(dtypeOf(p) ? { dtype: dtypeOf(p)! } : {})
      })
    )
    expect(out.dtype).toBe(c.output.dtype)
    const expected = expectedOf(c)
    const r = compare(out.dtype, out.data, expected)
    if (out.dtype === "float64") expect(maxDiff(out.data, expected), r.first).toBeLessThanOrEqual(1e-15 * maxAbs(inputOf(c).data))
    else if (out.dtype === "float32") expect(r.worst, r.first).toBeLessThanOrEqual(4)
    else expect(r.differing, r.first).toBe(0)
  })
})
