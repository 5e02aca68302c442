/**
 * Shared loops for separable line filters: storing float64 results with the cast rule, and building
 * boundary-extended lines.
 *
 * scipy.ndimage runs every 1-D filter on a line copied into a float64 buffer that is extended past
 * both ends by the boundary mode, and stores the result with a C cast into the output dtype. These
 * helpers do the same, with one difference: the cast rule of `dtype.ts` saturates where C's cast
 * wraps or is undefined. Box means, Gaussians, medians and extremes never leave the input's range,
 * so they agree with scipy; `correlate` with weights of mixed sign or a sum above 1 can differ there.
 */
import { dtypeRange, isFloat, type DType, type VoxelArray } from "../../algebra/dtype.js"

/** How results are stored into a dtype: plain stores for floats, NaN → 0 and saturation for integers. */
export interface Cast {
  readonly int: boolean
  readonly lo: number
  readonly hi: number
}

/** The store rule of dtype `d` (the cast rule of `dtype.ts`). */
export const castOf = (d: DType): Cast => {
  const [lo, hi] = dtypeRange(d)
  return { int: !isFloat(d), lo, hi }
}

/**
 * Stores `n` float64 values from `src` into `dst` at `dstOffset` with the cast rule. One
 * module-level function (not a closure per kernel), so that call sites in kernels keep one target.
 */
export const storeLine = (dst: VoxelArray, dstOffset: number, src: Float64Array, n: number, cast: Cast): void => {
  if (!cast.int) {
    for (let i = 0; i < n; i++) dst[dstOffset + i] = src[i]!
    return
  }
  const lo = cast.lo
  const hi = cast.hi
  // The typed-array store truncates toward zero; only NaN and the range need handling.
  for (let i = 0; i < n; i++) {
    const v = src[i]!
    dst[dstOffset + i] = v !== v ? 0 : v <= lo ? lo : v >= hi ? hi : v
  }
}

/**
 * Fills `ext` with row `row` of `slice` (width `width`) extended by the table `table` (see
 * `extensionTable`): ext[p] = slice[row * width + table[p]], or `cval` where the table says -1.
 */
export const extendRow = (
  ext: Float64Array,
  slice: VoxelArray,
  row: number,
  width: number,
  table: Int32Array,
  cval: number
): void => {
  const base = row * width
  for (let p = 0; p < table.length; p++) {
    const xi = table[p]!
    ext[p] = xi < 0 ? cval : slice[base + xi]!
  }
}

/** A slice of `length` voxels filled with `value`, held as float64 so that cval is used unrounded. */
export const constantLine = (length: number, value: number): Float64Array => new Float64Array(length).fill(value)
