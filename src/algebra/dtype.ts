/**
 * Voxel data types, their typed arrays, and the one cast rule every interpreter uses.
 *
 * @example
 * ```ts
 * import { castValue, allocSlice } from "slicewise"   // or "slicewise/algebra"
 * castValue("uint8", 300.7)  // 255 (saturated)
 * castValue("int16", -2.9)   // -2  (truncated toward zero)
 * const slice = allocSlice("float32", 512 * 512)
 * ```
 */

export const DTYPES = ["uint8", "int8", "uint16", "int16", "uint32", "int32", "float32", "float64"] as const

export type DType = (typeof DTYPES)[number]

export interface TypedArrayOf {
  readonly uint8: Uint8Array
  readonly int8: Int8Array
  readonly uint16: Uint16Array
  readonly int16: Int16Array
  readonly uint32: Uint32Array
  readonly int32: Int32Array
  readonly float32: Float32Array
  readonly float64: Float64Array
}

/** The typed array that holds voxels of dtype `D`. */
export type ArrayOf<D extends DType> = TypedArrayOf[D]

/** Any voxel array. */
export type VoxelArray = ArrayOf<DType>

export const isDType = (s: string): s is DType => (DTYPES as ReadonlyArray<string>).includes(s)

const BYTES: Record<DType, number> = {
  uint8: 1,
  int8: 1,
  uint16: 2,
  int16: 2,
  uint32: 4,
  int32: 4,
  float32: 4,
  float64: 8
}

/** Bytes per voxel. */
export const bytesPerVoxel = (d: DType): number => BYTES[d]

export const isFloat = (d: DType): boolean => d === "float32" || d === "float64"

const CTORS = {
  uint8: Uint8Array,
  int8: Int8Array,
  uint16: Uint16Array,
  int16: Int16Array,
  uint32: Uint32Array,
  int32: Int32Array,
  float32: Float32Array,
  float64: Float64Array
} as const

/** The name of the typed array class of `d` ("Uint8Array", …), for generated code. */
export const arrayClassName = (d: DType): string => CTORS[d].name

/** Allocates a zeroed array of `length` voxels. */
export const allocSlice = <D extends DType>(d: D, length: number): ArrayOf<D> =>
  new CTORS[d](length) as unknown as ArrayOf<D>

/**
 * Allocates a zeroed array of `length` voxels in a SharedArrayBuffer, which worker threads can
 * read and write (run/threads).
 */
export const allocShared = <D extends DType>(d: D, length: number): ArrayOf<D> =>
  viewOf(d, new SharedArrayBuffer(length * CTORS[d].BYTES_PER_ELEMENT), 0, length)

/** A view of dtype `d` over `length` voxels of `buffer` starting at `byteOffset` (which must be aligned). */
export const viewOf = <D extends DType>(d: D, buffer: ArrayBufferLike, byteOffset: number, length: number): ArrayOf<D> =>
  // Voxel arrays are typed over ArrayBuffer; a shared one behaves the same for every use here.
  new CTORS[d](buffer as ArrayBuffer, byteOffset, length) as unknown as ArrayOf<D>

/** The dtype of a typed array. */
export const dtypeOf = (a: VoxelArray): DType => {
  if (a instanceof Uint8Array) return "uint8"
  if (a instanceof Int8Array) return "int8"
  if (a instanceof Uint16Array) return "uint16"
  if (a instanceof Int16Array) return "int16"
  if (a instanceof Uint32Array) return "uint32"
  if (a instanceof Int32Array) return "int32"
  if (a instanceof Float32Array) return "float32"
  return "float64"
}

/** Smallest and largest value of an integer dtype; ±Infinity for floats. */
export const dtypeRange = (d: DType): readonly [number, number] => {
  switch (d) {
    case "uint8":
      return [0, 255]
    case "int8":
      return [-128, 127]
    case "uint16":
      return [0, 65535]
    case "int16":
      return [-32768, 32767]
    case "uint32":
      return [0, 4294967295]
    case "int32":
      return [-2147483648, 2147483647]
    default:
      return [-Infinity, Infinity]
  }
}

/**
 * The cast rule. Every computation happens in float64 (JavaScript numbers); a value is stored as
 * dtype `d` by:
 * - float64: unchanged; float32: rounded to nearest, ties to even (IEEE), as `Math.fround`;
 * - integers: NaN becomes 0; otherwise truncated toward zero (as C, numpy's `astype` and
 *   scipy.ndimage's filter outputs do), then saturated to the dtype's range (numpy would wrap;
 *   saturation never turns a bright voxel dark).
 */
export const castValue = (d: DType, v: number): number => {
  if (d === "float64") return v
  if (d === "float32") return Math.fround(v)
  if (v !== v) return 0
  const [lo, hi] = dtypeRange(d)
  if (v <= lo) return lo
  if (v >= hi) return hi
  // `|| 0`: an integer has no negative zero (Math.trunc(-0.5) is -0).
  return Math.trunc(v) || 0
}

/**
 * The cast rule as a JavaScript expression over the variable `v`, for generated loops. The typed
 * array store itself truncates toward zero, so only NaN and the range need handling.
 */
export const castSource = (d: DType, v: string): string => {
  if (d === "float64" || d === "float32") return v
  const [lo, hi] = dtypeRange(d)
  return `(${v} !== ${v} ? 0 : ${v} <= ${lo} ? ${lo} : ${v} >= ${hi} ? ${hi} : ${v})`
}
