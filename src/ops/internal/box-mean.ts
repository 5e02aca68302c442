/**
 * Box sums for uniform's z and y kernels as WebAssembly SIMD (box-mean.wat), with the same voxels
 * as its JavaScript loops: `WasmBoxMean` steps running sums of uint8 data stored as uint8 means,
 * sixteen voxels a step, or of uint16 as uint16, eight (the sums are exact integers, and the
 * quotient is truncated as the cast truncates it); `WasmBoxMeanF32` sums float32 data in float64,
 * four voxels a step, one operation at a time in the loops' order, and rounds each mean once to
 * float32. Along z the sums are one per voxel of the slice, along y one per column.
 *
 * An instance's memory holds the running sums (`acc`, int32, which a fresh start fills) and a
 * data region (`data`) where the caller puts the lines it steps over and finds the means.
 *
 * @example
 * ```ts
 * const box = WasmBoxMean.make(width, 2 * n, 3)!           // sums per column; a slice and its means
 * box.data.set(slice)                                      // data[0, n): the slice
 * box.acc.set(sumOfRows0And1)                              // a fresh start, rows −1 … 0 reflected
 * box.step(0, 1 * width, 0 * width, n + 0 * width, width)  // row 0's means at data[n …]; acc ready for row 1
 * ```
 */
import { BOX_MEAN_WASM } from "./box-mean-wasm.js"
import { compiledOnce, instantiate } from "./wasm.js"

type StepExport = (acc: number, last: number, first: number, out: number, n: number, size: number) => void
type AddExport = (acc: number, src: number, n: number) => void
type MeanExport = (acc: number, out: number, n: number, size: number) => void
type WholeExport = (lines: number, count: number, out: number, n: number, size: number) => void

const boxMeanModule = compiledOnce(BOX_MEAN_WASM)

/** Room after every region: a step reads and writes up to 15 voxels past its range. */
const SLACK = 16
const align16 = (n: number) => Math.ceil((n + SLACK) / 16) * 16

/** The dtypes `WasmBoxMean` steps over, kept as themselves. */
export type BoxMeanDType = "uint8" | "uint16"

/** The bytes of an instance with `sums` running sums and `voxels` of data of `dtype`. */
export const wasmBoxMeanBytes = (sums: number, voxels: number, dtype: BoxMeanDType = "uint8"): number =>
  4 * align16(sums) + align16(voxels) * (dtype === "uint8" ? 1 : 2)

export class WasmBoxMean {
  private constructor(
    /** The running sums. */
    readonly acc: Int32Array,
    /** The data region: the lines stepped over and the means, where the caller places them. */
    readonly data: Uint8Array | Uint16Array,
    private readonly dataAt: number,
    private readonly shift: number,
    private readonly size: number,
    private readonly run: StepExport
  ) {}

  /** An instance with `sums` running sums, `voxels` of data and boxes of `size` (2 … 255); undefined without SIMD. */
  static make(sums: number, voxels: number, size: number, dtype: BoxMeanDType = "uint8"): WasmBoxMean | undefined {
    const module = boxMeanModule()
    if (module === null || size < 2 || size > 255) return undefined
    const { buffer, exports } = instantiate(module, wasmBoxMeanBytes(sums, voxels, dtype))
    const dataAt = 4 * align16(sums)
    const acc = new Int32Array(buffer, 0, sums)
    return dtype === "uint8"
      ? new WasmBoxMean(acc, new Uint8Array(buffer, dataAt, voxels), dataAt, 0, size, exports.step_u8 as StepExport)
      : new WasmBoxMean(acc, new Uint16Array(buffer, dataAt, voxels), dataAt, 1, size, exports.step_u16 as StepExport)
  }

  /**
   * For k < count: means[k] = trunc((acc[sum + k] + last[k]) / size), then acc[sum + k] += last[k] −
   * first[k]; `last`, `first` and `means` are voxel offsets in the data region (up to 15 voxels
   * past `count` are read and written too).
   */
  step(sum: number, last: number, first: number, means: number, count: number): void {
    const { dataAt: at, shift } = this
    this.run(4 * sum, at + (last << shift), at + (first << shift), at + (means << shift), count, this.size)
  }
}

/** The float32 functions of an instance of box-mean.wat. */
interface F32Exports {
  readonly add: AddExport
  readonly mean: MeanExport
  readonly step: StepExport
  readonly whole: WholeExport
}

/**
 * float32 box sums kept in float64 (the `_f32` functions of box-mean.wat). Offsets are in voxels:
 * `sum` into the sums, the others into the data region (float32). Each call also reads and writes
 * up to 3 voxels past its range.
 *
 * @example
 * ```ts
 * const box = WasmBoxMeanF32.make(n, 3 * n, 5)!
 * box.data.set(slice0); box.sums.fill(0)
 * box.add(0, 0, n)          // sums = 0 + slice0
 * box.mean(0, 2 * n, n)     // data[2n, 3n) = sums / 5, rounded to float32
 * ```
 */
export class WasmBoxMeanF32 {
  private constructor(
    /** The float64 sums. */
    readonly sums: Float64Array,
    /** The data region: float32 lines and means, where the caller places them. */
    readonly data: Float32Array,
    private readonly dataAt: number,
    private readonly size: number,
    private readonly run: F32Exports,
    /** Where `whole` puts its lines' byte offsets: over the sums, which it does not use. */
    private readonly offsets: Int32Array
  ) {}

  /** The bytes of an instance with `sums` sums and `voxels` float32 voxels of data. */
  static bytes(sums: number, voxels: number): number {
    return 8 * align16(sums) + 4 * align16(voxels)
  }

  /** An instance with `sums` sums, `voxels` of data and boxes of `size` (≥ 2); undefined without SIMD. */
  static make(sums: number, voxels: number, size: number): WasmBoxMeanF32 | undefined {
    const module = boxMeanModule()
    if (module === null || size < 2) return undefined
    const { buffer, exports } = instantiate(module, WasmBoxMeanF32.bytes(sums, voxels))
    const dataAt = 8 * align16(sums)
    const run: F32Exports = {
      add: exports.add_f32 as AddExport,
      mean: exports.mean_f32 as MeanExport,
      step: exports.step_f32 as StepExport,
      whole: exports.whole_f32 as WholeExport
    }
    return new WasmBoxMeanF32(new Float64Array(buffer, 0, sums), new Float32Array(buffer, dataAt, voxels), dataAt, size, run, new Int32Array(buffer, 0, 2 * sums))
  }

  /**
   * data[out + k] = float32((0 + data[lines[0] + k] + … + data[lines[L − 1] + k]) / size), for
   * k < count: the sums of L ≤ `sums` lines at once (`lines` are data offsets). It overwrites the
   * first L sums.
   */
  whole(lines: ReadonlyArray<number>, out: number, count: number): void {
    const table = this.offsets
    for (let t = 0; t < lines.length; t++) table[t] = this.dataAt + 4 * lines[t]!
    this.run.whole(0, lines.length, this.dataAt + 4 * out, count, this.size)
  }

  /** sums[sum + k] = sums[sum + k] + data[src + k], for k < count. */
  add(sum: number, src: number, count: number): void {
    this.run.add(8 * sum, this.dataAt + 4 * src, count)
  }

  /** data[out + k] = float32(sums[sum + k] / size), for k < count. */
  mean(sum: number, out: number, count: number): void {
    this.run.mean(8 * sum, this.dataAt + 4 * out, count, this.size)
  }

  /** s = sums[sum + k] + (data[a + k] − data[b + k]); sums[sum + k] = s; data[out + k] = float32(s / size), for k < count. */
  step(sum: number, a: number, b: number, out: number, count: number): void {
    this.run.step(8 * sum, this.dataAt + 4 * a, this.dataAt + 4 * b, this.dataAt + 4 * out, count, this.size)
  }
}
