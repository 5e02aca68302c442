/**
 * Reducers: folds of a whole volume to a scalar, for `alg.reduce`. Each takes slices in whatever
 * order its pass visits them (ascending z, or descending in a backward pass) and gives the same
 * result either way: partial results are kept per slice where the combination is not exact in any
 * order (floating-point sums), and combined in z order in `result()`.
 *
 * | reducer | result | numpy / skimage equivalent |
 * | --- | --- | --- |
 * | `minMax()` | `{ min, max }` | `a.min()`, `a.max()` (NaN if any voxel is NaN) |
 * | `stats()` | `{ count, min, max, mean, std }` | `a.size`, `a.min()`, `a.max()`, `a.mean()`, `a.std()` (ddof 0) |
 * | `histogram({ bins, range })` | `{ edges, counts }` | `np.histogram(a, bins, range)` |
 * | `integerHistogram()` | `{ min, max, counts }` | `skimage.exposure.histogram(a)` of an integer image (one bin per value) |
 * | `countPerLabel()` | `Float64Array` | `np.bincount(labels.ravel())` |
 * | `uniqueCounts()` | `{ values, counts }` | `np.unique(a, return_counts=True)` |
 *
 * Counts are float64 (exact up to 2⁵³ voxels), so that a count can be looked up in an expression
 * (`alg.lookup(counts, label)`) and never overflows.
 *
 * @example
 * ```ts
 * // Voxels brighter than mean + 2·std.
 * const s = alg.reduce(image, stats())
 * const limit = alg.derive(s, (s) => s.mean + 2 * s.std, "mean+2std")
 * const bright = alg.map(image, (x) => E.gt(x, alg.scalar(limit)), { dtype: "uint8" })
 * ```
 */
import { dtypeRange, isFloat, type ArrayOf, type DType, type VoxelArray } from "../algebra/dtype.js"
import type { CheckpointableState, Reducer } from "../algebra/kernel.js"
import type { VolumeInfo } from "../algebra/volume.js"
import { arraysState } from "./internal/checkpoint-state.js"

/** The integer dtypes (per-value histograms and label counts need whole numbers). */
export type IntegerDType = Exclude<DType, "float32" | "float64">

/** Smallest and largest voxel. */
export interface MinMax {
  readonly min: number
  readonly max: number
}

/** Per-slice minimum and maximum, NaN-propagating (as numpy's `min`/`max`); [+∞, −∞] when empty. */
const sliceMinMax = (slice: VoxelArray, float: boolean, out: Float64Array, z: number): void => {
  let mn = Infinity
  let mx = -Infinity
  const n = slice.length
  if (float) {
    let nan = false
    for (let i = 0; i < n; i++) {
      const v = slice[i]!
      if (v < mn) mn = v
      if (v > mx) mx = v
      if (v !== v) nan = true
    }
    if (nan) mn = mx = NaN
  } else {
    for (let i = 0; i < n; i++) {
      const v = slice[i]!
      if (v < mn) mn = v
      if (v > mx) mx = v
    }
  }
  out[2 * z] = mn
  out[2 * z + 1] = mx
}

/** Combines per-slice [min, max] pairs in z order (so that ±0 and NaN come out the same in any pass order). */
const combineMinMax = (pairs: Float64Array, depth: number): MinMax => {
  let mn = Infinity
  let mx = -Infinity
  for (let z = 0; z < depth; z++) {
    const a = pairs[2 * z]!
    const b = pairs[2 * z + 1]!
    if (a !== a || b !== b) return { min: NaN, max: NaN }
    if (a < mn) mn = a
    if (b > mx) mx = b
  }
  return depth === 0 ? { min: NaN, max: NaN } : { min: mn, max: mx }
}

/**
 * Smallest and largest voxel value, as numpy's `a.min()` and `a.max()`: NaN if any voxel is NaN.
 * One compare pair per voxel; 16 bytes of state per slice of depth.
 *
 * @example
 * ```ts
 * const range = alg.reduce(image, minMax())
 * const scaled = alg.map(image, (x) => E.div(E.sub(x, alg.scalar(alg.derive(range, (r) => r.min, "min"))), 100))
 * ```
 */
export const minMax = <D extends DType = DType>(): Reducer<D, MinMax> => ({
  name: "min-max",
  params: {},
  opsPerVoxel: 2,
  stateBytes: (info) => 16 * info.shape[0],
  start: (info: VolumeInfo<D>) => {
    const depth = info.shape[0]
    const float = isFloat(info.dtype)
    const pairs = new Float64Array(2 * depth).fill(NaN)
    return {
      ...arraysState({ pairs }),
      add: (slice: ArrayOf<D>, z: number) => sliceMinMax(slice, float, pairs, z),
      result: () => combineMinMax(pairs, depth)
    }
  }
})

/** Summary statistics of all voxels. */
export interface Stats {
  readonly count: number
  readonly min: number
  readonly max: number
  readonly mean: number
  /** Standard deviation with ddof = 0 (numpy's default): sqrt(Σ(v − mean)² / count). */
  readonly std: number
}

/**
 * Count, min, max, mean and standard deviation (ddof 0, numpy's default) of all voxels.
 *
 * Each slice keeps its count, sum, minimum, maximum and sum of squared deviations from its own
 * mean (two loops over the slice, both in float64); `result()` combines them in z order (Chan et
 * al.'s pairwise update for the squared deviations), so the result does not depend on the
 * direction of the pass and is stable for data far from zero. The mean is the z-ordered sum of
 * the slice sums divided by the count: for integer volumes with sums below 2⁵³ that is exact and
 * equal to numpy's. numpy sums pairwise (and float32 input in float32), so on floats mean and std
 * agree with numpy to about 1e-12 relative, not bit for bit. NaN anywhere gives NaN everywhere,
 * as numpy does. 40 bytes of state per slice of depth.
 *
 * @example
 * ```ts
 * const s = alg.reduce(image, stats())
 * const z = alg.map(image, (x) => E.div(E.sub(x, alg.scalar(alg.derive(s, (s) => s.mean, "mean"))),
 *                                       alg.scalar(alg.derive(s, (s) => s.std, "std"))), { dtype: "float32" })
 * ```
 */
export const stats = <D extends DType = DType>(): Reducer<D, Stats> => ({
  name: "stats",
  params: {},
  opsPerVoxel: 5,
  stateBytes: (info) => 40 * info.shape[0],
  start: (info: VolumeInfo<D>) => {
    const depth = info.shape[0]
    const float = isFloat(info.dtype)
    const pairs = new Float64Array(2 * depth).fill(NaN)
    const counts = new Float64Array(depth)
    const sums = new Float64Array(depth)
    const m2s = new Float64Array(depth)
    return {
      ...arraysState({ pairs, counts, sums, m2s }),
      add: (slice: ArrayOf<D>, z: number) => {
        const n = slice.length
        sliceMinMax(slice, float, pairs, z)
        let sum = 0
        for (let i = 0; i < n; i++) sum += slice[i]!
        const mean = sum / n
        let m2 = 0
        for (let i = 0; i < n; i++) {
          const d = slice[i]! - mean
          m2 += d * d
        }
        counts[z] = n
        sums[z] = sum
        m2s[z] = m2
      },
      result: (): Stats => {
        const { min, max } = combineMinMax(pairs, depth)
        let count = 0
        let sum = 0
        let mean = 0
        let m2 = 0
        for (let z = 0; z < depth; z++) {
          const n = counts[z]!
          if (n === 0) continue
          const total = count + n
          const delta = sums[z]! / n - mean
          m2 += m2s[z]! + ((delta * delta * count) / total) * n
          mean += (delta * n) / total
          sum += sums[z]!
          count = total
        }
        if (count === 0) return { count: 0, min: NaN, max: NaN, mean: NaN, std: NaN }
        const nan = min !== min
        return { count, min, max, mean: nan ? NaN : sum / count, std: nan ? NaN : Math.sqrt(m2 / count) }
      }
    }
  }
})

/** The bin grid of a uniform histogram, computed as numpy computes it. */
export interface UniformBins {
  readonly bins: number
  /** bins + 1 edges, in the histogram's precision (float32 values for float32 data). */
  readonly edges: Float64Array
  /** The lower edge as the data is shifted by (a float32 value for float32 data). */
  readonly first: number
  /** The scale from a shifted value to a bin index (a float32 value for float32 data). */
  readonly norm: number
  /** Whether bin indices are computed in float32 (numpy does for float32 data). */
  readonly float32: boolean
}

/**
 * numpy 1.24's uniform bin grid (`np.histogram`'s `_get_bin_edges` with an integer `bins`).
 * `first` and `last` are the outer edges; `edgesAreFloat32` says whether they were numpy float32
 * scalars (the automatic range of float32 data, as skimage's Otsu uses) rather than Python floats
 * (an explicit range): that changes how numpy computes the scale.
 *
 * - edges: `np.linspace(first, last, bins + 1)` computed in float64 (i·step + first, the last edge
 *   set to `last`), then stored in the bin dtype: float32 for float32 data, else float64;
 * - norm: bins / (last − first), the difference taken in float32 when the edges are float32
 *   scalars, the quotient in float64; for float32 data numpy then multiplies in float32.
 */
export const uniformBins = (first: number, last: number, bins: number, dataFloat32: boolean, edgesAreFloat32 = false): UniformBins => {
  if (!Number.isInteger(bins) || bins < 1) throw new RangeError(`histogram: bins must be a positive integer, got ${bins}`)
  if (!(first <= last)) throw new RangeError(`histogram: range [${first}, ${last}] must have min ≤ max`)
  if (!Number.isFinite(first) || !Number.isFinite(last)) throw new RangeError(`histogram: range [${first}, ${last}] is not finite`)
  if (first === last) {
    first -= 0.5
    last += 0.5
  }
  const store = dataFloat32 ? Math.fround : (v: number) => v
  const edges = new Float64Array(bins + 1)
  const delta = last - first
  const step = delta / bins
  for (let i = 0; i < bins; i++) edges[i] = store(step === 0 ? (i / bins) * delta + first : i * step + first)
  edges[bins] = store(last)
  const span = edgesAreFloat32 ? Math.fround(last - first) : last - first
  const norm = bins / span
  return { bins, edges, first: store(first), norm: store(norm), float32: dataFloat32 }
}

/** The bin of value v in a uniform grid (numpy's index computation and its ±1 corrections); −1 outside. */
export const binOf = (g: UniformBins, v: number): number => {
  const { edges, bins } = g
  const lo = edges[0]!
  const hi = edges[bins]!
  if (!(v >= (g.float32 ? Math.fround(lo) : lo) && v <= hi)) return -1
  const f = g.float32 ? Math.fround(Math.fround(v - g.first) * g.norm) : (v - g.first) * g.norm
  let i = Math.trunc(f)
  if (i === bins) i--
  if (v < edges[i]!) i--
  if (i !== bins - 1 && v >= edges[i + 1]!) i++
  return i
}

/** A histogram over uniform bins. */
export interface Histogram {
  /** The bin edges (bins + 1), as numpy returns them. */
  readonly edges: Float64Array
  /** Voxels per bin. */
  readonly counts: Float64Array
}

export interface HistogramOptions {
  /** Number of equal bins. */
  readonly bins: number
  /** The lower and upper edge; values outside (and NaN) are not counted; the last bin includes its upper edge. */
  readonly range: readonly [number, number]
}

/**
 * A histogram with `bins` equal bins over `range`, as `np.histogram(a, bins, range)` (numpy
 * 1.24): the same edges, and each voxel in the same bin, including numpy's float32 arithmetic for
 * float32 volumes (numpy computes their bin indices in float32). Values outside the range and NaN
 * are not counted; the last bin includes its upper edge. A range with min = max is widened by 0.5
 * each way, as numpy does. Any dtype.
 *
 * @example
 * ```ts
 * const h = alg.reduce(image, histogram({ bins: 64, range: [0, 4096] }))
 * ```
 */
export const histogram = <D extends DType = DType>(options: HistogramOptions): Reducer<D, Histogram> => {
  const [first, last] = options.range
  // Validates now, while the program is built.
  uniformBins(first, last, options.bins, false)
  return {
    name: "histogram",
    params: { bins: options.bins, range: [first, last] },
    opsPerVoxel: 8,
    stateBytes: () => 8 * options.bins,
    start: (info: VolumeInfo<D>) => {
      const g = uniformBins(first, last, options.bins, info.dtype === "float32")
      const counts = new Float64Array(options.bins)
      return {
        ...arraysState({ counts }),
        add: (slice: ArrayOf<D>) => {
          for (let i = 0; i < slice.length; i++) {
            const b = binOf(g, slice[i]!)
            if (b >= 0) counts[b]++
          }
        },
        result: () => ({ edges: g.edges, counts })
      }
    }
  }
}

/** One bin per integer value from `min` to `max`. */
export interface IntegerHistogram {
  readonly min: number
  readonly max: number
  /** counts[i]: voxels equal to min + i (max − min + 1 entries). */
  readonly counts: Float64Array
}

/** The most bins a per-value histogram of a 32-bit dtype may span (128 MiB of counts). */
export const MAX_INTEGER_BINS = 2 ** 24

/**
 * One bin per integer value over [min, max] of the volume, as skimage.exposure.histogram (and so
 * threshold_otsu) makes for integer images (np.bincount, trimmed to the image's range). 8- and
 * 16-bit dtypes count into a table of the whole dtype range (2 KiB / 512 KiB); 32-bit dtypes into
 * a table that grows to cover the values seen, up to MAX_INTEGER_BINS values apart (beyond that it
 * throws a RangeError: use `uniqueCounts()` or `histogram({ bins, range })`).
 *
 * @example
 * ```ts
 * const h = alg.reduce(labels, integerHistogram())
 * const mode = alg.derive(h, (h) => h.min + h.counts.indexOf(Math.max(...h.counts)), "mode")
 * ```
 */
export const integerHistogram = <D extends IntegerDType = IntegerDType>(): Reducer<D, IntegerHistogram> => ({
  name: "integer-histogram",
  params: {},
  opsPerVoxel: 1,
  // A table of the dtype's range for 8- and 16-bit dtypes; 32-bit ones grow theirs (assumed 2¹⁶).
  stateBytes: (info) => 8 * (info.dtype === "uint8" || info.dtype === "int8" ? 256 : 65536),
  start: (info: VolumeInfo<D>) => {
    const d: DType = info.dtype
    if (isFloat(d)) throw new RangeError(`integerHistogram: ${d} is not an integer dtype (use histogram({ bins, range }))`)
    const small = d === "uint8" || d === "int8" || d === "uint16" || d === "int16"
    // Bin b counts value b + base.
    let base = small ? dtypeRange(d)[0] : 0
    let counts = new Float64Array(small ? dtypeRange(d)[1] - dtypeRange(d)[0] + 1 : 0)
    let seenMin = Infinity
    let seenMax = -Infinity
    const state: CheckpointableState = {
      snapshot: () => ({ base, counts, seenMin, seenMax }),
      restore: (saved) => {
        const s = saved as { base: number; counts: Float64Array; seenMin: number; seenMax: number }
        ;({ base, seenMin, seenMax } = s)
        counts = s.counts.slice()
      }
    }
    const cover = (lo: number, hi: number): void => {
      if (counts.length > 0 && lo >= base && hi < base + counts.length) return
      const newLo = Math.min(lo, seenMin)
      const newHi = Math.max(hi, seenMax)
      const span = newHi - newLo + 1
      if (span > MAX_INTEGER_BINS) {
        throw new RangeError(
          `integerHistogram: ${d} values from ${newLo} to ${newHi} span more than ${MAX_INTEGER_BINS} bins (use uniqueCounts() or histogram({ bins, range }))`
        )
      }
      const size = Math.min(MAX_INTEGER_BINS, Math.max(span, 2 * counts.length, 1024))
      const grown = new Float64Array(size)
      // Slack on both sides of the values seen, within the dtype's range.
      const [dmin, dmax] = dtypeRange(d)
      const newBase = Math.max(dmin, Math.min(newLo - Math.floor((size - span) / 2), dmax - size + 1))
      if (seenMin <= seenMax) grown.set(counts.subarray(seenMin - base, seenMax - base + 1), seenMin - newBase)
      counts = grown
      base = newBase
    }
    return {
      ...state,
      add: (slice: ArrayOf<D>) => {
        const n = slice.length
        if (n === 0) return
        if (!small) {
          // The table must cover the slice's values before counting them.
          let lo = Infinity
          let hi = -Infinity
          for (let i = 0; i < n; i++) {
            const v = slice[i]!
            if (v < lo) lo = v
            if (v > hi) hi = v
          }
          cover(lo, hi)
          if (lo < seenMin) seenMin = lo
          if (hi > seenMax) seenMax = hi
        }
        const c = counts
        const off = -base
        for (let i = 0; i < n; i++) c[slice[i]! + off]++
      },
      result: () => {
        if (small) {
          // The range is where the counts are.
          let i = 0
          while (i < counts.length && counts[i] === 0) i++
          let j = counts.length - 1
          while (j > i && counts[j] === 0) j--
          if (i < counts.length) {
            seenMin = base + i
            seenMax = base + j
          }
        }
        return seenMin > seenMax
          ? { min: NaN, max: NaN, counts: new Float64Array(0) }
          : { min: seenMin, max: seenMax, counts: counts.slice(seenMin - base, seenMax - base + 1) }
      }
    }
  }
})

/**
 * Voxels per label value, as `np.bincount(labels.ravel())`: counts[l] is the number of voxels of
 * value l, for l from 0 to the largest label (so counts[0] is the background). Negative values
 * (signed dtypes) are not counted. The table grows by doubling to the largest label seen: a volume
 * with label 4·10⁹ needs 32 GB, as numpy would.
 *
 * The result is a table scalar: `alg.lookup(counts, label)` gives each voxel its component's size.
 *
 * @example
 * ```ts
 * const labels = label(alg, mask, { connectivity: 26 })
 * const sizes = alg.reduce(labels, countPerLabel())
 * // Keep the components of at least 100 voxels.
 * const big = alg.map(labels, (l) => E.and(E.gt(l, 0), E.ge(alg.lookup(sizes, l), 100)), { dtype: "uint8" })
 * ```
 */
export const countPerLabel = <D extends IntegerDType = IntegerDType>(): Reducer<D, Float64Array> => ({
  name: "count-per-label",
  params: {},
  opsPerVoxel: 1,
  // Grows with the largest label (assumed 2¹⁶).
  stateBytes: () => 8 * 65536,
  start: (info: VolumeInfo<D>) => {
    const d: DType = info.dtype
    if (isFloat(d)) throw new RangeError(`countPerLabel: ${d} is not an integer dtype`)
    let counts = new Float64Array(0)
    let top = -1
    return {
      snapshot: () => ({ counts: counts.subarray(0, top + 1), top }),
      restore: (saved) => {
        const s = saved as { counts: Float64Array; top: number }
        counts = s.counts.slice()
        top = s.top
      },
      add: (slice: ArrayOf<D>) => {
        const n = slice.length
        let hi = -1
        for (let i = 0; i < n; i++) if (slice[i]! > hi) hi = slice[i]!
        if (hi >= counts.length) {
          const grown = new Float64Array(Math.max(hi + 1, 2 * counts.length, 256))
          grown.set(counts)
          counts = grown
        }
        if (hi > top) top = hi
        const c = counts
        if (d === "int8" || d === "int16" || d === "int32") {
          for (let i = 0; i < n; i++) {
            const v = slice[i]!
            if (v >= 0) c[v]++
          }
        } else {
          for (let i = 0; i < n; i++) c[slice[i]!]++
        }
      },
      result: () => counts.slice(0, top + 1)
    }
  }
})

/** Distinct values and how many voxels hold each. */
export interface ValueCounts {
  /** Distinct values, ascending (NaN, if any, last). */
  readonly values: Float64Array
  /** counts[i]: voxels equal to values[i]. */
  readonly counts: Float64Array
}

/** Scratch for reading a float64's bits. */
const bitsF64 = new Float64Array(1)
const bitsU32 = new Uint32Array(bitsF64.buffer)

/**
 * The distinct values of a volume and their counts, as `np.unique(a, return_counts=True)`: −0 and
 * +0 are one value, given as +0 (numpy gives whichever sorts first), and all NaNs one value, last
 * (numpy 1.24's equal_nan). An open-addressing
 * hash table of the values seen (32 bytes per distinct value, doubling), with a shortcut for runs
 * of equal values: fast for masks, labels and quantised data, memory-hungry for noise (a float
 * volume can have as many distinct values as voxels).
 *
 * @example
 * ```ts
 * const u = alg.reduce(labels, uniqueCounts())
 * const n = alg.derive(u, (u) => u.values.length, "distinct")
 * ```
 */
export const uniqueCounts = <D extends DType = DType>(): Reducer<D, ValueCounts> => ({
  name: "unique-counts",
  params: {},
  opsPerVoxel: 4,
  // 17 bytes per slot of the hash table, at least 1024 slots; grows with the distinct values.
  stateBytes: () => 17 * 1024,
  start: () => {
    let capacity = 1024
    let mask = capacity - 1
    let keys = new Float64Array(capacity)
    let counts = new Float64Array(capacity)
    let used = new Uint8Array(capacity)
    let size = 0
    let nans = 0
    const slotOf = (v: number): number => {
      bitsF64[0] = v
      let h = Math.imul(bitsU32[0]! ^ Math.imul(bitsU32[1]!, 0x9e3779b1), 0x85ebca77)
      h ^= h >>> 15
      let s = h & mask
      while (used[s] === 1 && keys[s] !== v) s = (s + 1) & mask
      return s
    }
    const grow = (): void => {
      const oldKeys = keys
      const oldCounts = counts
      const oldUsed = used
      capacity *= 2
      mask = capacity - 1
      keys = new Float64Array(capacity)
      counts = new Float64Array(capacity)
      used = new Uint8Array(capacity)
      for (let i = 0; i < oldUsed.length; i++) {
        if (oldUsed[i] !== 1) continue
        const s = slotOf(oldKeys[i]!)
        keys[s] = oldKeys[i]!
        counts[s] = oldCounts[i]!
        used[s] = 1
      }
    }
    return {
      snapshot: () => ({ keys, counts, used, size, nans }),
      restore: (saved) => {
        const s = saved as { keys: Float64Array; counts: Float64Array; used: Uint8Array; size: number; nans: number }
        keys = s.keys.slice()
        counts = s.counts.slice()
        used = s.used.slice()
        capacity = used.length
        mask = capacity - 1
        ;({ size, nans } = s)
      },
      add: (slice: ArrayOf<D>) => {
        const n = slice.length
        let last = NaN
        let lastSlot = -1
        let run = 0
        for (let i = 0; i < n; i++) {
          const v = slice[i]! + 0
          if (v === last) {
            run++
            continue
          }
          if (lastSlot >= 0) counts[lastSlot] += run
          if (v !== v) {
            nans++
            last = NaN
            lastSlot = -1
            run = 0
            continue
          }
          let s = slotOf(v)
          if (used[s] !== 1) {
            if (2 * (size + 1) > capacity) {
              grow()
              s = slotOf(v)
            }
            used[s] = 1
            keys[s] = v
            size++
          }
          last = v
          lastSlot = s
          run = 1
        }
        if (lastSlot >= 0) counts[lastSlot] += run
      },
      result: () => {
        const order: Array<number> = []
        for (let i = 0; i < capacity; i++) if (used[i] === 1) order.push(i)
        order.sort((a, b) => keys[a]! - keys[b]!)
        const m = order.length + (nans > 0 ? 1 : 0)
        const values = new Float64Array(m)
        const out = new Float64Array(m)
        order.forEach((s, i) => {
          values[i] = keys[s]!
          out[i] = counts[s]!
        })
        if (nans > 0) {
          values[m - 1] = NaN
          out[m - 1] = nans
        }
        return { values, counts: out }
      }
    }
  }
})
