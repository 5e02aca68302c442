/**
 * otsu / otsuThreshold = skimage.filters.threshold_otsu (skimage 0.19, numpy 1.24), on the fixtures
 * of scripts/fixtures/make_label_fixtures.py: the threshold compared exactly (it is one of
 * skimage's bin centres or an integer value, computed with the same float64 operations in the same
 * order), the mask voxel for voxel, through the memory interpreter and the run interpreter (fused
 * and unfused). For float images the bin grid (numpy's edges, skimage's centres) and every voxel's
 * bin are checked against skimage's histogram too.
 */
import * as Effect from "effect/Effect"
import { describe, expect, it } from "vitest"
import type { Algebra, Repr } from "../../src/algebra/algebra.js"
import { volumeInfo } from "../../src/algebra/volume.js"
import * as Memory from "../../src/interpreters/memory/index.js"
import * as Plan from "../../src/interpreters/plan/index.js"
import * as Run from "../../src/interpreters/run/index.js"
import { arraySource } from "../../src/io/memory.js"
import { arrayOf, labelManifest, num, type Num } from "./label-fixtures.js"
import { otsu, otsuFromHistogram, otsuGrid, otsuThreshold } from "../../src/ops/otsu.js"
import { binOf, uniformBins } from "../../src/ops/reducers.js"

// --- fixtures (test/fixtures/label) --------------------------------------------------------------

interface OtsuCase {
  readonly id: string
  readonly input: string
  readonly threshold: Num
  readonly thresholdType: string
  readonly mask: string
  readonly histogram?: { readonly counts: ReadonlyArray<number>; readonly centers: ReadonlyArray<Num> }
}

const manifest = labelManifest as typeof labelManifest & { readonly otsu: ReadonlyArray<OtsuCase> }

const differing = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let n = a.length === b.length ? 0 : Infinity
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) n++
  return n
}

// -------------------------------------------------------------------------------------------------

describe("otsu = skimage.filters.threshold_otsu (fixtures)", () => {
  it.each(manifest.otsu.map((c) => [c.id, c] as const))("%s", async (_, c) => {
    const { info, data } = arrayOf(c.input)
    const src = arraySource(info as never, data as never, c.input)
    const program = <F extends Repr>(alg: Algebra<F>) => {
      const v = alg.source(src)
      return { t: otsuThreshold(alg, v), mask: otsu(alg, v) }
    }
    const expectedMask = arrayOf(c.mask).data
    const mem = await Effect.runPromise(Memory.evaluate(program))
    const fused = await Effect.runPromise(Run.run(program))
    const unfused = await Effect.runPromise(Run.run(program, { rewrites: [] }))
    for (const [name, r] of [
      ["memory", { t: mem.scalars.t, mask: mem.volumes.mask! }],
      ["run", { t: fused.scalars.t, mask: fused.volumes.mask! }],
      ["run unfused", { t: unfused.scalars.t, mask: unfused.volumes.mask! }]
    ] as const) {
      expect(r.t, `${name} threshold`).toBe(num(c.threshold))
      expect(r.mask.info.dtype).toBe("uint8")
      expect(differing(r.mask.data, expectedMask), `${name} mask voxels differing`).toBe(0)
    }
    // Passes: integers histogram → threshold; floats min/max → histogram → threshold.
    const plan = await Effect.runPromise(Plan.make((alg) => ({ mask: otsu(alg, alg.source(src)) })))
    expect(plan.passes).toHaveLength(info.dtype.startsWith("float") ? 3 : 2)
  })

  it("covers every dtype, constant images and a range of a few ulps", () => {
    const dtypes = new Set(manifest.otsu.map((c) => manifest.arrays[c.input]!.dtype))
    expect(dtypes).toEqual(new Set(["uint8", "int8", "uint16", "int16", "uint32", "int32", "float32", "float64"]))
    expect(manifest.otsu.filter((c) => c.id.includes("constant")).length).toBe(2)
  })
})

describe("otsu: numpy's bins for float images", () => {
  const floats = manifest.otsu.filter((c) => c.histogram !== undefined)
  it.each(floats.map((c) => [c.id, c] as const))("%s: skimage's bin centres and every voxel's bin", (_, c) => {
    const { info, data } = arrayOf(c.input)
    let min = Infinity
    let max = -Infinity
    for (let i = 0; i < data.length; i++) {
      min = Math.min(min, data[i]!)
      max = Math.max(max, data[i]!)
    }
    const float32 = info.dtype === "float32"
    const grid = otsuGrid({ min, max }, float32)
    expect(Array.from(grid.centers)).toEqual(c.histogram!.centers.map(num))
    const bins = uniformBins(min, max, 256, float32, float32)
    const counts = new Array(256).fill(0)
    for (let i = 0; i < data.length; i++) counts[binOf(bins, data[i]!)]++
    expect(counts).toEqual(c.histogram!.counts)
    // And skimage's criterion over skimage's own histogram gives the threshold.
    expect(otsuFromHistogram(c.histogram!.counts, c.histogram!.centers.map(num))).toBe(num(c.threshold))
  })
})

describe("otsu: the criterion", () => {
  it("is skimage's formula (first maximum of w1·w2·(m1 − m2)²)", () => {
    expect(otsuFromHistogram([5, 0, 3, 9], [10, 11, 12, 13])).toBe(10)
    expect(otsuFromHistogram([9, 3, 0, 0, 5], [10, 11, 12, 13, 14])).toBe(11)
    expect(otsuFromHistogram([4], [7])).toBe(7)
    // Empty bins inside never change the answer (they repeat the previous bin's variance) …
    expect(otsuFromHistogram([9, 3, 5], [10, 11, 14])).toBe(11)
    // … but an empty first bin makes numpy's 0/0, a NaN that np.argmax picks.
    expect(otsuFromHistogram([0, 3, 5], [10, 11, 14])).toBe(10)
  })

  it("gives NaN (an empty mask) for NaN data, where skimage raises", async () => {
    const src = arraySource(volumeInfo("float32", [1, 1, 3]), Float32Array.from([1, NaN, 2]))
    const program = <F extends Repr>(alg: Algebra<F>) => ({ t: otsuThreshold(alg, alg.source(src)), mask: otsu(alg, alg.source(src)) })
    for (const r of [await Effect.runPromise(Memory.evaluate(program)), await Effect.runPromise(Run.run(program))]) {
      expect(r.scalars.t).toBeNaN()
      expect(Array.from(r.volumes.mask!.data)).toEqual([0, 0, 0])
    }
  })

  it("thresholds a uint32 image whose range skimage could not bin (4·10⁹ values)", async () => {
    const data = Uint32Array.from({ length: 60 }, (_, i) => (i < 20 ? 5 + i : 4_000_000_000 - i))
    const src = arraySource(volumeInfo("uint32", [3, 4, 5]), data)
    const r = await Effect.runPromise(Run.run((alg) => ({ t: otsuThreshold(alg, alg.source(src)) })))
    expect(r.scalars.t).toBe(24)
  })
})
