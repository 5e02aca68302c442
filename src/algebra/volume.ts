/**
 * The metadata of a volume: dtype, shape (z, y, x) with x fastest in memory, voxel spacing and,
 * when its source states it, its physical geometry.
 *
 * @example
 * ```ts
 * const info = volumeInfo("uint16", [64, 512, 512])       // spacing 1, 1, 1
 * sliceLength(info)                                        // 262144 voxels
 * sliceBytes(info)                                         // 524288 bytes
 * ```
 */
import { bytesPerVoxel, type DType } from "./dtype.js"
import type { Geometry } from "./geometry.js"

/** (z, y, x): depth, height, width. */
export type Shape = readonly [z: number, y: number, x: number]

/** Voxel size along (z, y, x), in the unit of the source (often mm or µm). */
export type Spacing = readonly [z: number, y: number, x: number]

export interface VolumeInfo<D extends DType = DType> {
  readonly dtype: D
  readonly shape: Shape
  readonly spacing: Spacing
  /** Unit, origin, directions and frame, when the source states any (see geometry.ts). */
  readonly geometry?: Geometry
}

export const volumeInfo = <D extends DType>(dtype: D, shape: Shape, spacing: Spacing = [1, 1, 1], geometry?: Geometry): VolumeInfo<D> =>
  geometry === undefined ? { dtype, shape, spacing } : { dtype, shape, spacing, geometry }

/** The same volume with voxels of another dtype: shape, spacing and geometry kept. */
export const withDType = <D extends DType>(info: VolumeInfo, dtype: D): VolumeInfo<D> => ({ ...info, dtype })

/** Voxels in one z slice. */
export const sliceLength = (info: VolumeInfo): number => info.shape[1] * info.shape[2]

/** Bytes in one z slice. */
export const sliceBytes = (info: VolumeInfo): number => sliceLength(info) * bytesPerVoxel(info.dtype)

/** Voxels in the whole volume. */
export const voxelCount = (info: VolumeInfo): number => info.shape[0] * info.shape[1] * info.shape[2]

/** Bytes of the whole volume. */
export const volumeBytes = (info: VolumeInfo): number => voxelCount(info) * bytesPerVoxel(info.dtype)

export const shapeText = (s: Shape): string => `${s[0]}×${s[1]}×${s[2]}`

export const sameShape = (a: Shape, b: Shape): boolean => a[0] === b[0] && a[1] === b[1] && a[2] === b[2]
