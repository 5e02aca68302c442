/**
 * Running box sums of uint8 data stored as uint8 means, as WebAssembly SIMD (box-mean.wat):
 * sixteen voxels a step, the same voxels as uniform's JavaScript loops (the sums are exact
 * integers, and the quotient is truncated as the cast truncates it). uniform's z and y kernels
 * run on it: along z the running sums are one per voxel of the slice, along y one per column.
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

const boxMeanModule = compiledOnce(BOX_MEAN_WASM)

/** Room after every region: a step reads and writes up to 15 voxels past its range. */
const SLACK = 16
const align16 = (n: number) => Math.ceil((n + SLACK) / 16) * 16

/** The bytes of an instance with `sums` running sums and `dataBytes` of data. */
export const wasmBoxMeanBytes = (sums: number, dataBytes: number): number => 4 * align16(sums) + align16(dataBytes)

export class WasmBoxMean {
  private constructor(
    /** The running sums. */
    readonly acc: Int32Array,
    /** The data region: the lines stepped over and the means, where the caller places them. */
    readonly data: Uint8Array,
    private readonly dataAt: number,
    private readonly size: number,
    private readonly run: StepExport
  ) {}

  /** An instance with `sums` running sums, `dataBytes` of data and boxes of `size` (2 … 255); undefined without SIMD. */
  static make(sums: number, dataBytes: number, size: number): WasmBoxMean | undefined {
    const module = boxMeanModule()
    if (module === null || size < 2 || size > 255) return undefined
    const { buffer, exports } = instantiate(module, wasmBoxMeanBytes(sums, dataBytes))
    const dataAt = 4 * align16(sums)
    return new WasmBoxMean(new Int32Array(buffer, 0, sums), new Uint8Array(buffer, dataAt, dataBytes), dataAt, size, exports.step_u8 as StepExport)
  }

  /**
   * For k < count: means[k] = trunc((acc[sum + k] + last[k]) / size), then acc[sum + k] += last[k] −
   * first[k]; `last`, `first` and `means` are offsets in the data region (up to 15 bytes past
   * `count` are read and written too).
   */
  step(sum: number, last: number, first: number, means: number, count: number): void {
    const at = this.dataAt
    this.run(4 * sum, at + last, at + first, at + means, count, this.size)
  }
}
