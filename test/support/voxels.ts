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
