/**
 * Deterministic in-memory test volumes for the op benches: "smooth" (slow sinusoids plus a little
 * noise, so histograms and runs behave as on real images) or "noise" (uniform over the range).
 */
import { allocSlice, dtypeRange, type DType, type VoxelArray } from "../../src/algebra/dtype.js"
import { volumeInfo, voxelCount, type Shape, type VolumeInfo } from "../../src/algebra/volume.js"

export interface SyntheticVolume {
  readonly info: VolumeInfo
  readonly data: VoxelArray
  /** The value range used (the dtype's, or 0…1000 for floats). */
  readonly bottom: number
  readonly top: number
}

export const syntheticVolume = (dtype: DType, shape: Shape, kind: "smooth" | "noise", seed: number): SyntheticVolume => {
  const info = volumeInfo(dtype, shape)
  const data = allocSlice(dtype, voxelCount(info))
  const [lo, hi] = dtypeRange(dtype)
  const top = Number.isFinite(hi) ? hi : 1000
  const bottom = Number.isFinite(lo) ? Math.max(lo, 0) : 0
  let s = seed
  // xorshift32: fast and deterministic
  const rand = () => {
    s ^= s << 13
    s ^= s >>> 17
    s ^= s << 5
    return (s >>> 0) / 4294967296
  }
  const [Z, Y, X] = shape
  for (let z = 0, i = 0; z < Z; z++) {
    for (let y = 0; y < Y; y++) {
      for (let x = 0; x < X; x++, i++) {
        if (kind === "noise") data[i] = bottom + Math.floor(rand() * (top - bottom + 1))
        else {
          const t = 0.5 + 0.2 * Math.sin(x / 23 + z / 17) + 0.2 * Math.cos(y / 31 - z / 29) + 0.05 * (rand() - 0.5)
          data[i] = bottom + Math.floor(t * (top - bottom))
        }
      }
    }
  }
  return { info, data, bottom, top }
}
