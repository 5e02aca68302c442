/**
 * Whole-volume reads and writes for format tests (and the peer scripts): every slice in a given
 * order, the bytes a reader counted and (with `exact`) a check of each slice's count against
 * `sliceReadBytes`; a volume's bytes written through a sink in any order.
 */
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import { allocSlice, bytesPerVoxel } from "../../src/algebra/dtype.js"
import { sliceLength, type VolumeInfo } from "../../src/algebra/volume.js"
import type { SliceSink, SliceSource } from "../../src/algebra/slices.js"

export const up = (n: number) => Array.from({ length: n }, (_, z) => z)

/** Reads every slice in `order`; with `exact`, checks each slice's byte count against sliceReadBytes. */
export const readAll = (src: SliceSource, order?: ReadonlyArray<number>, exact = false) =>
  Effect.scoped(
    Effect.gen(function* () {
      const reader = yield* src.open
      const sb = sliceLength(src.info) * bytesPerVoxel(src.info.dtype)
      const out = new Uint8Array(sb * src.info.shape[0])
      const slice = allocSlice(src.info.dtype, sliceLength(src.info))
      for (const z of order ?? up(src.info.shape[0])) {
        const before = reader.bytesRead()
        yield* reader.read(z, slice)
        if (exact && reader.bytesRead() - before !== src.sliceReadBytes(z))
          throw new Error(`slice ${z}: read ${reader.bytesRead() - before} bytes, sliceReadBytes says ${src.sliceReadBytes(z)}`)
        out.set(new Uint8Array(slice.buffer, slice.byteOffset, sb), z * sb)
      }
      return { bytes: out, bytesRead: reader.bytesRead() }
    })
  )

/** Σ sliceReadBytes over all z. */
export const predicted = (src: SliceSource) => up(src.info.shape[0]).reduce((s, z) => s + src.sliceReadBytes(z), 0)


/** Writes `bytes` (a whole volume, z order) through `sink` in `order`; commits unless told not to. */
export const writeAll = (sink: SliceSink, info: VolumeInfo, bytes: Uint8Array, order?: ReadonlyArray<number>, commit = true) =>
  Effect.scoped(
    Effect.gen(function* () {
      const w = yield* sink.create(info)
      const sb = sliceLength(info) * bytesPerVoxel(info.dtype)
      for (const z of order ?? up(info.shape[0])) {
        const s = allocSlice(info.dtype, sliceLength(info))
        new Uint8Array(s.buffer).set(bytes.subarray(z * sb, (z + 1) * sb))
        yield* w.write(z, s)
      }
      if (commit) yield* w.commit
      return w.bytesWritten()
    })
  )

/**
 * Writes a uint8 NRRD (raw, attached data) of `shape` [z, y, x] to `file`, voxel i = (i · 40503) mod 251:
 * an input for tests that run the CLI.
 */
export const writeUint8Nrrd = (file: string, shape: readonly [number, number, number]): void => {
  const [z, y, x] = shape
  const header = `NRRD0004\ntype: uint8\ndimension: 3\nsizes: ${x} ${y} ${z}\nencoding: raw\n\n`
  const data = Buffer.alloc(x * y * z)
  for (let i = 0; i < data.length; i++) data[i] = (i * 40503) % 251
  fs.writeFileSync(file, Buffer.concat([Buffer.from(header), data]))
}
