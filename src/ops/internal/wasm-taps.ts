/**
 * Symmetric tap sums of uint8, uint16 or float32 lines stored in the same dtype — the z, y and x
 * sums of a gaussian of those dtypes — as WebAssembly SIMD (tap-sum.wat), eight voxels a step, voxel for
 * voxel the generated JavaScript loop's results (`tapSum` in loops.ts: the same float64 operations
 * in scipy's order, the same cast). The JavaScript loop pays a bounds check and a conversion per
 * tap and voxel; this one runs the uint8 z sum of σ 2 about 6× faster (bench/wasm-tap-sum.ts).
 *
 * Each instance owns a memory: a kernel copies the lines it reads into `voxels`, sums into
 * `outAt`, and copies the result out (a copy costs about a hundredth of the sum).
 *
 * @example
 * ```ts
 * const taps = WasmTapSum.make("uint8", analyseWeights(gaussianWeights(2)), 17 * n, n)   // undefined without SIMD
 * for (let t = 0; t < 17; t++) taps!.voxels.set(lines[t]!, t * n)
 * taps!.sum(taps!.outAt, n, offsets)                      // offsets[t]: where line t starts, in voxels
 * out.set(taps!.voxels.subarray(taps!.outAt, taps!.outAt + n))
 * ```
 */
import type { TapLayout } from "./loops.js"
import { TAP_SUM_WASM } from "./tap-sum-wasm.js"
import { compiledOnce, instantiate, WASM_PAGE } from "./wasm.js"

/** The dtypes with a WebAssembly tap sum (in and out). */
export type WasmTapDType = "uint8" | "uint16" | "float32"

type SumExport = (out: number, n: number, pairs: number, offs: number, weights: number) => void

/** The compiled module, once per thread; null where WebAssembly SIMD is missing. */
const tapSumModule = compiledOnce(TAP_SUM_WASM)

/** Room after the lines and after the output: a step reads and writes up to 7 voxels past n. */
const SLACK = 16
const align = (n: number, to: number) => Math.ceil(n / to) * to
const sizeOf = (dtype: WasmTapDType) => (dtype === "uint8" ? 1 : dtype === "uint16" ? 2 : 4)
const EXPORTS: Record<WasmTapDType, string> = { uint8: "sum_u8", uint16: "sum_u16", float32: "sum_f32" }

/** Where things lie in an instance's memory, in bytes. */
const layout = (dtype: WasmTapDType, taps: number, dataVoxels: number, outVoxels: number) => {
  const size = sizeOf(dtype)
  const outAt = align(dataVoxels * size + SLACK, 16)
  const offsAt = align(outAt + outVoxels * size + SLACK, 16)
  const weightsAt = align(offsAt + 4 * taps, 8)
  return { outAt, offsAt, weightsAt, bytes: align(weightsAt + 8 * taps, WASM_PAGE) }
}

/** The bytes an instance for `dataVoxels` of lines and `outVoxels` of output holds (whole pages). */
export const wasmTapSumBytes = (dtype: WasmTapDType, taps: number, dataVoxels: number, outVoxels: number): number =>
  layout(dtype, taps, dataVoxels, outVoxels).bytes

export class WasmTapSum {
  private constructor(
    /** The instance's memory as voxels of the dtype: lines from 0, the output from `outAt`. */
    readonly voxels: Uint8Array | Uint16Array | Float32Array,
    /** Where the output starts, in voxels. */
    readonly outAt: number,
    private readonly size: number,
    private readonly addresses: Int32Array,
    private readonly offsAt: number,
    private readonly weightsAt: number,
    private readonly pairs: number,
    private readonly run: SumExport
  ) {}

  /**
   * An instance for `dataVoxels` of lines and `outVoxels` of output, or undefined when the weights
   * are not symmetric (odd length) or WebAssembly SIMD is missing.
   */
  static make(
    dtype: WasmTapDType,
    k: TapLayout & { readonly weights: Float64Array },
    dataVoxels: number,
    outVoxels: number
  ): WasmTapSum | undefined {
    // Symmetric weights have an odd length: as many taps before the centre as after.
    if (k.symmetry !== 1) return undefined
    const module = tapSumModule()
    if (module === null) return undefined
    const taps = k.weights.length
    const at = layout(dtype, taps, dataVoxels, outVoxels)
    const { buffer, exports } = instantiate(module, at.bytes)
    // The centre's weight, then each pair's in scipy's order: outermost first.
    const c = k.before
    const weights = new Float64Array(buffer, at.weightsAt, c + 1)
    weights[0] = k.weights[c]!
    for (let j = 1; j <= c; j++) weights[j] = k.weights[j - 1]!
    const size = sizeOf(dtype)
    const voxels = dtype === "uint8" ? new Uint8Array(buffer) : dtype === "uint16" ? new Uint16Array(buffer) : new Float32Array(buffer)
    const run = exports[EXPORTS[dtype]] as SumExport
    return new WasmTapSum(voxels, at.outAt / size, size, new Int32Array(buffer, at.offsAt, taps), at.offsAt, at.weightsAt, c, run)
  }

  /**
   * voxels[outAt + i] = the sum for voxel i < n (n rounded up to 8: up to 7 voxels more are
   * written), where tap t reads voxels[offsets[t] + i] (t = 0 … taps − 1, as the JavaScript loop's
   * `offs`).
   */
  sum(outAt: number, n: number, offsets: ArrayLike<number>): void {
    const c = this.pairs
    const a = this.addresses
    const size = this.size
    a[0] = offsets[c]! * size
    // Pair j (outermost first) is taps j − 1 and 2c − j + 1.
    for (let j = 1; j <= c; j++) {
      a[2 * j - 1] = offsets[j - 1]! * size
      a[2 * j] = offsets[2 * c - j + 1]! * size
    }
    this.run(outAt * size, n, c, this.offsAt, this.weightsAt)
  }
}
