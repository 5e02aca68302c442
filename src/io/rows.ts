/**
 * Bands of rows, for the readers and writers that support them (in-plane tiling under a memory
 * budget): where the rows of a slice lie in a raw z-major layout, and which rows a writer has had.
 *
 * @example
 * ```ts
 * const { offset, bytes } = rawRowSpan(info, z, { start: 8, end: 24 })   // relative to the data start
 * const rows = new RowTracker(depth, height)
 * rows.add(z, { start: 0, end: height })                                  // a whole slice
 * rows.firstIncomplete()                                                  // -1 once every row is in
 * ```
 */
import { bytesPerVoxel, type VoxelArray } from "../algebra/dtype.js"
import { sliceBytes, sliceLength, type VolumeInfo } from "../algebra/volume.js"
import { FormatError } from "../algebra/io-errors.js"
import type { RowRange } from "../algebra/slices.js"

/** All rows of a slice of `info`. */
export const allRows = (info: VolumeInfo): RowRange => ({ start: 0, end: info.shape[1] })

/** Byte offset (from the first voxel) and length of rows `rows` of slice z, raw and z-major. */
export const rawRowSpan = (info: VolumeInfo, z: number, rows: RowRange): { readonly offset: number; readonly bytes: number } => {
  const rowBytes = info.shape[2] * bytesPerVoxel(info.dtype)
  return { offset: z * sliceBytes(info) + rows.start * rowBytes, bytes: (rows.end - rows.start) * rowBytes }
}

/**
 * What is wrong with a request for rows `rows` of slice z into (or from) a buffer of `length`
 * voxels, or undefined. Such a request is a caller's bug, not an I/O condition.
 */
export const rowsProblem = (info: VolumeInfo, z: number, rows: RowRange, length: number): string | undefined => {
  const [depth, height, width] = info.shape
  if (!(Number.isInteger(z) && z >= 0 && z < depth)) return `slice ${z} is outside 0…${depth - 1}`
  if (!(Number.isInteger(rows.start) && Number.isInteger(rows.end) && rows.start >= 0 && rows.start < rows.end && rows.end <= height)) {
    return `rows ${rows.start}…${rows.end - 1} are not within 0…${height - 1}`
  }
  if (length !== (rows.end - rows.start) * width) return `buffer holds ${length} voxels, rows ${rows.start}…${rows.end - 1} hold ${(rows.end - rows.start) * width}`
  return undefined
}

/** Rows written per slice, for a writer's check at commit that every row of every slice came. */
export class RowTracker {
  private readonly rows: Uint32Array
  constructor(
    readonly depth: number,
    readonly height: number
  ) {
    this.rows = new Uint32Array(depth)
  }

  add(z: number, rows: RowRange): void {
    this.rows[z] = Math.min(this.height, this.rows[z]! + rows.end - rows.start)
  }

  /** Rows of slice z written so far. */
  written(z: number): number {
    return this.rows[z]!
  }

  /** The first slice missing rows, or -1. */
  firstIncomplete(): number {
    for (let z = 0; z < this.depth; z++) if (this.rows[z]! < this.height) return z
    return -1
  }

  /** Slices with every row written. */
  complete(): number {
    let n = 0
    for (let z = 0; z < this.depth; z++) if (this.rows[z] === this.height) n++
    return n
  }
}

/**
 * A FormatError naming `path` for a read or write of slice z (or of its rows `rows`) with the
 * buffer `data`, when the slice does not exist or the buffer does not fit; else undefined.
 */
export const requestProblem = (path: string, info: VolumeInfo, z: number, data: VoxelArray, rows?: RowRange): FormatError | undefined => {
  const depth = info.shape[0]
  let detail: string | undefined
  if (rows !== undefined) {
    detail = rowsProblem(info, z, rows, data.length)
  } else if (!(Number.isInteger(z) && z >= 0 && z < depth)) {
    detail = `no such slice: the volume has ${depth} slices (0…${depth - 1})`
  } else if (data.length !== sliceLength(info) || data.byteLength !== sliceBytes(info)) {
    detail = `buffer holds ${data.length} voxels (${data.byteLength} bytes), a slice has ${sliceLength(info)} (${sliceBytes(info)} bytes)`
  }
  return detail === undefined ? undefined : new FormatError({ path, position: `slice ${z}`, detail })
}
