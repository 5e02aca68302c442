/**
 * The mask of voxels within a range — `threshold`, `x >= c`, `lo <= x && x <= hi` — as WebAssembly
 * SIMD loops: 16 voxels per step instead of one. The generated JavaScript loop spends 1.4–1.7 ns
 * per voxel on the comparison's branch and two typed-array bounds checks; these loops, with the
 * slice copied into and out of their memory, a sixth to a tenth of that (bench/pointwise.ts).
 * The loops are written in simd-range.wat, which scripts/assemble-wasm.mjs assembles (with wabt)
 * into simd-range-wasm.ts; a test checks that the two agree.
 *
 * Integer inputs compare against integer bounds, so every comparison with a number becomes an
 * inclusive range [lo, hi] of the dtype's values (`x > 2.5` is `x >= 3`); float32 inputs compare
 * against the float32 neighbours of the bounds, which decide the same (`x >= 0.1` is
 * `x >= fround(0.1)` rounded up). NaN is outside every range, as in JavaScript.
 *
 * @example
 * ```ts
 * const range = voxelRange(E.ge(E.input(0), 128), "uint16")   // { lo: 128, hi: 65535 }
 * const loop = rangeLoop("uint16", range!)                     // undefined without WebAssembly SIMD
 * loop?.(mask, [slice], slice.length, [])
 * ```
 */
import { dtypeRange, type DType, type VoxelArray } from "../../algebra/dtype.js"
import type { Expr } from "../../algebra/expr.js"
import { compiledOnce, instantiate } from "../../ops/internal/wasm.js"
import { SIMD_RANGE_WASM } from "./simd-range-wasm.js"

/** Dtypes with a SIMD range loop. */
export type RangeDType = "uint8" | "int8" | "uint16" | "int16" | "uint32" | "int32" | "float32"

/** An inclusive range of an input's values; lo > hi is the empty range. */
export interface VoxelRange {
  readonly lo: number
  readonly hi: number
}

/** Each has a function of its name in simd-range.wat. */
const RANGE_DTYPES: ReadonlyArray<RangeDType> = ["uint8", "int8", "uint16", "int16", "uint32", "int32", "float32"]
const RANGE_SET: ReadonlySet<DType> = new Set(RANGE_DTYPES)
const isRangeDType = (d: DType): d is RangeDType => RANGE_SET.has(d)

/** The smallest and largest value of an integer dtype; undefined for float32. */
const integerLimits = (d: RangeDType): readonly [number, number] | undefined => (d === "float32" ? undefined : dtypeRange(d))

// float32 neighbours through the bits: the next float32 above or below a float32 (−∞ steps up to
// the lowest finite float32, +∞ down to the highest).
const f32 = new Float32Array(1)
const i32 = new Int32Array(f32.buffer)
const stepFloat32 = (v: number, up: boolean): number => {
  if (v === 0) return up ? 2 ** -149 : -(2 ** -149)
  f32[0] = v
  i32[0]! += (v > 0) === up ? 1 : -1
  return f32[0]!
}
/** The smallest float32 ≥ v (v not NaN). */
const float32AtLeast = (v: number): number => {
  const f = Math.fround(v)
  return f >= v ? f : stepFloat32(f, true)
}
/** The largest float32 ≤ v. */
const float32AtMost = (v: number): number => {
  const f = Math.fround(v)
  return f <= v ? f : stepFloat32(f, false)
}

const EMPTY: VoxelRange = { lo: 1, hi: 0 }

type Bound = "ge" | "gt" | "le" | "lt"
const FLIPPED: Record<Bound, Bound> = { ge: "le", gt: "lt", le: "ge", lt: "gt" }

/** The range of `dtype`'s values v for which `v op c` holds. */
const boundRange = (dtype: RangeDType, op: Bound, c: number): VoxelRange => {
  const limits = integerLimits(dtype)
  if (limits !== undefined) {
    const [min, max] = limits
    // Clamped into [min − 1, max + 1] so that the bounds stay int32/uint32 and the range empty or full.
    const clamp = (v: number) => Math.min(Math.max(v, min - 1), max + 1)
    switch (op) {
      case "ge":
        return { lo: clamp(Math.ceil(c)), hi: max }
      case "gt":
        return { lo: clamp(Math.floor(c) + 1), hi: max }
      case "le":
        return { lo: min, hi: clamp(Math.floor(c)) }
      case "lt":
        return { lo: min, hi: clamp(Math.ceil(c) - 1) }
    }
  }
  switch (op) {
    case "ge":
      return { lo: float32AtLeast(c), hi: Infinity }
    case "gt": {
      const below = float32AtMost(c)
      return below === Infinity ? EMPTY : { lo: stepFloat32(below, true), hi: Infinity }
    }
    case "le":
      return { lo: -Infinity, hi: float32AtMost(c) }
    case "lt": {
      const above = float32AtLeast(c)
      return above === -Infinity ? EMPTY : { lo: -Infinity, hi: stepFloat32(above, false) }
    }
  }
}

const intersect = (a: VoxelRange, b: VoxelRange): VoxelRange => ({ lo: Math.max(a.lo, b.lo), hi: Math.min(a.hi, b.hi) })

/**
 * The range `expr` tests, when it is a comparison of input 0 (of `dtype`) with a number, or an
 * `and` of such comparisons; undefined for anything else.
 *
 * @example
 * ```ts
 * voxelRange(E.and(E.ge(E.input(0), 10), E.le(E.input(0), 20)), "uint8")   // { lo: 10, hi: 20 }
 * ```
 */
export const voxelRange = (expr: Expr, dtype: DType): VoxelRange | undefined => {
  if (!isRangeDType(dtype) || expr._tag !== "Binary") return undefined
  const { op, left, right } = expr
  if (op === "and") {
    const a = voxelRange(left, dtype)
    const b = a && voxelRange(right, dtype)
    return a && b && intersect(a, b)
  }
  if (op !== "ge" && op !== "gt" && op !== "le" && op !== "lt") return undefined
  if (left._tag === "Input" && left.index === 0 && right._tag === "Const" && !Number.isNaN(right.value)) {
    return boundRange(dtype, op, right.value)
  }
  if (right._tag === "Input" && right.index === 0 && left._tag === "Const" && !Number.isNaN(left.value)) {
    return boundRange(dtype, FLIPPED[op], left.value)
  }
  return undefined
}

// The WebAssembly module (simd-range.wat): one function per dtype, range(src, dst, n, lo, hi)
// writing n (a multiple of 16) bytes of 0/1 at dst.

/** Voxels per call: the slice goes through the module's memory in pieces of this many. */
const PIECE = 1 << 16
/** Where the mask goes: past a piece of the widest input (4 bytes a voxel). */
const DST_AT = PIECE * 4

type RangeKernel = (src: number, dst: number, n: number, lo: number, hi: number) => void
interface RangeModule {
  readonly buffer: ArrayBuffer
  readonly kernels: Readonly<Record<RangeDType, RangeKernel>>
}

const rangeWasm = compiledOnce(SIMD_RANGE_WASM)
let instance: RangeModule | null | undefined
/** The module, instantiated once per thread; null where WebAssembly SIMD is missing. */
const rangeModule = (): RangeModule | null => {
  if (instance !== undefined) return instance
  const module = rangeWasm()
  if (module === null) return (instance = null)
  const { buffer, exports } = instantiate(module, DST_AT + PIECE + 64)
  instance = { buffer, kernels: Object.fromEntries(RANGE_DTYPES.map((d) => [d, exports[d] as RangeKernel])) as Record<RangeDType, RangeKernel> }
  return instance
}

const bytesOf = (a: VoxelArray): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength)

/**
 * A pointwise loop writing 1 where input 0 (of `dtype`) lies in `range` and 0 elsewhere, into an
 * output of any dtype; undefined where WebAssembly SIMD is not available.
 *
 * @example
 * ```ts
 * rangeLoop("float32", { lo: 0.5, hi: Infinity })?.(mask, [slice], slice.length, [])
 * ```
 */
export const rangeLoop = (
  dtype: RangeDType,
  range: VoxelRange
): ((out: VoxelArray, inputs: ReadonlyArray<VoxelArray>, length: number, scalars: ReadonlyArray<unknown>) => void) | undefined => {
  const m = rangeModule()
  if (m === null) return undefined
  const kernel = m.kernels[dtype]
  const width = dtype === "uint8" || dtype === "int8" ? 1 : dtype === "uint16" || dtype === "int16" ? 2 : 4
  // Integer bounds within the dtype's values (uint32's reach the kernel as int32 bit patterns, by
  // WebAssembly's ToInt32 of its arguments, and are compared unsigned).
  const limits = integerLimits(dtype)
  const lo = limits === undefined ? range.lo : Math.max(range.lo, limits[0])
  const hi = limits === undefined ? range.hi : Math.min(range.hi, limits[1])
  const empty = lo > hi
  // The memory never grows, so these views stay valid.
  const memory = new Uint8Array(m.buffer)
  const mask = memory.subarray(DST_AT, DST_AT + PIECE)
  return (out, inputs, length) => {
    if (empty) return void out.fill(0, 0, length)
    const input = bytesOf(inputs[0]!)
    for (let from = 0; from < length; from += PIECE) {
      const n = Math.min(PIECE, length - from)
      memory.set(input.subarray(from * width, (from + n) * width), 0)
      kernel(0, DST_AT, (n + 15) & ~15, lo, hi)
      if (out instanceof Uint8Array) out.set(mask.subarray(0, n), from)
      else for (let i = 0; i < n; i++) out[from + i] = mask[i]!
    }
  }
}
