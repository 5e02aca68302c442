/**
 * Box mean as scipy.ndimage.uniform_filter: per axis (z, then y, then x) the mean of K neighbours,
 * each axis's result stored in the output dtype (truncated, for integers) before the next axis;
 * axes with K = 1 are skipped. The window of i is [i − ⌊K/2⌋, i + K − ⌊K/2⌋ − 1] (scipy's origin 0,
 * which puts the extra voxel of an even K before the centre).
 *
 * scipy 1.10's uniform_filter1d keeps a running float64 sum along the line (the first window summed
 * in order, then `sum += x[in] − x[out]`) and stores sum / K. The y and x kernels do exactly that,
 * so they are bit-identical for every dtype. Along z, integer inputs keep a running sum from one
 * slice to the next; their sums are exact, so the results are bit-identical too. Float inputs sum
 * their K slices afresh for every voxel, in order (a window must give the same voxels wherever a
 * pass starts): the running sum can round differently in the last bit (a float64 ulp; float32
 * outputs almost never notice). uint8 and uint16 kept as themselves step their running z and y sums
 * in WebAssembly SIMD, and float32 kept as float32 its z and y sums (float64, in the same order).
 *
 * @example
 * ```ts
 * const mean3 = uniform(alg, image, { size: 3 })
 * const flat = uniform(alg, image, { size: [1, 5, 5], mode: "nearest" })   // in-plane only
 * ```
 */
import type { Algebra, Repr, Volume } from "../algebra/algebra.js"
import { extensionTable, type BoundaryMode } from "../algebra/boundary.js"
import { castSource, isFloat, type DType, type VoxelArray } from "../algebra/dtype.js"
import type { ComputeRows, WindowKernel } from "../algebra/kernel.js"
import type { VolumeInfo } from "../algebra/volume.js"
import type { PerAxis } from "./gaussian.js"
import { perAxis } from "./gaussian.js"
import { WasmBoxMean, WasmBoxMeanF32, wasmBoxMeanBytes, type BoxMeanDType } from "./internal/box-mean.js"
import { builtInRecipe } from "./internal/kernel-module.js"
import { constantLine, extendRow } from "./internal/lines.js"
import { generated } from "./internal/loops.js"
import { WASM_PAGE } from "./internal/wasm.js"

type AnyKernel = WindowKernel<DType, DType>

/** Taps before and after the centre for a box of size k (scipy's origin 0). */
const boxReach = (k: number) => ({ before: k >> 1, after: k - (k >> 1) - 1 })

/**
 * The z kernel's loops over voxels [first, end) of a slice, compiled per dtypes and size: `lines` are
 * the window's `size` slices in z order. `fresh` sums the window's first size − 1 slices into `acc`;
 * `step` adds the last slice, stores the mean and takes the first slice away, which leaves `acc`
 * ready for the next z (integer inputs: every sum is exact, so the running sum equals the fresh
 * one); `whole` sums all `size` slices afresh (float inputs, whose running sums would round).
 */
const zLoops = (input: DType, output: DType, size: number) => {
  const taps = Array.from({ length: size }, (_, t) => t)
  const locals = `const ${taps.map((t) => `l${t} = lines[${t}]`).join(", ")};`
  const sum = (count: number) => `0 + ${taps.slice(0, count).map((t) => `l${t}[i]`).join(" + ")}`
  type Loop = (acc: Float64Array | Int32Array, out: VoxelArray, first: number, end: number, lines: ReadonlyArray<VoxelArray>) => void
  const params = ["acc", "out", "first", "end", "lines"]
  const key = `uniform-z/${size}/${input}/${output}`
  return {
    fresh: generated<Loop>(`${key}/fresh`, params, () => `${locals}\nfor (let i = first; i < end; i++) acc[i] = ${sum(size - 1)};`),
    step: generated<Loop>(
      `${key}/step`,
      params,
      () =>
        `${locals}\nfor (let i = first; i < end; i++) { const s = acc[i] + l${size - 1}[i]; const v = s / ${size}; out[i] = ${castSource(output, "v")}; acc[i] = s - l0[i]; }`
    ),
    whole: generated<Loop>(
      `${key}/whole`,
      params,
      () => `${locals}\nfor (let i = first; i < end; i++) { const v = (${sum(size)}) / ${size}; out[i] = ${castSource(output, "v")}; }`
    )
  }
}

/**
 * Whether uniform's running sums step in WebAssembly SIMD (internal/box-mean.ts): uint8 or uint16
 * kept as itself, a mode that brings in no cval, slices of at least 2¹² voxels (its memory comes in 64 KiB
 * pages).
 */
const simdBoxMean = (info: VolumeInfo, output: DType, mode: BoundaryMode): info is VolumeInfo<BoxMeanDType> =>
  (info.dtype === "uint8" || info.dtype === "uint16") && output === info.dtype && mode !== "constant" && info.shape[1] * info.shape[2] >= 2 ** 12

/** The same for float32 kept as float32 (its sums in float64: internal/box-mean.ts, WasmBoxMeanF32). */
const simdBoxMeanF32 = (info: VolumeInfo, output: DType, mode: BoundaryMode): boolean =>
  info.dtype === "float32" && output === "float32" && mode !== "constant" && info.shape[1] * info.shape[2] >= 2 ** 12

/** Voxels per chunk of the z kernels' WebAssembly: their lines and means stay in the core's L2 cache. */
const Z_CHUNK = 4096
/** A region of such a chunk in WasmBoxMean's data: the chunk and the 16 voxels a step may pass it by. */
const Z_REGION = Z_CHUNK + 16

/** Where a region of n float32 voxels after `regions` others starts in WasmBoxMeanF32's data: a call writes up to 3 past its range. */
const f32Region = (n: number, regions: number): number => regions * (Math.ceil(n / 4) * 4 + 4)

/**
 * The box mean along z (a window of `size` slices). For integer inputs it keeps a running sum from
 * one z to the next (two reads a voxel whatever the size); a call that does not follow the previous
 * one (another z, other rows) starts it afresh.
 */
export const uniformZKernel = (output: DType, size: number, mode: BoundaryMode, cval: number): AnyKernel => {
  const { before, after } = boxReach(size)
  return {
    name: "uniform-z",
    recipe: builtInRecipe("uniformZKernel", [output, size, mode, cval]),
    params: { size, mode, ...(mode === "constant" ? { cval } : {}) },
    halo: { z: { before, after }, y: { before: 0, after: 0 }, x: { before: 0, after: 0 } },
    mode,
    cval,
    output,
    opsPerVoxel: 4,
    scratchBytes: (info) => {
      const n = info.shape[1] * info.shape[2]
      const simd = simdBoxMean(info, output, mode) ? wasmBoxMeanBytes(n, 3 * Z_REGION, info.dtype) + WASM_PAGE : 0
      const simdF32 = simdBoxMeanF32(info, output, mode) ? WasmBoxMeanF32.bytes(size, f32Region(Z_CHUNK, size + 1)) + WASM_PAGE : 0
      return Math.max(8 * n * (mode === "constant" ? 2 : 1), simd, simdF32)
    },
    prepare: (info: VolumeInfo) => {
      const depth = info.shape[0]
      const height = info.shape[1]
      const width = info.shape[2]
      const outside = mode === "constant" ? constantLine(height * width, cval) : new Float64Array(0)
      const lines: Array<VoxelArray> = new Array(size).fill(outside)
      const loops = zLoops(info.dtype, output, size)
      const running = !isFloat(info.dtype)
      // uint8 or uint16 kept as itself runs the step as WebAssembly SIMD (internal/box-mean.ts), its sums in its memory.
      const n = height * width
      const simd = simdBoxMean(info, output, mode) ? WasmBoxMean.make(n, 3 * Z_REGION, size, info.dtype) : undefined
      const acc = simd?.acc ?? new Float64Array(running ? n : 0)
      const whole = simdBoxMeanF32(info, output, mode) ? simdWhole(size) : undefined
      // The rows and z the running sum in `acc` was left ready for.
      let nextZ = -1
      let nextStart = -1
      let nextEnd = -1
      const computeRows: ComputeRows = (w, out, start, end) => {
        for (let t = -before; t <= after; t++) {
          const zi = w.z + t
          lines[t + before] = mode === "constant" && (zi < 0 || zi >= depth) ? outside : w.at(t)
        }
        const from = start * width
        const to = end * width
        if (whole !== undefined) return whole(lines as ReadonlyArray<Float32Array>, out as Float32Array, from, to)
        if (!running) return loops.whole(acc, out, from, to, lines)
        if (nextZ !== w.z || nextStart !== start || nextEnd !== end) loops.fresh(acc, out, from, to, lines)
        if (simd === undefined) loops.step(acc, out, from, to, lines)
        else {
          // Chunk by chunk: the slice entering the window in the first region, the one leaving it in
          // the second, the means in the third. (A step writes sums up to 15 past its range: only
          // the last chunk's range is not a multiple of 16, and past it are no sums of this call.)
          const data = simd.data
          const entering = lines[size - 1] as typeof data
          const leaving = lines[0] as typeof data
          for (let c = from; c < to; c += Z_CHUNK) {
            const e = Math.min(c + Z_CHUNK, to)
            data.set(entering.subarray(c, e), 0)
            data.set(leaving.subarray(c, e), Z_REGION)
            simd.step(c, 0, Z_REGION, 2 * Z_REGION, e - c)
            out.set(data.subarray(2 * Z_REGION, 2 * Z_REGION + e - c), c)
          }
        }
        nextZ = w.z + 1
        nextStart = start
        nextEnd = end
      }
      return { compute: (w, out) => computeRows(w, out, 0, height), computeRows }
    }
  }
}

/**
 * float32 means along z as WebAssembly SIMD, the same voxels as `zLoops`' `whole`: chunk by chunk,
 * the window's `size` lines are copied into the instance's memory and summed there afresh. (A ring
 * of whole slices in its memory would copy each slice once instead of `size` times, but hold
 * `size` + 1 slices more per thread: 6 MiB more peak RSS at 512² × 5.)
 */
const simdWhole = (size: number) => {
  const box = WasmBoxMeanF32.make(size, f32Region(Z_CHUNK, size + 1), size)!
  const offsets = Array.from({ length: size }, (_, t) => f32Region(Z_CHUNK, t))
  const means = f32Region(Z_CHUNK, size)
  const data = box.data
  return (lines: ReadonlyArray<Float32Array>, out: Float32Array, from: number, to: number): void => {
    for (let c = from; c < to; c += Z_CHUNK) {
      const end = Math.min(c + Z_CHUNK, to)
      for (let t = 0; t < size; t++) data.set(lines[t]!.subarray(c, end), offsets[t])
      box.whole(offsets, means, end - c)
      out.set(data.subarray(means, means + end - c), c)
    }
  }
}

/** `out[base + x]` = the mean `v` stored with the cast rule of `output`, as JavaScript source. */
const storeMean = (output: DType): string => `out[base + x] = ${castSource(output, "v")};`

/**
 * The y kernel's rows, one loop each, compiled per input and output dtype: the first row's means
 * from the running sums, and each next row's — scipy's `sum += in − out` per column, then the mean,
 * stored with the cast rule — without a buffer of means between.
 */
const runningRows = (input: DType, output: DType) => ({
  first: generated<(sum: Float64Array, out: VoxelArray, base: number, width: number, size: number) => void>(
    `uniform-y-first/${output}`,
    ["sum", "out", "base", "width", "size"],
    () => `for (let x = 0; x < width; x++) { const v = sum[x] / size; ${storeMean(output)} }`
  ),
  next: generated<
    (sum: Float64Array, out: VoxelArray, base: number, width: number, size: number, a: VoxelArray, oa: number, b: VoxelArray, ob: number) => void
  >(
    `uniform-y-next/${input}/${output}`,
    ["sum", "out", "base", "width", "size", "a", "oa", "b", "ob"],
    () => `for (let x = 0; x < width; x++) { const s = sum[x] + (a[oa + x] - b[ob + x]); sum[x] = s; const v = s / size; ${storeMean(output)} }`
  )
})

/** The x kernel's running mean along one extended row, stored as it goes (scipy's order). */
const runningRow = (output: DType) =>
  generated<(ext: Float64Array, out: VoxelArray, base: number, width: number, size: number) => void>(
    `uniform-x/${output}`,
    ["ext", "out", "base", "width", "size"],
    () =>
      [
        "let s = 0;",
        "for (let p = 0; p < size; p++) s += ext[p];",
        "let x = 0, v = s / size;",
        storeMean(output),
        `for (x = 1; x < width; x++) { s += ext[x + size - 1] - ext[x - 1]; v = s / size; ${storeMean(output)} }`
      ].join("\n")
  )

/** The box mean along y: scipy's running sum down each column. */
export const uniformYKernel = (output: DType, size: number, mode: BoundaryMode, cval: number, input: DType): AnyKernel => {
  const { before, after } = boxReach(size)
  return {
    name: "uniform-y",
    recipe: builtInRecipe("uniformYKernel", [output, size, mode, cval, input]),
    params: { size, mode, ...(mode === "constant" ? { cval } : {}) },
    halo: { z: { before: 0, after: 0 }, y: { before, after }, x: { before: 0, after: 0 } },
    // The running sum of row y holds the rounding of every row before it: a band starting
    // elsewhere would round differently in the last bit. Integer sums are exact, so only float
    // inputs keep the whole slice.
    inPlane: isFloat(input) ? "global" : "local",
    mode,
    cval,
    output,
    opsPerVoxel: 3,
    scratchBytes: (info) => {
      const simd = simdBoxMean(info, output, mode) ? wasmBoxMeanBytes(info.shape[2], (size + 2) * (info.shape[2] + 16), info.dtype) + WASM_PAGE : 0
      const simdF32 = simdBoxMeanF32(info, output, mode) ? WasmBoxMeanF32.bytes(info.shape[2], f32Region(info.shape[2], size + 2)) + WASM_PAGE : 0
      return 8 * info.shape[2] * 3 + 4 * (info.shape[1] + size) + simd + simdF32
    },
    prepare: (info: VolumeInfo) => {
      const height = info.shape[1]
      const width = info.shape[2]
      // Extended position p is input row table[p]; output row y's window is positions y … y + size − 1.
      const table = extensionTable(mode, height, before, after)
      const sum = new Float64Array(width)
      const outsideRow = constantLine(width, cval)
      const { first, next } = runningRows(info.dtype, output)
      // The SIMD paths' rows go through a ring of size + 1 rows in the instance's memory (extended
      // position p in slot p mod (size + 1): the window's rows and the one leaving it), the means
      // through one more. `stride` leaves room for what a step may write past a row.
      const ringSlot = (p: number, stride: number) => (p % (size + 1)) * stride
      const enterRow = <A extends Uint8Array | Uint16Array | Float32Array>(data: A, slice: A, p: number, at: number) =>
        data.set(slice.subarray(table[p]! * width, table[p]! * width + width), at)
      // uint8 or uint16 kept as itself: the column sums step in WebAssembly SIMD, 15 voxels of room a row.
      const rowStride = width + 16
      const simd = simdBoxMean(info, output, mode) ? WasmBoxMean.make(width, (size + 2) * rowStride, size, info.dtype) : undefined
      const rowSlot = (p: number) => ringSlot(p, rowStride)
      const meansRow = (size + 1) * rowStride
      const simdRows: ComputeRows = (w, out, start, end) => {
        const box = simd!
        const data = box.data
        const slice = w.at(0) as typeof data
        const enter = (p: number) => enterRow(data, slice, p, rowSlot(p))
        const acc = box.acc.fill(0)
        for (let p = start; p < start + size - 1; p++) {
          enter(p)
          const o = table[p]! * width
          for (let x = 0; x < width; x++) acc[x]! += slice[o + x]!
        }
        for (let y = start; y < end; y++) {
          enter(y + size - 1)
          box.step(0, rowSlot(y + size - 1), rowSlot(y), meansRow, width)
          out.set(data.subarray(meansRow, meansRow + width), y * width)
        }
      }
      // float32 kept as float32: the same with float64 sums, four voxels a step, over the whole slice.
      const f32Stride = f32Region(width, 1)
      const simdF32 = simdBoxMeanF32(info, output, mode) ? WasmBoxMeanF32.make(width, f32Region(width, size + 2), size) : undefined
      const slotOf = (p: number) => ringSlot(p, f32Stride)
      const meanRow = f32Region(width, size + 1)
      const simdF32Slice = (slice: Float32Array, out: Float32Array) => {
        const box = simdF32!
        const data = box.data
        const enter = (p: number) => enterRow(data, slice, p, slotOf(p))
        box.sums.fill(0)
        for (let p = 0; p < size; p++) {
          enter(p)
          box.add(0, slotOf(p), width)
        }
        box.mean(0, meanRow, width)
        out.set(data.subarray(meanRow, meanRow + width), 0)
        for (let y = 1; y < height; y++) {
          enter(y + size - 1)
          box.step(0, slotOf(y + size - 1), slotOf(y - 1), meanRow, width)
          out.set(data.subarray(meanRow, meanRow + width), y * width)
        }
      }
      const computeRows: ComputeRows = (w, out, start, end) => {
        if (start >= end) return
        if (simd !== undefined) return simdRows(w, out, start, end)
        if (simdF32 !== undefined && start === 0 && end === height) return simdF32Slice(w.at(0) as Float32Array, out as Float32Array)
        const slice = w.at(0)
        sum.fill(0)
        for (let p = start; p < start + size; p++) {
          const yi = table[p]!
          const a: VoxelArray = yi < 0 ? outsideRow : slice
          const o = yi < 0 ? 0 : yi * width
          for (let x = 0; x < width; x++) sum[x] += a[o + x]!
        }
        first(sum, out, start * width, width, size)
        for (let y = start + 1; y < end; y++) {
          const yin = table[y + size - 1]!
          const yout = table[y - 1]!
          next(
            sum,
            out,
            y * width,
            width,
            size,
            yin < 0 ? outsideRow : slice,
            yin < 0 ? 0 : yin * width,
            yout < 0 ? outsideRow : slice,
            yout < 0 ? 0 : yout * width
          )
        }
      }
      // Integer sums are exact, so rows may start anywhere; float ones only at row 0 (see inPlane).
      return isFloat(info.dtype) ? { compute: (w, out) => computeRows(w, out, 0, height) } : { compute: (w, out) => computeRows(w, out, 0, height), computeRows }
    }
  }
}

/** The box mean along x: scipy's running sum along each extended row. */
export const uniformXKernel = (output: DType, size: number, mode: BoundaryMode, cval: number): AnyKernel => {
  const { before, after } = boxReach(size)
  return {
    name: "uniform-x",
    recipe: builtInRecipe("uniformXKernel", [output, size, mode, cval]),
    params: { size, mode, ...(mode === "constant" ? { cval } : {}) },
    halo: { z: { before: 0, after: 0 }, y: { before: 0, after: 0 }, x: { before, after } },
    mode,
    cval,
    output,
    opsPerVoxel: 3,
    scratchBytes: (info) => 8 * (2 * info.shape[2] + size) + 4 * (info.shape[2] + size),
    prepare: (info: VolumeInfo) => {
      const height = info.shape[1]
      const width = info.shape[2]
      const table = extensionTable(mode, width, before, after)
      const ext = new Float64Array(table.length)
      const row = runningRow(output)
      const computeRows: ComputeRows = (w, out, start, end) => {
        const slice = w.at(0)
        for (let y = start; y < end; y++) {
          extendRow(ext, slice, y, width, table, cval)
          row(ext, out, y * width, width, size)
        }
      }
      return { compute: (w, out) => computeRows(w, out, 0, height), computeRows }
    }
  }
}

export interface UniformOptions<E extends DType> {
  /** Box size K per axis, or [kz, ky, kx]; integers ≥ 1. */
  readonly size: PerAxis
  /** Boundary mode (default "reflect", as scipy). */
  readonly mode?: BoundaryMode
  /** Value outside the volume for mode "constant" (default 0). */
  readonly cval?: number
  /** Output dtype, also used between axes (default: the input's, as scipy). */
  readonly dtype?: E
}

/**
 * Box mean, voxel for voxel as scipy.ndimage.uniform_filter(input, size, mode=…, cval=…) (see the
 * module comment for the last-bit caveat on float inputs along z).
 *
 * @example
 * ```ts
 * const out = uniform(alg, alg.source(src), { size: 3 })
 * ```
 */
export const uniform = <F extends Repr, D extends DType, E extends DType = D>(
  alg: Algebra<F>,
  input: Volume<F, D>,
  options: UniformOptions<E>
): Volume<F, E> => {
  const sizes = perAxis(options.size)
  for (const k of sizes) {
    if (!Number.isInteger(k) || k < 1) throw new RangeError(`uniform: size must be an integer ≥ 1, got ${k}`)
  }
  const info = alg.info(input)
  const outType = (options.dtype ?? info.dtype) as E
  const mode = options.mode ?? "reflect"
  const cval = options.cval ?? 0
  const makers = [uniformZKernel, uniformYKernel, uniformXKernel] as const
  let current = input as unknown as Volume<F, DType>
  for (let axis = 0; axis < 3; axis++) {
    const k = sizes[axis]!
    if (k > 1) current = alg.window(current, makers[axis]!(outType, k, mode, cval, alg.info(current).dtype))
  }
  if ((current as unknown) === (input as unknown) && (outType as DType) !== info.dtype) {
    return alg.map<D, E>(input, (x) => x, { dtype: outType, name: "cast" })
  }
  return current as unknown as Volume<F, E>
}
