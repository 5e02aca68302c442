/**
 * The reducers against numpy / skimage (fixtures of scripts/fixtures/make_label_fixtures.py),
 * through the memory interpreter and the run interpreter: min/max, histograms, per-value and
 * per-label counts and unique values exactly; mean and std in float64 to 1e-12 relative (numpy sums
 * pairwise, slicewise per slice then in z order; integer means are exact). And every reducer gives
 * the same result whatever order the slices come in.
 */
import * as Effect from "effect/Effect"
import { describe, expect, it } from "vitest"
import type { Algebra, Repr } from "../../src/algebra/algebra.js"
import { isFloat, type DType, type VoxelArray } from "../../src/algebra/dtype.js"
import type { Reducer } from "../../src/algebra/kernel.js"
import { volumeInfo, type Shape } from "../../src/algebra/volume.js"
import * as Memory from "../../src/interpreters/memory/index.js"
import * as Run from "../../src/interpreters/run/index.js"
import { arraySource } from "../../src/io/memory.js"
import { arrayOf, labelManifest, num, type Num } from "./label-fixtures.js"
import {
  countPerLabel,
  histogram,
  integerHistogram,
  MAX_INTEGER_BINS,
  minMax,
  stats,
  uniqueCounts,
  type IntegerDType
} from "../../src/ops/reducers.js"

// --- fixtures (test/fixtures/label) --------------------------------------------------------------

interface ReducerCase {
  readonly id: string
  readonly input: string
  readonly count: number
  readonly min: Num
  readonly max: Num
  readonly mean: Num
  readonly std: Num
  readonly histogram?: {
    readonly bins: number
    readonly range: readonly [number, number]
    readonly counts: ReadonlyArray<number>
    readonly edges: ReadonlyArray<Num>
  }
  readonly integerHistogram?: { readonly min: number; readonly max: number; readonly bins: number; readonly nonzero: ReadonlyArray<readonly [number, number]> }
  readonly countPerLabel?: ReadonlyArray<number>
  readonly uniqueCounts?: { readonly values: ReadonlyArray<Num>; readonly counts: ReadonlyArray<number> }
}

const manifest = labelManifest as typeof labelManifest & { readonly reducers: ReadonlyArray<ReducerCase> }

const relative = (a: number, b: number): number => (a === b ? 0 : Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b)))

// -------------------------------------------------------------------------------------------------

describe("reducers = numpy / skimage (fixtures)", () => {
  it.each(manifest.reducers.map((c) => [c.id, c] as const))("%s", async (_, c) => {
    const { info, data } = arrayOf(c.input)
    const src = arraySource(info as never, data as never, c.input)
    const integer = !isFloat(info.dtype)
    const program = <F extends Repr>(alg: Algebra<F>) => {
      const v = alg.source(src)
      const iv = v as never as Parameters<typeof alg.reduce<IntegerDType, unknown>>[0]
      return {
        minMax: alg.reduce(v, minMax()),
        stats: alg.reduce(v, stats()),
        unique: alg.reduce(v, uniqueCounts()),
        ...(c.histogram ? { histogram: alg.reduce(v, histogram({ bins: c.histogram.bins, range: c.histogram.range })) } : {}),
        ...(integer ? { integerHistogram: alg.reduce(iv, integerHistogram()) } : {}),
        ...(c.countPerLabel ? { countPerLabel: alg.reduce(iv, countPerLabel()) } : {})
      }
    }
    const mem = await Effect.runPromise(Memory.evaluate(program))
    const run = await Effect.runPromise(Run.run(program))
    for (const r of [mem.scalars, run.scalars]) {
      const mm = r.minMax as { min: number; max: number }
      expect([mm.min, mm.max]).toEqual([num(c.min), num(c.max)])
      const s = r.stats as { count: number; min: number; max: number; mean: number; std: number }
      expect([s.count, s.min, s.max]).toEqual([c.count, num(c.min), num(c.max)])
      if (integer) expect(s.mean).toBe(num(c.mean))
      else expect(relative(s.mean, num(c.mean))).toBeLessThan(1e-12)
      expect(relative(s.std, num(c.std))).toBeLessThan(1e-12)
      const u = r.unique as { values: Float64Array; counts: Float64Array }
      // numpy keeps whichever zero sorts first (here −0); slicewise documents +0.
      expect(Array.from(u.values)).toEqual(c.uniqueCounts!.values.map((v) => num(v) + 0))
      expect(Array.from(u.counts)).toEqual(c.uniqueCounts!.counts)
      if (c.histogram) {
        const h = r.histogram as { edges: Float64Array; counts: Float64Array }
        expect(Array.from(h.edges)).toEqual(c.histogram.edges.map(num))
        expect(Array.from(h.counts)).toEqual(c.histogram.counts)
      }
      if (c.integerHistogram) {
        const h = r.integerHistogram as { min: number; max: number; counts: Float64Array }
        expect([h.min, h.max, h.counts.length]).toEqual([c.integerHistogram.min, c.integerHistogram.max, c.integerHistogram.bins])
        const nonzero: Array<[number, number]> = []
        h.counts.forEach((n, i) => n !== 0 && nonzero.push([i, n]))
        expect(nonzero).toEqual(c.integerHistogram.nonzero)
      }
      if (c.countPerLabel) expect(Array.from(r.countPerLabel as Float64Array)).toEqual(c.countPerLabel)
    }
  })

  it("covers every reducer and dtype family", () => {
    const cases = manifest.reducers
    expect(new Set(cases.map((c) => manifest.arrays[c.input]!.dtype))).toEqual(
      new Set(["uint8", "int16", "uint16", "int32", "uint32", "float32", "float64"])
    )
    expect(cases.filter((c) => c.histogram).length).toBeGreaterThanOrEqual(6)
    expect(cases.filter((c) => c.integerHistogram).length).toBe(5)
    expect(cases.filter((c) => c.countPerLabel).length).toBe(3)
  })
})

// --- order independence --------------------------------------------------------------------------

/** Folds `data` slice by slice in ascending z, then in descending z. */
const bothOrders = <D extends DType, A>(reducer: Reducer<D, A>, shape: Shape, data: VoxelArray): readonly [A, A] => {
  const info = volumeInfo(data instanceof Float64Array ? "float64" : "float32", shape) as never
  const n = shape[1] * shape[2]
  const up = reducer.start(info)
  for (let z = 0; z < shape[0]; z++) up.add(data.subarray(z * n, (z + 1) * n) as never, z)
  const down = reducer.start(info)
  for (let z = shape[0] - 1; z >= 0; z--) down.add(data.subarray(z * n, (z + 1) * n) as never, z)
  return [up.result(), down.result()]
}

describe("reducers: the same result in a backward pass", () => {
  // Values of very different magnitudes, so that a sum's rounding depends on its order.
  const shape: Shape = [9, 7, 5]
  const data = Float64Array.from({ length: 9 * 35 }, (_, i) => Math.sin(i * 1.7) * 10 ** ((i % 9) - 3) + (i === 40 ? -0 : 0))
  it.each([
    ["minMax", minMax()],
    ["stats", stats()],
    ["histogram", histogram({ bins: 10, range: [-50, 50] })],
    ["uniqueCounts", uniqueCounts()]
  ] as const)("%s", (_, reducer) => {
    const [up, down] = bothOrders(reducer as Reducer<DType, unknown>, shape, data)
    expect(down).toEqual(up)
  })

  it("stats: bit-identical in both orders", () => {
    const [up, down] = bothOrders(stats(), shape, data)
    expect(Object.is(up.mean, down.mean) && Object.is(up.std, down.std)).toBe(true)
  })

  it("a backward run gives what a forward run gives", async () => {
    const src = arraySource(volumeInfo("float64", shape), data)
    const forward = await Effect.runPromise(Run.run((alg) => ({ s: alg.reduce(alg.source(src), stats()) })))
    const mem = await Effect.runPromise(Memory.evaluate((alg) => ({ s: alg.reduce(alg.source(src), stats()) })))
    expect(forward.scalars.s).toEqual(mem.scalars.s)
  })
})

// --- edge cases ----------------------------------------------------------------------------------

describe("reducers: edge cases", () => {
  it("NaN propagates through minMax and stats, as numpy's", () => {
    const [r] = bothOrders(stats(), [2, 1, 2], Float32Array.from([1, 2, NaN, 4]))
    expect(r.min).toBeNaN()
    expect(r.mean).toBeNaN()
    expect(r.count).toBe(4)
  })

  it("histogram: values outside the range and NaN are not counted; the last bin includes its edge", () => {
    const [h] = bothOrders(histogram({ bins: 2, range: [0, 2] }), [1, 1, 6], Float64Array.from([-1, 0, 1, 2, 3, NaN]))
    expect(Array.from(h.counts)).toEqual([1, 2])
    expect(Array.from(h.edges)).toEqual([0, 1, 2])
  })

  it("histogram: rejects a bad range while the program is built", () => {
    expect(() => histogram({ bins: 4, range: [3, 1] })).toThrow(/min ≤ max/)
    expect(() => histogram({ bins: 0, range: [0, 1] })).toThrow(/positive integer/)
  })

  it("integerHistogram: int32 values that move about grow the table; too wide a span is refused", () => {
    const r = integerHistogram<"int32">().start(volumeInfo("int32", [3, 1, 2]))
    r.add(Int32Array.from([5, 7]), 0)
    r.add(Int32Array.from([-3000, 9]), 1)
    r.add(Int32Array.from([100000, 5]), 2)
    const h = r.result()
    expect([h.min, h.max, h.counts.length]).toEqual([-3000, 100000, 103001])
    expect([h.counts[0], h.counts[5 + 3000], h.counts[103000]]).toEqual([1, 2, 1])
    const wide = integerHistogram<"uint32">().start(volumeInfo("uint32", [1, 1, 2]))
    expect(() => wide.add(Uint32Array.from([0, MAX_INTEGER_BINS + 5]), 0)).toThrow(/uniqueCounts/)
  })

  it("countPerLabel: np.bincount, negative labels not counted; a table for alg.lookup", async () => {
    const src = arraySource(volumeInfo("int16", [2, 2, 2]), Int16Array.from([0, 3, 3, -1, 0, 0, 3, 1]))
    const program = <F extends Repr>(alg: Algebra<F>) => {
      const v = alg.source(src)
      const sizes = alg.reduce(v, countPerLabel())
      return { sizes, size: alg.map(v, (l) => alg.lookup(sizes, l), { dtype: "uint16" }) }
    }
    for (const r of [await Effect.runPromise(Memory.evaluate(program)), await Effect.runPromise(Run.run(program))]) {
      expect(Array.from(r.scalars.sizes as Float64Array)).toEqual([3, 1, 0, 3])
      expect(Array.from(r.volumes.size!.data)).toEqual([3, 3, 3, 0, 3, 3, 3, 1])
    }
  })

  it("uniqueCounts: −0 and +0 are one value; NaNs one value, last; many distinct values", () => {
    const [u] = bothOrders(uniqueCounts(), [1, 1, 6], Float64Array.from([0, -0, NaN, 2, NaN, -1]))
    expect(Array.from(u.values)).toEqual([-1, 0, 2, NaN])
    expect(Array.from(u.counts)).toEqual([1, 2, 1, 2])
    const many = Float64Array.from({ length: 50000 }, (_, i) => (i * 7919) % 20011)
    const [m] = bothOrders(uniqueCounts(), [10, 50, 100], many)
    expect(m.values.length).toBe(20011)
    expect(m.counts.reduce((a, b) => a + b, 0)).toBe(50000)
  })
})
