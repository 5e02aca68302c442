/**
 * Median over a (2R+1)³ cube, as scipy.ndimage.median_filter(input, size=2R+1, mode=…, cval=…):
 * exact for every dtype (a median is one of the inputs, or cval).
 *
 * Two algorithms, both sliding along x one row at a time and allocating nothing per voxel:
 * - 8- and 16-bit integers: a histogram of the window (Huang). Moving one voxel along x removes one
 *   column of (2R+1)² values and adds another, and the median moves from where it was, so a voxel
 *   costs O(R²) plus the distance the median moves. 16-bit histograms also keep occupancy bits,
 *   so that the median jumps over the empty stretches of their 65,536 bins.
 * - 32-bit dtypes (float32, int32, uint32): each value becomes an order-preserving 32-bit key, and
 *   a histogram of the keys' top 16 bits slides as above to the bin holding the median; the
 *   median is then picked among the window's keys in that bin, which a scan of the window's
 *   (2R+1)³ keys gathers (usually a handful). O(R³) per voxel still, but a comparison per value
 *   instead of a quickselect: about 3× faster than selection (bench/ops-median.ts).
 * - float64 (and cval outside the dtype's values): the window's columns are kept in a ring; each
 *   voxel copies the (2R+1)³ values into a scratch array and selects the middle one (quickselect),
 *   O(R³) per voxel.
 *
 * The histogram's row loop is generated once per dtype and window size (`generated` in
 * internal/loops.ts, cached), with the window's rows unrolled into locals: about 1.4× faster than
 * the same loop over arrays, and, being one function whatever the kernel, V8 optimises it once
 * instead of re-optimising a closure for every kernel prepared. Measured in bench/ops-median.ts.
 *
 * @example
 * ```ts
 * const denoised = median(alg, image, { radius: 1 })   // 3×3×3, mode reflect
 * ```
 */
import type { Algebra, Repr, Volume } from "../algebra/algebra.js"
import { extensionTable, type BoundaryMode } from "../algebra/boundary.js"
import { allocSlice, dtypeRange, isFloat, type DType, type VoxelArray } from "../algebra/dtype.js"
import { haloOf, type ComputeRows, type SliceWindow, type WindowKernel } from "../algebra/kernel.js"
import type { VolumeInfo } from "../algebra/volume.js"
import { builtInRecipe } from "./internal/kernel-module.js"
import { constantLine } from "./internal/lines.js"
import { generated } from "./internal/loops.js"

export interface MedianOptions {
  /** Half-width R of the cube (size 2R + 1 per axis), an integer ≥ 0. */
  readonly radius: number
  /** Boundary mode (default "reflect", as scipy). */
  readonly mode?: BoundaryMode
  /** Value outside the volume for mode "constant" (default 0). */
  readonly cval?: number
}

/** Histogram width in bits for dtypes the histogram method serves, else 0. */
const histogramBits = (d: DType): 0 | 8 | 16 =>
  d === "uint8" || d === "int8" ? 8 : d === "uint16" || d === "int16" ? 16 : 0

/** The key transform of the 32-bit dtypes the coarse histogram serves. */
const keyKinds: Partial<Record<DType, KeyKind>> = { uint32: 0, int32: 1, float32: 2 }

/** How a dtype's 32 bits become an unsigned key in the same order: as they are, sign flipped, or IEEE. */
type KeyKind = 0 | 1 | 2

/**
 * Which algorithm `median` runs for dtype `d` (for plans and benchmarks): the histogram for 8- and
 * 16-bit integers, the coarse histogram for 32-bit dtypes, selection for float64; selection too
 * when mode "constant" brings in a cval that is not one of the dtype's values (any number but NaN
 * for float32, which rounds it as it stores it).
 */
export const medianMethod = (d: DType, mode: BoundaryMode, cval: number): "histogram" | "coarse-histogram" | "select" => {
  const [lo, hi] = dtypeRange(d)
  const cvalFits = mode !== "constant" || (d === "float32" ? cval === cval : Number.isInteger(cval) && cval >= lo && cval <= hi)
  if (!cvalFits) return "select"
  return histogramBits(d) > 0 ? "histogram" : keyKinds[d] !== undefined ? "coarse-histogram" : "select"
}

/**
 * The k-th smallest (0-based) of a[0 … n−1], reordering a: quickselect with a median-of-three
 * pivot, insertion sort for short ranges.
 */
export const selectKth = (a: Float64Array, n: number, k: number): number => {
  let l = 0
  let r = n - 1
  while (r - l > 12) {
    const m = (l + r) >> 1
    // Order a[l], a[m], a[r] so that a[m] is their median: a good pivot and sentinels at both ends.
    if (a[m]! < a[l]!) swap(a, m, l)
    if (a[r]! < a[l]!) swap(a, r, l)
    if (a[r]! < a[m]!) swap(a, r, m)
    const pivot = a[m]!
    let i = l
    let j = r
    while (i <= j) {
      while (a[i]! < pivot) i++
      while (a[j]! > pivot) j--
      if (i <= j) {
        swap(a, i, j)
        i++
        j--
      }
    }
    if (k <= j) r = j
    else if (k >= i) l = i
    else return a[k]!
  }
  for (let i = l + 1; i <= r; i++) {
    const v = a[i]!
    let j = i - 1
    while (j >= l && a[j]! > v) {
      a[j + 1] = a[j]!
      j--
    }
    a[j + 1] = v
  }
  return a[k]!
}

const swap = (a: Float64Array, i: number, j: number): void => {
  const t = a[i]!
  a[i] = a[j]!
  a[j] = t
}

/** The median window kernel (a single node: z halo R, and R in-plane handled by the kernel). */
export const medianKernel = (dtype: DType, radius: number, mode: BoundaryMode, cval: number): WindowKernel<DType, DType> => {
  const side = 2 * radius + 1
  const method = medianMethod(dtype, mode, cval)
  const bits = histogramBits(dtype)
  return {
    name: "median",
    recipe: builtInRecipe("medianKernel", [dtype, radius, mode, cval]),
    params: { radius, size: side, mode, method, ...(mode === "constant" ? { cval } : {}) },
    halo: haloOf(radius),
    mode,
    cval,
    output: dtype,
    opsPerVoxel: method === "histogram" ? 4 * side * side : method === "coarse-histogram" ? 4 * side * side + side * side * side : 3 * side * side * side,
    scratchBytes: (info) => {
      // Tables, the window's row references, the outside row; then the method's own buffers.
      const common = 4 * (info.shape[1] + info.shape[2] + 4 * radius) + 12 * side * side + 8 * info.shape[2]
      const bins16 = 4 * 65536 + 4 * (2048 + 64)
      if (method === "select") return common + 2 * 8 * side * side * side
      if (method === "coarse-histogram") return common + bins16 + 12 * side * side * side
      return common + (bits === 8 ? 4 * 256 : bins16)
    },
    prepare: (info: VolumeInfo) => {
      const [depth, height, width] = info.shape
      const plane = side * side
      const n = plane * side
      const k = n >> 1
      const xt = extensionTable(mode, width, radius, radius)
      const yt = extensionTable(mode, height, radius, radius)
      // Row r of the window's plane (r = (dz + R)·side + dy + R) is rows[r][offs[r] … + width).
      const outsideRow: VoxelArray =
        method === "select" ? constantLine(width, cval) : allocSlice(dtype, width).fill(cval)
      const mw: MedianWindow = {
        radius,
        side,
        depth,
        constant: mode === "constant",
        yt,
        slices: new Array(side).fill(undefined),
        rows: new Array(plane).fill(outsideRow),
        offs: new Int32Array(plane),
        outsideRow,
        width
      }
      if (method === "histogram") {
        const [lo] = dtypeRange(dtype)
        const offset = -lo
        const cbin = cval + offset
        return histogram(mw, dtype, bits === 8 ? 8 : 16, height, k, xt, offset, cbin)
      }
      if (method === "coarse-histogram") return coarseHistogram(mw, keyKinds[dtype]!, height, k, xt)
      return selection(mw, dtype, height, k, xt, cval)
    }
  }
}

/**
 * The rows one output row's window reads. Kept in an object handled by module-level functions
 * (rather than closures made per `prepare`) so that the hot loops always call the same functions
 * and V8 does not deoptimise them when a second median kernel is prepared.
 */
interface MedianWindow {
  readonly radius: number
  readonly side: number
  readonly depth: number
  readonly width: number
  readonly constant: boolean
  readonly yt: Int32Array
  /** The window's slices, z − R … z + R; undefined outside the volume in mode constant. */
  readonly slices: Array<VoxelArray | undefined>
  readonly rows: Array<VoxelArray>
  readonly offs: Int32Array
  readonly outsideRow: VoxelArray
}

const loadSlices = (mw: MedianWindow, win: SliceWindow<DType>): void => {
  for (let t = -mw.radius; t <= mw.radius; t++) {
    const zi = win.z + t
    mw.slices[t + mw.radius] = mw.constant && (zi < 0 || zi >= mw.depth) ? undefined : win.at(t)
  }
}

const setRows = (mw: MedianWindow, y: number): void => {
  const { side, yt, slices, rows, offs, outsideRow, width } = mw
  let r = 0
  for (let t = 0; t < side; t++) {
    const s = slices[t]
    for (let dy = 0; dy < side; dy++, r++) {
      const yi = yt[y + dy]!
      if (s === undefined || yi < 0) {
        rows[r] = outsideRow
        offs[r] = 0
      } else {
        rows[r] = s
        offs[r] = yi * width
      }
    }
  }
}

/*
 * The histogram method. One output row at a time: add the first window's columns, slide along x
 * (remove the column leaving, add the one entering, move the median), then empty the histogram
 * again. `below` always counts the window's values under bin `med`; bins are < 2¹⁶, so
 * (v − med) >>> 31 is 1 exactly when v < med, which keeps the updates free of data-dependent
 * branches (noise would mispredict half of them). The median search starts from the previous
 * row's median.
 *
 * 16-bit histograms: a window of (2R+1)³ values is sparse among 2¹⁶ bins, so walking the median
 * bin by bin (as 8-bit histograms do) would cost hundreds of steps per voxel. Their bins also have
 * an occupancy bitset in two levels of 32-bit words (bins → 2048 words → 64 words), and the median
 * steps from one occupied bin to the next with `clz32`: O(1) per value passed.
 */

/** Marks bin v occupied. */
const occupy = (l0: Uint32Array, l1: Uint32Array, v: number): void => {
  const w = v >> 5
  if (l0[w] === 0) l1[w >> 5] |= 1 << (w & 31)
  l0[w] |= 1 << (v & 31)
}

/** Marks bin v empty. */
const vacate = (l0: Uint32Array, l1: Uint32Array, v: number): void => {
  const w = v >> 5
  const m = l0[w]! & ~(1 << (v & 31))
  l0[w] = m
  if (m === 0) l1[w >> 5] &= ~(1 << (w & 31))
}

/** Index of the lowest set bit of a non-zero word. */
const lowestBit = (m: number): number => 31 - Math.clz32(m & -m)

/** Index of the highest set bit of a non-zero word. */
const highestBit = (m: number): number => 31 - Math.clz32(m)

/** The smallest occupied bin ≥ v (one must exist). */
const nextOccupied = (l0: Uint32Array, l1: Uint32Array, v: number): number => {
  let w = v >> 5
  let m = l0[w]! & (-1 << (v & 31))
  if (m === 0) {
    let w1 = (w + 1) >> 5
    let m1 = l1[w1]! & (-1 << ((w + 1) & 31))
    while (m1 === 0) m1 = l1[++w1]!
    w = (w1 << 5) | lowestBit(m1)
    m = l0[w]!
  }
  return (w << 5) | lowestBit(m)
}

/** The largest occupied bin ≤ v (one must exist). */
const previousOccupied = (l0: Uint32Array, l1: Uint32Array, v: number): number => {
  let w = v >> 5
  let m = l0[w]! & (-1 >>> (31 - (v & 31)))
  if (m === 0) {
    let w1 = (w - 1) >> 5
    let m1 = l1[w1]! & (-1 >>> (31 - ((w - 1) & 31)))
    while (m1 === 0) m1 = l1[--w1]!
    w = (w1 << 5) | highestBit(m1)
    m = l0[w]!
  }
  return (w << 5) | highestBit(m)
}

/** The helpers generated row functions call (always these same functions, so V8 inlines them). */
const bits16 = { occupy, vacate, nextOccupied, previousOccupied }

/** One output row of the histogram method; returns the row's last median. */
type HistogramRow = (
  out: VoxelArray,
  base: number,
  width: number,
  rows: ReadonlyArray<VoxelArray>,
  offs: Int32Array,
  xt: Int32Array,
  hist: Int32Array,
  l0: Uint32Array,
  l1: Uint32Array,
  k: number,
  offset: number,
  cbin: number,
  med: number,
  h: typeof bits16
) => number

/**
 * Source of a HistogramRow for windows of side × side rows and `bits`-bit bins. Up to 7 × 7 rows
 * the per-row statements of the inner step (one column out, one in) are unrolled into straight-line
 * code over locals a0…/o0… (row arrays and offsets): V8 keeps them in registers and knows each
 * array's type, where a loop over an array of arrays reloads both for every value. The columns at
 * the row's ends and at the volume's edges loop: unrolled too, they made the function four times
 * larger, and V8's optimising compiler took about 10 MiB more per thread to compile it at radius 3.
 * At 512³, radius 3, the three forms took 37.8 s (all looped), 28.4 s (all unrolled) and 25.1 s
 * (this one): docs/BENCHMARKS.md, "Median r3 for 8- and 16-bit data". Larger windows loop.
 */
const histogramRowSource = (side: number, bits: 8 | 16): string => {
  const plane = side * side
  const unroll = plane <= 49
  const looped = (f: (a: string, o: string) => string) =>
    `for (let r = 0; r < ${plane}; r++) { const ar = rows[r], or = offs[r]; ${f("ar", "or")} }`
  const each = (f: (a: string, o: string) => string) =>
    unroll ? Array.from({ length: plane }, (_, i) => f(`a${i}`, `o${i}`)).join("\n") : looped(f)
  const add = (v: string) => (bits === 8 ? `hist[${v}]++` : `if (hist[${v}]++ === 0) h.occupy(l0, l1, ${v})`)
  const remove = (v: string) => (bits === 8 ? `hist[${v}]--` : `if (--hist[${v}] === 0) h.vacate(l0, l1, ${v})`)
  // A column outside the volume (mode constant) is `plane` copies of cval.
  const addCval = bits === 8 ? `hist[cbin] += ${plane}` : `if (hist[cbin] === 0) h.occupy(l0, l1, cbin); hist[cbin] += ${plane}`
  const removeCval = bits === 8 ? `hist[cbin] -= ${plane}` : `hist[cbin] -= ${plane}; if (hist[cbin] === 0) h.vacate(l0, l1, cbin)`
  const column = (xi: string, sign: "+" | "-") => `
    if (${xi} < 0) {
      ${sign === "+" ? addCval : removeCval}
      below ${sign}= ${plane} * ((cbin - med) >>> 31)
    } else {
      ${looped((a, o) => `v = ${a}[${o} + ${xi}] + offset; ${sign === "+" ? add("v") : remove("v")}; below ${sign}= (v - med) >>> 31`)}
    }`
  const walk =
    bits === 8
      ? `while (below > k) below -= hist[--med]
         while (below + hist[med] <= k) below += hist[med++]`
      : `while (below > k) { med = h.previousOccupied(l0, l1, med - 1); below -= hist[med] }
         while (below + hist[med] <= k) { below += hist[med]; med = h.nextOccupied(l0, l1, med + 1) }`
  return `
    ${unroll ? Array.from({ length: plane }, (_, i) => `const a${i} = rows[${i}], o${i} = offs[${i}]`).join("\n") : ""}
    let below = 0, v = 0, vo = 0, vn = 0
    for (let p = 0; p < ${side}; p++) {
      const xi = xt[p]
      ${column("xi", "+")}
    }
    for (let x = 0; ; x++) {
      ${walk}
      out[base + x] = med - offset
      if (x + 1 === width) break
      const xo = xt[x], xn = xt[x + ${side}]
      if ((xo | xn) >= 0) {
        ${each(
          (a, o) =>
            `vo = ${a}[${o} + xo] + offset; vn = ${a}[${o} + xn] + offset; ${remove("vo")}; ${add("vn")}; below += ((vn - med) >>> 31) - ((vo - med) >>> 31)`
        )}
      } else {
        ${column("xo", "-")}
        ${column("xn", "+")}
      }
    }
    for (let p = width - 1; p < width + ${side - 1}; p++) {
      const xi = xt[p]
      ${column("xi", "-")}
    }
    return med`
}

/** The row function for `dtype` and windows of side `side`: made once, so V8 optimises each once. */
const histogramRowFor = (dtype: DType, side: number, bits: 8 | 16): HistogramRow =>
  generated(
    `median-row/${dtype}/${side}`,
    ["out", "base", "width", "rows", "offs", "xt", "hist", "l0", "l1", "k", "offset", "cbin", "med", "h"],
    () => histogramRowSource(side, bits)
  )

/** The histogram method for 8-bit (256 bins) and 16-bit (65,536) dtypes; bin = value + offset. */
const histogram = (mw: MedianWindow, dtype: DType, bits: 8 | 16, height: number, k: number, xt: Int32Array, offset: number, cbin: number) => {
  const hist = new Int32Array(1 << bits)
  const l0 = new Uint32Array(bits === 16 ? 2048 : 0)
  const l1 = new Uint32Array(bits === 16 ? 64 : 0)
  const row = histogramRowFor(dtype, mw.side, bits)
  // The search for a row's median starts from the last row's; any start finds the same median.
  const computeRows: ComputeRows = (win, out, start, end) => {
    loadSlices(mw, win)
    let med = 0
    for (let y = start; y < end; y++) {
      setRows(mw, y)
      med = row(out, y * mw.width, mw.width, mw.rows, mw.offs, xt, hist, l0, l1, k, offset, cbin, med, bits16)
    }
  }
  return { compute: (w: SliceWindow<DType>, out: VoxelArray) => computeRows(w, out, 0, height), computeRows }
}

/*
 * The coarse histogram (32-bit dtypes). A value's 32 bits, read as an int32, become an unsigned key
 * in the order of the values (`toKey`): uint32 as it is, int32 with its sign bit flipped, float32
 * with its sign bit flipped when positive and every bit flipped when negative (IEEE order: −∞ <
 * negatives < −0 < +0 < positives < +∞; a NaN sorts by its bits: above +∞ when its sign bit is
 * clear, as numpy.sort puts NaN last, below −∞ when it is set). The window's keys live in a ring of columns, as in selection. The
 * histogram counts keys by their top 16 bits with the 16-bit method's occupancy bits; `below`
 * counts the keys in bins under `med`. Once the walk has found the bin holding rank k, the keys in
 * that bin are gathered from the ring and the one of rank k − below among them is the median.
 */

/** The order-preserving unsigned key of 32 bits `s` (read as an int32) of kind `kind`. */
const toKey = (kind: KeyKind, s: number): number =>
  (kind === 2 ? s ^ ((s >> 31) | 0x80000000) : kind === 1 ? s ^ 0x80000000 : s) >>> 0

/** The 32 bits (as an int32) whose key of kind `kind` is `key`. */
const fromKey = (kind: KeyKind, key: number): number =>
  kind === 2 ? key ^ (((~key) >> 31) | 0x80000000) : kind === 1 ? key ^ 0x80000000 : key | 0

/** Int32 views of 32-bit slices, made once per slice array. */
const int32Views = new WeakMap<VoxelArray, Int32Array>()
const int32View = (a: VoxelArray): Int32Array => {
  let v = int32Views.get(a)
  if (v === undefined) {
    v = new Int32Array(a.buffer, a.byteOffset, a.length)
    int32Views.set(a, v)
  }
  return v
}

/** The state of the coarse histogram for one kernel: its bins, the ring of keys, the candidates. */
interface CoarseState {
  readonly kind: KeyKind
  readonly plane: number
  readonly hist: Int32Array
  readonly l0: Uint32Array
  readonly l1: Uint32Array
  readonly ring: Uint32Array
  readonly candidates: Float64Array
  /** The rows of the window as int32 views (`mw.rows`' order), and the key of cval. */
  readonly irows: Array<Int32Array>
  readonly cvalKey: number
  med: number
  below: number
}

/** Keys of the column at x index `xi` (−1: outside, cval) into slot `slot`, counted in. */
const addKeyColumn = (c: CoarseState, offs: Int32Array, slot: number, xi: number): void => {
  const { kind, plane, hist, l0, l1, ring, irows } = c
  const med = c.med
  let below = c.below
  for (let r = 0, o = slot * plane; r < plane; r++, o++) {
    const key = xi < 0 ? c.cvalKey : toKey(kind, irows[r]![offs[r]! + xi]!)
    ring[o] = key
    const b = key >>> 16
    if (hist[b]++ === 0) occupy(l0, l1, b)
    below += (b - med) >>> 31
  }
  c.below = below
}

/** The keys of slot `slot`, counted out. */
const removeKeyColumn = (c: CoarseState, slot: number): void => {
  const { plane, hist, l0, l1, ring } = c
  const med = c.med
  let below = c.below
  for (let r = 0, o = slot * plane; r < plane; r++, o++) {
    const b = ring[o]! >>> 16
    if (--hist[b] === 0) vacate(l0, l1, b)
    below -= (b - med) >>> 31
  }
  c.below = below
}

/** The key of rank k in the window: walk `med` to the bin holding it, then pick among that bin's keys. */
const keyOfRank = (c: CoarseState, k: number, n: number): number => {
  const { hist, l0, l1, ring, candidates } = c
  let med = c.med
  let below = c.below
  while (below > k) {
    med = previousOccupied(l0, l1, med - 1)
    below -= hist[med]!
  }
  while (below + hist[med]! <= k) {
    below += hist[med]!
    med = nextOccupied(l0, l1, med + 1)
  }
  c.med = med
  c.below = below
  const count = hist[med]!
  let found = 0
  for (let i = 0; i < n && found < count; i++) {
    const key = ring[i]!
    if (key >>> 16 === med) candidates[found++] = key
  }
  return count === 1 ? candidates[0]! : selectKth(candidates, count, k - below)
}

/** The coarse histogram method for 32-bit dtypes whose values' bits become keys of kind `kind`. */
const coarseHistogram = (mw: MedianWindow, kind: KeyKind, height: number, k: number, xt: Int32Array) => {
  const { side, width } = mw
  const plane = side * side
  const n = plane * side
  const c: CoarseState = {
    kind,
    plane,
    hist: new Int32Array(65536),
    l0: new Uint32Array(2048),
    l1: new Uint32Array(64),
    ring: new Uint32Array(n),
    candidates: new Float64Array(n),
    irows: new Array(plane),
    cvalKey: toKey(kind, int32View(mw.outsideRow)[0]!),
    med: 0,
    below: 0
  }
  const computeRows: ComputeRows = (win, out, start, end) => {
    loadSlices(mw, win)
    const o32 = int32View(out)
    for (let y = start; y < end; y++) {
      setRows(mw, y)
      for (let r = 0; r < plane; r++) c.irows[r] = int32View(mw.rows[r]!)
      const base = y * width
      // `below` is relative to `med`, kept from the last row: the histogram is empty here.
      c.below = 0
      for (let p = 0; p < side; p++) addKeyColumn(c, mw.offs, p, xt[p]!)
      for (let x = 0; ; x++) {
        o32[base + x] = fromKey(kind, keyOfRank(c, k, n))
        if (x + 1 === width) break
        removeKeyColumn(c, x % side)
        addKeyColumn(c, mw.offs, x % side, xt[x + side]!)
      }
      for (let p = 0; p < side; p++) removeKeyColumn(c, p)
    }
  }
  return { compute: (w: SliceWindow<DType>, out: VoxelArray) => computeRows(w, out, 0, height), computeRows }
}

/** Copies the window column at x index `xi` (−1: outside, cval) into slot `slot` of the ring. */
const loadColumn = (ring: Float64Array, slot: number, mw: MedianWindow, xi: number, cval: number): void => {
  const { rows, offs } = mw
  const plane = mw.side * mw.side
  const o = slot * plane
  if (xi < 0) ring.fill(cval, o, o + plane)
  else for (let r = 0; r < plane; r++) ring[o + r] = rows[r]![offs[r]! + xi]!
}

/** Selection for any dtype: a ring of the window's columns, copied and quickselected per voxel. */
const selection = (mw: MedianWindow, dtype: DType, height: number, k: number, xt: Int32Array, cval: number) => {
  const { side, width } = mw
  const n = side * side * side
  // The column at extended position p lives in slot p % side of the ring.
  const ring = new Float64Array(n)
  const scratch = new Float64Array(n)
  const [lo, hi] = dtypeRange(dtype)
  const float = isFloat(dtype)
  const computeRows: ComputeRows = (win, out, start, end) => {
    loadSlices(mw, win)
    for (let y = start; y < end; y++) {
      setRows(mw, y)
      const base = y * width
      for (let p = 0; p < side; p++) loadColumn(ring, p, mw, xt[p]!, cval)
      for (let x = 0; x < width; x++) {
        scratch.set(ring)
        const v = selectKth(scratch, n, k)
        // A median is an input value or cval; only a cval foreign to the dtype needs the cast rule.
        out[base + x] = float ? v : v !== v ? 0 : v <= lo ? lo : v >= hi ? hi : v
        if (x + 1 < width) loadColumn(ring, x % side, mw, xt[x + side]!, cval)
      }
    }
  }
  return { compute: (w: SliceWindow<DType>, out: VoxelArray) => computeRows(w, out, 0, height), computeRows }
}

/**
 * Median filter over a (2R+1)³ cube, voxel for voxel as scipy.ndimage.median_filter(size=2R+1).
 *
 * @example
 * ```ts
 * const out = median(alg, alg.source(src), { radius: 1 })
 * ```
 */
export const median = <F extends Repr, D extends DType>(alg: Algebra<F>, input: Volume<F, D>, options: MedianOptions): Volume<F, D> => {
  const r = options.radius
  if (!Number.isInteger(r) || r < 0) throw new RangeError(`median: radius must be an integer ≥ 0, got ${r}`)
  if (r === 0) return input
  const dtype = alg.info(input).dtype
  return alg.window(input, medianKernel(dtype, r, options.mode ?? "reflect", options.cval ?? 0) as unknown as WindowKernel<D, D>)
}
