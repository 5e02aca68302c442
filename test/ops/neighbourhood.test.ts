/**
 * median, grey and binary morphology against scipy.ndimage (median_filter, grey_dilation,
 * grey_erosion, binary_dilation, binary_erosion with skimage.morphology.ball). All of these select
 * or compare input values, so every dtype must match exactly: no tolerance. Larger median windows,
 * and the 32-bit dtypes' coarse histogram on values across their whole range, are checked against
 * the selection method.
 */
import * as Effect from "effect/Effect"
import { describe, expect, it } from "vitest"
import type { BoundaryMode } from "../../src/algebra/boundary.js"
import { allocSlice, type DType } from "../../src/algebra/dtype.js"
import { volumeInfo } from "../../src/algebra/volume.js"
import { evaluate } from "../../src/interpreters/memory/index.js"
import { arraySource } from "../../src/io/memory.js"
import { cast } from "../../src/ops/pointwise.js"
import { dilate, erode, type Footprint } from "../../src/ops/binary.js"
import { median, medianMethod } from "../../src/ops/median.js"
import { greyDilate, greyErode } from "../../src/ops/morphology.js"
import { erase } from "../../src/ops/internal/volume.js"
import { casesOf, compare, expectedOf, runOp, type FixtureCase } from "./fixtures.js"

const exact = async (c: FixtureCase, run: Parameters<typeof runOp>[1]) => {
  const out = await runOp(c, run)
  expect(out.dtype).toBe(c.output.dtype)
  const r = compare(out.dtype, out.data, expectedOf(c))
  expect(r.differing, r.first).toBe(0)
}

const grey = (p: Readonly<Record<string, unknown>>) => ({
  radius: p.radius as number,
  mode: p.mode as BoundaryMode,
  cval: p.cval as number
})

describe("median = scipy.ndimage.median_filter(size=2R+1)", () => {
  it.each(casesOf("median").map((c) => [c.id, c] as const))("%s", (_, c) => exact(c, (alg, v) => median(alg, v, grey(c.params))))
})

describe("greyDilate / greyErode = scipy.ndimage.grey_dilation / grey_erosion(size=2R+1)", () => {
  it.each(casesOf("grey-dilate").map((c) => [c.id, c] as const))("%s", (_, c) =>
    exact(c, (alg, v) => greyDilate(alg, v, grey(c.params)))
  )
  it.each(casesOf("grey-erode").map((c) => [c.id, c] as const))("%s", (_, c) =>
    exact(c, (alg, v) => greyErode(alg, v, grey(c.params)))
  )
})

describe("dilate / erode = scipy.ndimage.binary_dilation / binary_erosion(border_value=0)", () => {
  const binary = (p: Readonly<Record<string, unknown>>) => ({ radius: p.radius as number, footprint: p.footprint as Footprint })
  it.each(casesOf("dilate").map((c) => [c.id, c] as const))("%s", (_, c) => exact(c, (alg, v) => erase(dilate(alg, v, binary(c.params)))))
  it.each(casesOf("erode").map((c) => [c.id, c] as const))("%s", (_, c) => exact(c, (alg, v) => erase(erode(alg, v, binary(c.params)))))
})

/** The median of `src` by its dtype's own method, and by selection (through float64), as arrays. */
const besideSelection = async (src: ReturnType<typeof arraySource>, dtype: DType, radius: number, mode: BoundaryMode, cval: number) => {
  const r = await Effect.runPromise(
    evaluate((alg) => {
      const v = alg.source(src)
      const viaSelection = cast(alg, median(alg, cast(alg, v, "float64"), { radius, mode, cval }), dtype)
      return { own: median(alg, v, { radius, mode, cval }), selection: viaSelection }
    })
  )
  return { own: Array.from(r.volumes.own!.data), selection: Array.from(r.volumes.selection!.data) }
}

describe("median: the histogram method = the selection method", () => {
  // The scipy fixtures cover radii 1 and 2 (5×5 rows per column, unrolled); larger windows loop,
  // checked here against selection on the same values.
  const make = (dtype: "uint8" | "int8" | "uint16" | "int16", shape: readonly [number, number, number], seed: number) => {
    const n = shape[0] * shape[1] * shape[2]
    const [lo, hi] = dtype === "uint8" ? [0, 255] : dtype === "int8" ? [-128, 127] : dtype === "uint16" ? [0, 65535] : [-32768, 32767]
    let s = seed
    const values = Array.from({ length: n }, (_, i) => {
      s = (s * 1103515245 + 12345) % 2147483648
      // Half smooth, half noise: both the short and the long median walks.
      const smooth = lo + ((hi - lo) * (0.5 + 0.4 * Math.sin(i / 5))) | 0
      return i % 2 === 0 ? smooth : lo + (s % (hi - lo + 1))
    })
    return arraySource(volumeInfo(dtype, shape), allocSlice(dtype, n).map((_, i) => values[i]!) as never)
  }
  const cases = [
    ["uint8", 3, "reflect"],
    ["uint8", 4, "nearest"],
    ["int8", 3, "wrap"],
    ["uint16", 3, "mirror"],
    ["uint16", 4, "reflect"],
    ["int16", 3, "constant"]
  ] as const
  it.each(cases)("%s radius %d mode %s", async (dtype, radius, mode) => {
    const { own, selection } = await besideSelection(make(dtype, [10, 9, 11], radius * 7919), dtype, radius, mode, 3)
    expect(medianMethod(dtype, mode, 3)).toBe("histogram")
    expect(own).toEqual(selection)
  })
})

describe("median: the coarse histogram (32-bit dtypes) = the selection method", () => {
  // Values spread over the whole key range: negatives, ±∞, subnormals, the extremes of int32 and
  // uint32, runs of equal values (many keys in one bin) and values a bin apart.
  const make = (dtype: "float32" | "int32" | "uint32", shape: readonly [number, number, number], seed: number) => {
    const n = shape[0] * shape[1] * shape[2]
    const data = allocSlice(dtype, n)
    const special =
      dtype === "float32"
        ? [Infinity, -Infinity, 1e-40, -1e-40, 3.4e38, -3.4e38, 1, 1.0000001, -1, -0.9999999]
        : dtype === "int32"
          ? [2147483647, -2147483648, 0, -1, 1, 65535, 65536, -65536]
          : [4294967295, 2147483648, 2147483647, 0, 65535, 65536]
    let s = seed
    for (let i = 0; i < n; i++) {
      s = (s * 1103515245 + 12345) % 2147483648
      const pick = s % 10
      data[i] =
        pick === 0
          ? special[(s >> 8) % special.length]!
          : pick < 4
            ? 7 // runs of one value
            : dtype === "float32"
              ? ((s / 2147483648) * 2 - 1) * 10 ** ((s % 7) - 3)
              : dtype === "int32"
                ? (s % 2000000) - 1000000
                : s * 2
    }
    return arraySource(volumeInfo(dtype, shape), data as never)
  }
  const cases = [
    ["float32", 1, "reflect"],
    ["float32", 3, "nearest"],
    ["float32", 2, "constant"],
    ["float32", 4, "wrap"],
    ["int32", 3, "mirror"],
    ["int32", 2, "constant"],
    ["uint32", 3, "reflect"],
    ["uint32", 1, "constant"]
  ] as const
  it.each(cases)("%s radius %d mode %s", async (dtype, radius, mode) => {
    // A float32 cval that float32 cannot hold exactly: it is rounded as it is stored.
    const cval = dtype === "float32" ? 0.1 : 3
    const { own, selection } = await besideSelection(make(dtype, [9, 8, 13], radius * 104729 + dtype.length), dtype, radius, mode, cval)
    expect(medianMethod(dtype, mode, cval)).toBe("coarse-histogram")
    expect(own).toEqual(selection)
  })
  it("falls back to selection for a cval the dtype cannot hold", () => {
    expect(medianMethod("int32", "constant", 0.5)).toBe("select")
    expect(medianMethod("uint32", "constant", -1)).toBe("select")
    expect(medianMethod("float32", "constant", Number.NaN)).toBe("select")
    expect(medianMethod("float64", "reflect", 0)).toBe("select")
  })
})
