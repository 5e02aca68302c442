/** Shared helpers for the NRRD tests: temporary folders, whole-volume reads and writes. */
import * as fs from "node:fs"
import * as os from "node:os"
import * as nodePath from "node:path"
import * as Effect from "effect/Effect"
import { allocSlice, bytesPerVoxel, type DType, type VoxelArray } from "../../src/algebra/dtype.js"
import { sliceLength, type VolumeInfo } from "../../src/algebra/volume.js"
import type { IoError } from "../../src/algebra/io-errors.js"
import type { SliceSink, SliceSource } from "../../src/algebra/slices.js"
import { xorshift32 } from "../support/voxels.js"

/** A fresh temporary folder; `cleanup` removes it. */
export const makeTempDir = (): string => fs.mkdtempSync(nodePath.join(os.tmpdir(), "slicewise-nrrd-"))

export const removeDir = (dir: string): void => fs.rmSync(dir, { recursive: true, force: true })

export { openFdCount } from "../support/faults.js"

/** Deterministic pseudo-random bytes (xorshift32), so failures reproduce. */
export const pseudoRandomBytes = (n: number, seed: number): Uint8Array => {
  const out = new Uint8Array(n)
  const next = xorshift32(seed)
  for (let i = 0; i < n; i++) out[i] = next() & 0xff
  return out
}

/** Slice z of a whole-volume byte array, as a typed array of `info.dtype` (a copy, aligned). */
export const sliceOf = (info: VolumeInfo, volume: Uint8Array, z: number): VoxelArray => {
  const len = sliceLength(info)
  const bytes = len * bytesPerVoxel(info.dtype)
  const slice = allocSlice(info.dtype as DType, len)
  new Uint8Array(slice.buffer).set(volume.subarray(z * bytes, (z + 1) * bytes))
  return slice
}

/**
 * Reads every slice of `src` in `order` (default ascending); returns the volume's bytes in z order.
 * Each slice's bytes read must be its `sliceReadBytes` unless `perSlice` is false (a gzip source
 * read out of order is exact in sum only).
 */
export const readVolume = (
  src: SliceSource,
  order?: ReadonlyArray<number>,
  perSlice = true
): Effect.Effect<{ readonly bytes: Uint8Array; readonly bytesRead: number }, IoError> =>
  Effect.scoped(
    Effect.gen(function* () {
      const reader = yield* src.open
      const len = sliceLength(src.info)
      const sb = len * bytesPerVoxel(src.info.dtype)
      const out = new Uint8Array(sb * src.info.shape[0])
      const zs = order ?? Array.from({ length: src.info.shape[0] }, (_, z) => z)
      for (const z of zs) {
        const slice = allocSlice(src.info.dtype, len)
        const before = reader.bytesRead()
        yield* reader.read(z, slice)
        if (perSlice && reader.bytesRead() - before !== src.sliceReadBytes(z)) throw new Error(`bytesRead grew by ${reader.bytesRead() - before}, not ${src.sliceReadBytes(z)}`)
        out.set(new Uint8Array(slice.buffer, slice.byteOffset, sb), z * sb)
      }
      return { bytes: out, bytesRead: reader.bytesRead() }
    })
  )

/** Writes a whole volume (bytes in z order) to `sink` in `order` and commits; returns bytesWritten. */
export const writeVolume = (
  sink: SliceSink,
  info: VolumeInfo,
  volume: Uint8Array,
  order?: ReadonlyArray<number>
): Effect.Effect<number, IoError> =>
  Effect.scoped(
    Effect.gen(function* () {
      const writer = yield* sink.create(info)
      const zs = order ?? Array.from({ length: info.shape[0] }, (_, z) => z)
      for (const z of zs) yield* writer.write(z, sliceOf(info, volume, z))
      yield* writer.commit
      return writer.bytesWritten()
    })
  )

/** Byte-swaps every `width`-byte element of a copy of `bytes` (test oracle, deliberately naive). */
export const swapped = (bytes: Uint8Array, width: number): Uint8Array => {
  const out = new Uint8Array(bytes.length)
  for (let i = 0; i < bytes.length; i += width) for (let k = 0; k < width; k++) out[i + k] = bytes[i + width - 1 - k]!
  return out
}

/** Writes a file made of a text header and binary data. */
export const writeFile = (path: string, ...parts: ReadonlyArray<string | Uint8Array>): void => {
  fs.writeFileSync(path, Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p, "utf8") : Buffer.from(p)))))
}
