/**
 * The z phase of ball dilation over a uint8 mask as WebAssembly SIMD (ball-z.wat), sixteen voxels
 * a step and branch-free: per column, the distance in slices to the nearest foreground voxel within
 * ±R, capped at R + 1, the same values as `ballZKernel`'s JavaScript loop (zphase.ts). The slices
 * z … z + R live in the instance's memory, one slot per slice in turn; a step copies in the slice
 * that entered the window (or all R + 1 after a jump in z), and the state is one byte per column.
 *
 * @example
 * ```ts
 * const ball = WasmBallZ.make(n, 3)                   // undefined without SIMD
 * ball!.step(z, (k) => window.at(k), out)             // out: Uint8Array of n capped distances
 * ```
 */
import { BALL_Z_WASM } from "./ball-z-wasm.js"
import { compiledOnce, instantiate } from "../internal/wasm.js"

type DilateExport = (out: number, n: number, count: number, offs: number, prev: number, cap: number) => void

const ballZModule = compiledOnce(BALL_Z_WASM)

/** Room after every array: a step reads and writes up to 15 bytes past n. */
const SLACK = 16
const align16 = (n: number) => Math.ceil((n + SLACK) / 16) * 16

/** The bytes of an instance for slices of n voxels and radius R (before rounding to pages). */
export const wasmBallZBytes = (n: number, radius: number): number => (radius + 3) * align16(n) + 4 * (radius + 1)

export class WasmBallZ {
  /** The z the slots hold the window of, ready for z + 1 to add one slice; −1: none. */
  private last = -1

  private constructor(
    private readonly bytes: Uint8Array,
    private readonly n: number,
    private readonly radius: number,
    /** Byte address of slot s (slice z + k sits in slot (z + k) mod (R + 1)). */
    private readonly slotAt: ReadonlyArray<number>,
    /** The slots' addresses for the current z, in the order k = 0 … R. */
    private readonly offs: Int32Array,
    private readonly offsAt: number,
    private readonly prevAt: number,
    private readonly outAt: number,
    private readonly run: DilateExport
  ) {}

  /** An instance for slices of n voxels and radius R (1 ≤ R ≤ 254); undefined without SIMD. */
  static make(n: number, radius: number): WasmBallZ | undefined {
    const module = ballZModule()
    if (module === null || radius < 1 || radius > 254) return undefined
    const stride = align16(n)
    const slots = radius + 1
    const prevAt = slots * stride
    const outAt = prevAt + stride
    const offsAt = outAt + stride
    const { buffer, exports } = instantiate(module, wasmBallZBytes(n, radius))
    const bytes = new Uint8Array(buffer)
    // Nothing before the first slice: the farthest distance.
    bytes.fill(radius + 1, prevAt, prevAt + n)
    const slotAt = Array.from({ length: slots }, (_, s) => s * stride)
    return new WasmBallZ(bytes, n, radius, slotAt, new Int32Array(buffer, offsAt, slots), offsAt, prevAt, outAt, exports.dilate_u8 as DilateExport)
  }

  /** The column state (distance to the last foreground voxel at or before the last z), for checkpoints. */
  get previous(): Uint8Array {
    return this.bytes.subarray(this.prevAt, this.prevAt + this.n)
  }

  /** Puts back a column state; the next step reloads its whole window. */
  restore(previous: Uint8Array): void {
    this.previous.set(previous)
    this.last = -1
  }

  /** Slice z's capped distances into `out`; `slice(k)` is mask slice z + k (k = 0 … R). */
  step(z: number, slice: (k: number) => Uint8Array, out: Uint8Array): void {
    const r = this.radius
    const slots = r + 1
    if (z === this.last + 1 && this.last >= 0) this.bytes.set(slice(r), this.slotAt[(z + r) % slots]!)
    else for (let k = 0; k <= r; k++) this.bytes.set(slice(k), this.slotAt[(z + k) % slots]!)
    for (let k = 0; k <= r; k++) this.offs[k] = this.slotAt[(z + k) % slots]!
    this.run(this.outAt, this.n, slots, this.offsAt, this.prevAt, r + 1)
    this.last = z
    out.set(this.bytes.subarray(this.outAt, this.outAt + this.n))
  }
}
