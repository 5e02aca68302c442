import type { VoxelArray } from "../../src/algebra/dtype.js"

/**
 * Index of the first voxel where `a` and `b` differ, or -1. Exact: -0 and +0 differ; every NaN
 * equals every NaN (V8 does not keep one NaN bit pattern across code paths, and no dtype rule
 * depends on a NaN's payload).
 */
export const firstDifference = (a: VoxelArray, b: VoxelArray): number => {
  if (a.length !== b.length) return Math.min(a.length, b.length)
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!
    const y = b[i]!
    if (x === y ? x === 0 && !Object.is(x, y) : !(x !== x && y !== y)) return i
  }
  return -1
}

/**
 * A xorshift32 generator from `seed` (0 counts as 1): deterministic pseudo-random 32-bit values,
 * so that test data and failures reproduce.
 *
 * @example
 * ```ts
 * const next = xorshift32(7)
 * const byte = next() & 0xff
 * ```
 */
export const xorshift32 = (seed: number): (() => number) => {
  let s = seed >>> 0 || 1
  return () => {
    s ^= s << 13
    s >>>= 0
    s ^= s >>> 17
    s ^= s << 5
    s >>>= 0
    return s
  }
}
