/**
 * Otsu's threshold, as skimage.filters.threshold_otsu(image) (skimage 0.19, numpy 1.24), and the
 * mask of the voxels above it. Built from reductions, derived scalars and pointwise maps, so the
 * planner makes the passes:
 *
 * - 8- and 16-bit integers: one bin per integer value over [min, max] (skimage ignores `nbins` for
 *   integer images): a histogram pass (`integerHistogram`), then the threshold pass. 2 passes.
 * - 32-bit integers: the same histogram, kept sparse (`uniqueCounts`: a dense table over an int32
 *   range could need gigabytes, as skimage's np.bincount does). 2 passes.
 * - floats: `np.histogram(image, bins=256)` over [min, max]: a min/max pass; a pass that maps each
 *   voxel to its bin with numpy's own index arithmetic (float32 arithmetic for float32 volumes, as
 *   numpy does) and counts the bins; the threshold pass. 3 passes.
 *
 * The threshold is the centre of the bin that maximises the between-class variance, computed with
 * skimage's formula in the same order (float64 cumulative sums, np.argmax's first maximum, NaN
 * winning), so it is the same number, not an approximation: the tests compare it exactly. Where
 * the histogram is sparse, empty bins are left out; that changes nothing (an empty bin repeats the
 * previous bin's variance, and argmax takes the first maximum).
 *
 * How the float histogram reaches the threshold: a derived scalar is a function of one scalar, and
 * the threshold needs both the counts (pass 2) and the bin grid (from pass 1's min and max). So the
 * pass-2 map sends the grid along with the counts: a voxel equal to the minimum or the maximum
 * stays itself, every other voxel becomes a code for its bin, −2¹⁰⁰⁰·(1 + bin/512) (exact, and
 * below any value the volume holds); the counts of the distinct values (`uniqueCounts`, ≤ 258 of
 * them) then hold min and max, from which the threshold's derivation rebuilds numpy's grid and puts
 * the extremes in their bins. (A `derive` over two scalars in the algebra would make this a plain
 * bincount of bin indices.)
 *
 * A constant image gives its value as the threshold (as skimage, which returns the first pixel), so
 * the mask is empty. Deviations: where skimage raises (NaN or infinite float data) the threshold is
 * NaN and the mask empty; so it is for float data below −2¹⁰⁰⁰ (about −1e301), which the bin codes
 * cannot stay below. skimage's 3-D "looks like RGB" warning (last axis 3 or 4) is not given.
 *
 * @example
 * ```ts
 * const mask = otsu(alg, image)                  // uint8, 1 where v > t
 * const t = otsuThreshold(alg, image)            // the scalar, e.g. to print or reuse
 * ```
 */
import type { Algebra, Repr, Scalar, Volume } from "../algebra/algebra.js"
import { isFloat, type DType } from "../algebra/dtype.js"
import * as E from "../algebra/expr.js"
import { binOf, integerHistogram, minMax, uniformBins, uniqueCounts, type IntegerDType, type MinMax, type ValueCounts } from "./reducers.js"

/** skimage's `nbins` for float images. */
export const OTSU_BINS = 256

/**
 * skimage's Otsu criterion over a histogram: the centre of the bin that maximises
 * w1·w2·(m1 − m2)² (float64 cumulative sums in skimage's order; the first maximum). `counts` and
 * `centers` have the same length; a single bin gives its centre.
 *
 * @example
 * ```ts
 * otsuFromHistogram([5, 0, 3, 9], [10, 11, 12, 13])   // 10: the 5 apart from the 3 + 9
 * ```
 */
export const otsuFromHistogram = (counts: ArrayLike<number>, centers: ArrayLike<number>): number => {
  const n = counts.length
  if (n === 0) return NaN
  if (n === 1) return centers[0]!
  // Class 2 (bins ≥ i): reversed cumulative sums, as np.cumsum(x[::-1])[::-1].
  const w2 = new Float64Array(n)
  const s2 = new Float64Array(n)
  let a = 0
  let b = 0
  for (let i = n - 1; i >= 0; i--) {
    a += counts[i]!
    b += counts[i]! * centers[i]!
    w2[i] = a
    s2[i] = b
  }
  let w1 = 0
  let s1 = 0
  let best = -Infinity
  let idx = 0
  for (let i = 0; i < n - 1; i++) {
    w1 += counts[i]!
    s1 += counts[i]! * centers[i]!
    const d = s1 / w1 - s2[i + 1]! / w2[i + 1]!
    const v = w1 * w2[i + 1]! * (d * d)
    // np.argmax: the first maximum, and NaN counts as the maximum.
    if (v !== v) return centers[i]!
    if (v > best) {
      best = v
      idx = i
    }
  }
  return centers[idx]!
}

/**
 * The float histogram pass codes bin i as −CODE_SCALE·(1 + i/512): exact (i/512 and scaling by a
 * power of two are), distinct, and all ≤ −CODE_SCALE.
 */
const CODE_SCALE = 2 ** 1000

/** The bin grid of a float image, with what the bin map needs. */
export interface OtsuGrid {
  /** 0: no threshold (min or max not finite, or below −2¹⁰⁰⁰); 1: constant image; 2: a histogram. */
  readonly mode: 0 | 1 | 2
  readonly first: number
  readonly norm: number
  readonly edges: Float64Array
  /** skimage's bin centres, (e[i] + e[i + 1]) / 2 in the bin dtype. */
  readonly centers: Float64Array
}

/** numpy's 256 bins over [min, max] of a float image (float32 arithmetic for float32 data), and skimage's centres. */
export const otsuGrid = (m: MinMax, float32: boolean): OtsuGrid => {
  const none = { first: 0, norm: 0, edges: new Float64Array(0), centers: new Float64Array(0) }
  if (!Number.isFinite(m.min) || !Number.isFinite(m.max) || m.min <= -CODE_SCALE) return { mode: 0, ...none }
  if (m.min === m.max) return { mode: 1, ...none }
  const g = uniformBins(m.min, m.max, OTSU_BINS, float32, float32)
  if (!Number.isFinite(g.norm)) return { mode: 0, ...none }
  const store = float32 ? Math.fround : (v: number) => v
  const centers = new Float64Array(OTSU_BINS)
  for (let i = 0; i < OTSU_BINS; i++) centers[i] = store(store(g.edges[i]! + g.edges[i + 1]!) / 2)
  return { mode: 2, first: g.first, norm: g.norm, edges: g.edges, centers }
}

/**
 * The threshold from the counts of pass 2's values (bin codes, and the raw minimum and maximum):
 * rebuilds numpy's grid from min and max, puts every count in its bin, and applies skimage's
 * criterion over the 256 bins.
 */
export const otsuFromBinCodes = (u: ValueCounts, float32: boolean): number => {
  const { values, counts } = u
  const n = values.length
  if (n === 0 || values[n - 1] !== values[n - 1]) return NaN
  let codes = 0
  while (codes < n && values[codes]! <= -CODE_SCALE) codes++
  // What is left: the minimum and the maximum (one value: a constant image).
  if (n - codes === 1 && codes === 0) return values[0]!
  if (n - codes !== 2) return NaN
  const min = values[codes]!
  const max = values[codes + 1]!
  const grid = otsuGrid({ min, max }, float32)
  if (grid.mode !== 2) return NaN
  const bins = uniformBins(min, max, OTSU_BINS, float32, float32)
  const hist = new Float64Array(OTSU_BINS)
  for (let k = 0; k < codes; k++) hist[Math.round((-values[k]! / CODE_SCALE - 1) * 512)]! += counts[k]!
  hist[binOf(bins, min)]! += counts[codes]!
  hist[binOf(bins, max)]! += counts[codes + 1]!
  return otsuFromHistogram(hist, grid.centers)
}

/** The table with its last entry repeated (index 256 → the last bin); empty stays empty. */
const clampTable = (t: Float64Array): Float64Array => {
  if (t.length === 0) return t
  const c = new Float64Array(t.length + 1)
  c.set(t)
  c[t.length] = t[t.length - 1]!
  return c
}

/** u[i] = e[i + 1], except u[last] = +∞ (the last bin keeps its upper edge). */
const upperEdges = (edges: Float64Array): Float64Array => {
  const u = edges.slice(1)
  if (u.length > 0) u[u.length - 1] = Infinity
  return u
}

const isSmallInteger = (d: DType): boolean => d === "uint8" || d === "int8" || d === "uint16" || d === "int16"

/**
 * The Otsu threshold of a volume, as skimage.filters.threshold_otsu(image): a scalar, known after
 * one pass (integers) or two (floats).
 *
 * @example
 * ```ts
 * const t = otsuThreshold(alg, image)
 * const mask = alg.map(image, (x) => E.le(x, alg.scalar(t)), { dtype: "uint8" })   // the dark side
 * ```
 */
export const otsuThreshold = <F extends Repr, D extends DType>(alg: Algebra<F>, volume: Volume<F, D>): Scalar<F, number> => {
  const dtype = alg.info(volume).dtype
  if (isSmallInteger(dtype)) {
    const h = alg.reduce(volume as unknown as Volume<F, IntegerDType>, integerHistogram())
    return alg.derive(
      h,
      (h) => {
        const centers = new Float64Array(h.counts.length)
        for (let i = 0; i < centers.length; i++) centers[i] = h.min + i
        return otsuFromHistogram(h.counts, centers)
      },
      "otsu-threshold"
    )
  }
  if (!isFloat(dtype)) {
    const u = alg.reduce(volume, uniqueCounts())
    return alg.derive(u, (u) => otsuFromHistogram(u.counts, u.values), "otsu-threshold")
  }
  const float32 = dtype === "float32"
  const range = alg.reduce(volume, minMax())
  const grid = alg.derive(range, (m) => otsuGrid(m, float32), "otsu-bins")
  const mode = alg.scalar(alg.derive(grid, (g): number => g.mode, "otsu-mode"))
  const first = alg.scalar(alg.derive(grid, (g) => g.first, "otsu-first"))
  const norm = alg.scalar(alg.derive(grid, (g) => g.norm, "otsu-norm"))
  const min = alg.scalar(alg.derive(range, (m) => m.min, "min"))
  const max = alg.scalar(alg.derive(range, (m) => m.max, "max"))
  const index = alg.derive(grid, () => clampTable(Float64Array.from({ length: OTSU_BINS }, (_, i) => i)), "otsu-bin-index")
  const lower = alg.derive(grid, (g) => clampTable(g.edges.subarray(0, OTSU_BINS)), "otsu-lower-edges")
  const upper = alg.derive(grid, (g) => clampTable(upperEdges(g.edges)), "otsu-upper-edges")
  // Each voxel's bin, as np.histogram computes it: (x − first)·norm truncated (float32 arithmetic
  // for float32 data), the top edge into the last bin, then one step down or up where rounding put
  // x on the wrong side of an edge. The extremes stay themselves (they carry the grid); a constant
  // image keeps its value; no finite range gives NaN.
  const coded = alg.map<D, "float64">(
    volume,
    (x) => {
      const f32 = (e: E.Expr) => (float32 ? E.cast("float32", e) : e)
      const f = f32(E.mul(f32(E.sub(x, first)), norm))
      // i = min(trunc(f), 255); numpy then steps i down where x < e[i], and up where x ≥ e[i + 1]
      // unless i is the last bin. After a step down the step up compares with the same e[i] and
      // fails, so the bin is i − (x < e[i]) + (x ≥ u[i]) with u[i] = e[i + 1], u[last] = +∞. The
      // tables have a 257th entry repeating the 256th, so that looking them up at f (the lookup
      // truncates) clamps f = 256 to the last bin without a min.
      const bin = E.add(E.sub(alg.lookup(index, f), E.lt(x, alg.lookup(lower, f))), E.ge(x, alg.lookup(upper, f)))
      const code = E.mul(-CODE_SCALE, E.add(1, E.div(bin, 512)))
      const histogramCode = E.select(E.or(E.eq(x, min), E.eq(x, max)), x, code)
      return E.select(E.eq(mode, 2), histogramCode, E.select(E.eq(mode, 1), x, NaN))
    },
    { dtype: "float64", name: "otsu-bin" }
  )
  const u = alg.reduce(coded, uniqueCounts())
  return alg.derive(u, (u) => otsuFromBinCodes(u, float32), "otsu-threshold")
}

/**
 * Otsu's mask: uint8, 1 where v > t with t = skimage.filters.threshold_otsu(image), else 0 (so
 * `image > threshold_otsu(image)`). 2 passes for integer volumes, 3 for floats.
 *
 * @example
 * ```ts
 * const labels = label(alg, otsu(alg, alg.source(scan)), { connectivity: 26 })
 * ```
 */
export const otsu = <F extends Repr, D extends DType>(alg: Algebra<F>, volume: Volume<F, D>): Volume<F, "uint8"> => {
  const t = otsuThreshold(alg, volume)
  return alg.map<D, "uint8">(volume, (x) => E.gt(x, alg.scalar(t)), { dtype: "uint8", name: "otsu" })
}
