/**
 * Separable correlation: scipy.ndimage.correlate1d along z, then y, then x, each axis's result
 * stored in the output dtype before the next axis reads it (as scipy's gaussian_filter and
 * uniform_filter do). This is the engine under `gaussian`; it is exported for custom 1-D kernels
 * (derivatives, binomial smoothing …).
 *
 * Arithmetic follows scipy's `NI_Correlate1D` operation for operation, so that results are
 * bit-identical for the same weights: weights of odd length that are symmetric (|w[c+j] − w[c−j]| ≤
 * DBL_EPSILON for all j) are summed as w[c]·x[0] + Σ_{j=r…1} w[c−j]·(x[−j] + x[j]), outermost pair
 * first; anti-symmetric ones with (x[−j] − x[j]); any others as w[last]·x[last], then + w[k]·x[k]
 * from the first weight to the last but one. Even lengths put the extra weight before the centre
 * (scipy's origin 0).
 *
 * uint8, uint16 or float32 data filtered into its own dtype with symmetric weights (a gaussian of
 * those dtypes), in any mode but "constant", is summed by WebAssembly SIMD loops
 * (internal/wasm-taps.ts): the same operations, eight voxels at a time.
 *
 * Results are stored with the cast rule (truncate, saturate). scipy's C cast agrees inside the
 * output dtype's range; outside it (weights of mixed sign, or summing above 1, on integer data)
 * scipy wraps around or does what the platform does, and we saturate.
 *
 * @example
 * ```ts
 * // A [1, 2, 1] / 4 smoothing along x only, stored as float32
 * const smooth = correlate(alg, image, { x: [0.25, 0.5, 0.25], dtype: "float32" })
 * ```
 */
import type { Algebra, Repr, Volume } from "../algebra/algebra.js"
import { extensionTable, type BoundaryMode } from "../algebra/boundary.js"
import type { DType, VoxelArray } from "../algebra/dtype.js"
import type { ComputeRows, PreparedKernel, WindowKernel } from "../algebra/kernel.js"
import type { VolumeInfo } from "../algebra/volume.js"
import { builtInRecipe } from "./internal/kernel-module.js"
import { constantLine, extendRow } from "./internal/lines.js"
import { SharedLines, tapSum } from "./internal/loops.js"
import { WasmTapSum, wasmTapSumBytes, type WasmTapDType } from "./internal/wasm-taps.js"

const DBL_EPSILON = 2.220446049250313e-16

/** 1-D weights analysed as scipy does before correlating. */
export interface Weights1D {
  readonly weights: Float64Array
  /** Taps before the centre (n >> 1) and after it (n − before − 1). */
  readonly before: number
  readonly after: number
  /** 1 symmetric, −1 anti-symmetric, 0 general (only odd lengths can be (anti-)symmetric). */
  readonly symmetry: 1 | -1 | 0
}

/** Analyses weights the way scipy's correlate1d does (the symmetry test uses DBL_EPSILON, not ==). */
export const analyseWeights = (weights: ArrayLike<number>): Weights1D => {
  const w = Float64Array.from(weights)
  if (w.length < 1) throw new RangeError("correlate: weights must hold at least one value")
  for (const v of w) if (!Number.isFinite(v)) throw new RangeError(`correlate: weight ${v} is not a finite number`)
  const before = w.length >> 1
  const after = w.length - before - 1
  let symmetry: 1 | -1 | 0 = 0
  if ((w.length & 1) === 1) {
    symmetry = 1
    for (let j = 1; j <= before; j++) {
      if (Math.abs(w[before + j]! - w[before - j]!) > DBL_EPSILON) {
        symmetry = 0
        break
      }
    }
    if (symmetry === 0) {
      symmetry = -1
      for (let j = 1; j <= before; j++) {
        if (Math.abs(w[before + j]! + w[before - j]!) > DBL_EPSILON) {
          symmetry = 0
          break
        }
      }
    }
  }
  return { weights: w, before, after, symmetry }
}

/** What a correlation kernel is called in plans, and its parameters there. */
export interface KernelLabel {
  readonly name: string
  readonly params: Readonly<Record<string, number | string | boolean | ReadonlyArray<number>>>
}

type AnyKernel = WindowKernel<DType, DType>

/**
 * The dtype whose WebAssembly SIMD sum (wasm-taps.ts) a kernel runs, or undefined: uint8, uint16
 * or float32 in and out, symmetric weights, no constant boundary (whose cval lines are float64), and slices
 * (or bands) of at least 2¹⁶ voxels. Its memory comes in pages of 64 KiB, which kernels count as
 * scratch; on smaller slices that would be mostly rounding, and the JavaScript loop takes well
 * under a millisecond a slice.
 */
const wasmDType = (info: VolumeInfo, output: DType, k: Weights1D, mode: BoundaryMode): WasmTapDType | undefined =>
  (info.dtype === "uint8" || info.dtype === "uint16" || info.dtype === "float32") &&
  output === info.dtype &&
  k.symmetry === 1 &&
  mode !== "constant" &&
  info.shape[1] * info.shape[2] >= 2 ** 16
    ? info.dtype
    : undefined

/** Correlation along z: each output voxel from the same voxel of slices z − before … z + after. */
export const correlateZKernel = (
  output: DType,
  k: Weights1D,
  mode: BoundaryMode,
  cval: number,
  label: KernelLabel
): AnyKernel => ({
  name: label.name,
  params: label.params,
  recipe: builtInRecipe("correlateZKernel", [output, k, mode, cval, label]),
  halo: { z: { before: k.before, after: k.after }, y: { before: 0, after: 0 }, x: { before: 0, after: 0 } },
  mode,
  cval,
  output,
  opsPerVoxel: 2 * k.weights.length,
  // The slice of cval outside the volume (mode "constant"), or the window and output slice in the
  // WebAssembly sum's memory; otherwise sums go straight into the output.
  scratchBytes: (info) =>
    mode === "constant" ? 8 * info.shape[1] * info.shape[2] : wasmBytes(info, output, k, mode, k.weights.length * info.shape[1] * info.shape[2]),
  prepare: (info: VolumeInfo) => {
    const depth = info.shape[0]
    const n = info.shape[1] * info.shape[2]
    const dtype = wasmDType(info, output, k, mode)
    const wasm = dtype === undefined ? undefined : WasmTapSum.make(dtype, k, k.weights.length * n, n)
    if (wasm !== undefined) {
      // The window's slices copied into the sum's memory, slice t at t · n.
      const at = Int32Array.from(k.weights, (_, t) => t * n)
      const voxels = wasm.voxels
      const result = voxels.subarray(wasm.outAt, wasm.outAt + n)
      return {
        compute: (w, out) => {
          for (let t = -k.before; t <= k.after; t++) voxels.set(w.at(t), (t + k.before) * n)
          wasm.sum(wasm.outAt, n, at)
          out.set(result)
        }
      }
    }
    // scipy extends lines with cval as a float64; the interpreter's constant slice would hold it
    // cast to the input dtype, so slices outside the volume are served from our own.
    const outside = mode === "constant" ? constantLine(n, cval) : new Float64Array(0)
    const taps = k.before + k.after + 1
    const lines: Array<VoxelArray> = new Array(taps).fill(outside)
    const one: Array<VoxelArray> = [outside]
    const zero = new Int32Array(taps)
    const offs = new Int32Array(taps)
    const shared = new SharedLines()
    const sumOfOne = tapSum(k, info.dtype, true, output, "-z")
    const sumOfMany = tapSum(k, info.dtype, false, output, "-z")
    return {
      compute: (w, out) => {
        for (let t = -k.before; t <= k.after; t++) {
          const zi = w.z + t
          lines[t + k.before] = mode === "constant" && (zi < 0 || zi >= depth) ? outside : w.at(t)
        }
        // The window's slices are usually one ring's block: then one array at offsets.
        const common = shared.of(lines, zero, offs)
        if (common === undefined) sumOfMany(out, 0, n, lines, zero, k.weights)
        else {
          one[0] = common
          sumOfOne(out, 0, n, one, offs, k.weights)
        }
      }
    }
  }
})

/** Correlation along y, in-plane: rows of the output slice from rows y − before … y + after. */
export const correlateYKernel = (
  output: DType,
  k: Weights1D,
  mode: BoundaryMode,
  cval: number,
  label: KernelLabel
): AnyKernel => ({
  name: label.name,
  params: label.params,
  recipe: builtInRecipe("correlateYKernel", [output, k, mode, cval, label]),
  halo: { z: { before: 0, after: 0 }, y: { before: k.before, after: k.after }, x: { before: 0, after: 0 } },
  mode,
  cval,
  output,
  opsPerVoxel: 2 * k.weights.length,
  scratchBytes: (info) =>
    8 * info.shape[2] +
    4 * (info.shape[1] + k.before + k.after) +
    wasmBytes(info, output, k, mode, info.shape[1] * info.shape[2]),
  prepare: (info: VolumeInfo) => {
    const height = info.shape[1]
    const width = info.shape[2]
    const table = extensionTable(mode, height, k.before, k.after)
    const n = height * width
    const dtype = wasmDType(info, output, k, mode)
    const wasm = dtype === undefined ? undefined : WasmTapSum.make(dtype, k, n, n)
    if (wasm !== undefined) {
      // Each row's taps are rows of the slice.
      const at = new Int32Array(k.weights.length)
      return wasmRowKernel(wasm, height, width, (y) => {
        for (let t = 0; t < at.length; t++) at[t] = table[y + t]! * width
        wasm.sum(wasm.outAt + y * width, width, at)
      })
    }
    const outsideRow = constantLine(width, cval)
    const taps = k.before + k.after + 1
    // Every tap is a row of the one input slice, except rows outside it in mode "constant".
    const single = mode !== "constant"
    const lines: Array<VoxelArray> = new Array(single ? 1 : taps).fill(outsideRow)
    const offs = new Int32Array(taps)
    const sum = tapSum(k, single ? info.dtype : `${info.dtype}+float64`, single, output, "-y")
    const computeRows: ComputeRows = (w, out, start, end) => {
      const slice = w.at(0)
      if (single) lines[0] = slice
      for (let y = start; y < end; y++) {
        for (let t = 0; t < taps; t++) {
          const yi = table[y + t]!
          if (!single) lines[t] = yi < 0 ? outsideRow : slice
          offs[t] = yi < 0 ? 0 : yi * width
        }
        sum(out, y * width, width, lines, offs, k.weights)
      }
    }
    return { compute: (w, out) => computeRows(w, out, 0, height), computeRows }
  }
})

/** The bytes of a kernel's WebAssembly sum with `dataVoxels` of lines and a slice of output, or 0. */
const wasmBytes = (info: VolumeInfo, output: DType, k: Weights1D, mode: BoundaryMode, dataVoxels: number): number => {
  const dtype = wasmDType(info, output, k, mode)
  return dtype === undefined ? 0 : wasmTapSumBytes(dtype, k.weights.length, dataVoxels, info.shape[1] * info.shape[2])
}

/**
 * An in-plane kernel on a WebAssembly sum: the input slice copied into the sum's memory once per
 * call, `sumRow(y)` summing row y into the output there, and the rows computed copied out. (Shared
 * by the y and x sums: its one call per row is cheap beside the row's sum in WebAssembly.)
 */
const wasmRowKernel = (wasm: WasmTapSum, height: number, width: number, sumRow: (y: number) => void): PreparedKernel<DType, DType> => {
  const computeRows: ComputeRows = (w, out, start, end) => {
    wasm.voxels.set(w.at(0), 0)
    for (let y = start; y < end; y++) sumRow(y)
    out.set(wasm.voxels.subarray(wasm.outAt + start * width, wasm.outAt + end * width), start * width)
  }
  return { compute: (w, out) => computeRows(w, out, 0, height), computeRows }
}

/** The x sum's lines in WebAssembly memory: the slice, then one extended row. */
const xWasmVoxels = (info: VolumeInfo, k: Weights1D): number => info.shape[1] * info.shape[2] + info.shape[2] + k.before + k.after

/** Correlation along x, in-plane: each row extended by the boundary mode, then correlated. */
export const correlateXKernel = (
  output: DType,
  k: Weights1D,
  mode: BoundaryMode,
  cval: number,
  label: KernelLabel
): AnyKernel => ({
  name: label.name,
  params: label.params,
  recipe: builtInRecipe("correlateXKernel", [output, k, mode, cval, label]),
  halo: { z: { before: 0, after: 0 }, y: { before: 0, after: 0 }, x: { before: k.before, after: k.after } },
  mode,
  cval,
  output,
  opsPerVoxel: 2 * k.weights.length,
  scratchBytes: (info) =>
    8 * (info.shape[2] + k.before + k.after) +
    4 * (info.shape[2] + k.before + k.after) +
    wasmBytes(info, output, k, mode, xWasmVoxels(info, k)),
  prepare: (info: VolumeInfo) => {
    const height = info.shape[1]
    const width = info.shape[2]
    const table = extensionTable(mode, width, k.before, k.after)
    const n = height * width
    const dtype = wasmDType(info, output, k, mode)
    const wasm = dtype === undefined ? undefined : WasmTapSum.make(dtype, k, xWasmVoxels(info, k), n)
    if (wasm !== undefined) {
      // Each row extended after the slice (its middle copied within the memory, the ends by the
      // table), tap t reading from ext + t.
      const ext = n
      const at = Int32Array.from(k.weights, (_, t) => ext + t)
      const voxels = wasm.voxels
      return wasmRowKernel(wasm, height, width, (y) => {
        const base = y * width
        voxels.copyWithin(ext + k.before, base, base + width)
        for (let p = 0; p < k.before; p++) voxels[ext + p] = voxels[base + table[p]!]!
        for (let p = k.before + width; p < table.length; p++) voxels[ext + p] = voxels[base + table[p]!]!
        wasm.sum(wasm.outAt + base, width, at)
      })
    }
    const ext = new Float64Array(table.length)
    // ext[i + t] is tap t of output voxel i: one source line, offsets 0 … taps − 1.
    const lines = [ext]
    const offs = Int32Array.from({ length: k.before + k.after + 1 }, (_, t) => t)
    const sum = tapSum(k, "float64", true, output, "-x")
    const computeRows: ComputeRows = (win, out, start, end) => {
      const slice = win.at(0)
      for (let y = start; y < end; y++) {
        extendRow(ext, slice, y, width, table, cval)
        sum(out, y * width, width, lines, offs, k.weights)
      }
    }
    return { compute: (w, out) => computeRows(w, out, 0, height), computeRows }
  }
})

/** Weights per axis; an axis left out (or given `undefined`) is not filtered. */
export interface CorrelateOptions<E extends DType> {
  readonly z?: ArrayLike<number> | undefined
  readonly y?: ArrayLike<number> | undefined
  readonly x?: ArrayLike<number> | undefined
  /** Boundary mode on every axis (default "reflect", as scipy). */
  readonly mode?: BoundaryMode
  /** Value outside the volume for mode "constant" (default 0). */
  readonly cval?: number
  /** Output dtype, also used for the results between axes (default: the input's, as scipy). */
  readonly dtype?: E
  /** Plan name prefix (default "correlate"); kernels are named `<name>-z`, `-y`, `-x`. */
  readonly name?: string
  /** Extra parameters shown in plans. */
  readonly params?: KernelLabel["params"]
}

/**
 * Applies `correlate1d` with the given weights along z, y and x in turn (scipy.ndimage semantics),
 * as up to three algebra nodes: a z window (halo along z only) and two in-plane kernels.
 *
 * @example
 * ```ts
 * const dx = correlate(alg, image, { x: [-0.5, 0, 0.5], dtype: "float32", mode: "nearest" })
 * ```
 */
export const correlate = <F extends Repr, D extends DType, E extends DType = D>(
  alg: Algebra<F>,
  input: Volume<F, D>,
  options: CorrelateOptions<E>
): Volume<F, E> => {
  const info = alg.info(input)
  const outType = (options.dtype ?? info.dtype) as E
  const mode = options.mode ?? "reflect"
  const cval = options.cval ?? 0
  const name = options.name ?? "correlate"
  const axes = [
    ["z", options.z, correlateZKernel],
    ["y", options.y, correlateYKernel],
    ["x", options.x, correlateXKernel]
  ] as const
  let current = input as unknown as Volume<F, DType>
  for (const [axis, weights, make] of axes) {
    if (weights === undefined) continue
    const k = analyseWeights(weights)
    const params = { ...(options.params ?? {}), axis, taps: k.weights.length, mode, ...(mode === "constant" ? { cval } : {}) }
    current = alg.window(current, make(outType, k, mode, cval, { name: `${name}-${axis}`, params }))
  }
  if ((current as unknown) === (input as unknown)) {
    // No axis was filtered: the result is the input, stored in the output dtype.
    return (outType as DType) === info.dtype
      ? (input as unknown as Volume<F, E>)
      : alg.map<D, E>(input, (x) => x, { dtype: outType, name: "cast" })
  }
  return current as unknown as Volume<F, E>
}
