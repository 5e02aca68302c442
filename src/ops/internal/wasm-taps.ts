/**
 * Symmetric tap sums of uint8 lines stored as uint8 — the z and y sums of a uint8 gaussian — as
 * WebAssembly SIMD (tap-sum.wat), eight voxels a step, voxel for voxel the generated JavaScript
 * loop's results (`tapSum` in loops.ts: the same float64 operations in scipy's order, the same
 * cast). The JavaScript loop pays a bounds check and a conversion per tap and voxel; this one runs
 * the z sum of σ 2 about 4× faster (bench/wasm-tap-sum.ts).
 *
 * Each instance owns a memory: a kernel copies the lines it reads into `bytes`, sums into
 * `outAt`, and copies the result out (a copy costs about a hundredth of the sum).
 *
 * @example
 * ```ts
 * const taps = Uint8TapSum.make(analyseWeights(gaussianWeights(2)), 17 * n, n)   // undefined without SIMD
 * for (let t = 0; t < 17; t++) taps!.bytes.set(lines[t]!, t * n)
 * taps!.sum(taps!.outAt, n, offsets)                      // offsets[t]: line t's address in bytes
 * out.set(taps!.bytes.subarray(taps!.outAt, taps!.outAt + n))
 * ```
 */
import { TAP_SUM_WASM } from "./tap-sum-wasm.js"

// The project's TypeScript libraries do not declare WebAssembly; what is used of it:
declare const WebAssembly: {
  readonly Module: new (bytes: Uint8Array) => object
  readonly Instance: new (module: object, imports: object) => { readonly exports: Record<string, unknown> }
  readonly Memory: new (descriptor: { initial: number }) => { readonly buffer: ArrayBuffer }
}

/** The weights' layout, as `analyseWeights` gives it. */
export interface SymmetricTaps {
  readonly weights: Float64Array
  readonly before: number
  readonly after: number
  readonly symmetry: 1 | -1 | 0
}

type SumU8 = (out: number, n: number, pairs: number, offs: number, weights: number) => void

let compiled: object | null | undefined
/** The compiled module, once per thread; null where WebAssembly SIMD is missing. */
const tapSumModule = (): object | null => {
  if (compiled === undefined) {
    try {
      compiled = new WebAssembly.Module(Uint8Array.from(atob(TAP_SUM_WASM), (c) => c.charCodeAt(0)))
    } catch {
      compiled = null
    }
  }
  return compiled
}

/** Room after the lines and after the output: a step reads and writes up to 7 bytes past n. */
const SLACK = 16
const align = (n: number, to: number) => Math.ceil(n / to) * to

/** The bytes an instance for `dataBytes` of lines and `outBytes` of output holds (whole pages). */
export const uint8TapSumBytes = (taps: number, dataBytes: number, outBytes: number): number => {
  const outAt = align(dataBytes + SLACK, 16)
  const offsAt = align(outAt + outBytes + SLACK, 16)
  return align(offsAt + 4 * taps + 8 + 8 * taps, 65536)
}

export class Uint8TapSum {
  private constructor(
    /** The instance's memory: lines at [0, dataBytes), the output from `outAt`. */
    readonly bytes: Uint8Array,
    readonly outAt: number,
    private readonly addresses: Int32Array,
    private readonly offsAt: number,
    private readonly weightsAt: number,
    private readonly pairs: number,
    private readonly run: SumU8
  ) {}

  /**
   * An instance for `dataBytes` of lines and `outBytes` of output, or undefined when the weights
   * are not symmetric (odd length) or WebAssembly SIMD is missing.
   */
  static make(k: SymmetricTaps, dataBytes: number, outBytes: number): Uint8TapSum | undefined {
    if (k.symmetry !== 1 || k.before !== k.after) return undefined
    const module = tapSumModule()
    if (module === null) return undefined
    const taps = k.weights.length
    const outAt = align(dataBytes + SLACK, 16)
    const offsAt = align(outAt + outBytes + SLACK, 16)
    const weightsAt = align(offsAt + 4 * taps, 8)
    const memory = new WebAssembly.Memory({ initial: uint8TapSumBytes(taps, dataBytes, outBytes) / 65536 })
    const instance = new WebAssembly.Instance(module, { env: { memory } })
    const buffer = memory.buffer
    // The centre's weight, then each pair's in scipy's order: outermost first.
    const c = k.before
    const weights = new Float64Array(buffer, weightsAt, c + 1)
    weights[0] = k.weights[c]!
    for (let j = 1; j <= c; j++) weights[j] = k.weights[j - 1]!
    return new Uint8TapSum(new Uint8Array(buffer), outAt, new Int32Array(buffer, offsAt, taps), offsAt, weightsAt, c, instance.exports["sum_u8"] as SumU8)
  }

  /**
   * bytes[outAt + i] = the sum for voxel i < n (n rounded up to 8: up to 7 bytes more are written),
   * where tap t reads bytes[offsets[t] + i] (t = 0 … taps − 1, as the JavaScript loop's `offs`).
   */
  sum(outAt: number, n: number, offsets: ArrayLike<number>): void {
    const c = this.pairs
    const a = this.addresses
    a[0] = offsets[c]!
    // Pair j (outermost first) is taps c − (c − j + 1) and c + (c − j + 1).
    for (let j = 1; j <= c; j++) {
      a[2 * j - 1] = offsets[j - 1]!
      a[2 * j] = offsets[2 * c - j + 1]!
    }
    this.run(outAt, n, c, this.offsAt, this.weightsAt)
  }
}
