/** Shared helpers for the Zarr tests: whole-volume reads in any order, chunk-file byte sums. */
import * as fs from "node:fs"
import * as nodePath from "node:path"
import * as Effect from "effect/Effect"
import { allocSlice, bytesPerVoxel } from "../../src/algebra/dtype.js"
import { sliceLength, type VolumeInfo } from "../../src/algebra/volume.js"
import type { SliceSink } from "../../src/io/slices.js"

import { up } from "../support/read-volume.js"

export { predicted, readAll, up } from "../support/read-volume.js"

/** Bytes of every chunk file under `dir` (metadata files excluded), recursively. */
export const chunkFileBytes = (dir: string): number => {
  let n = 0
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = nodePath.join(dir, e.name)
    if (e.isDirectory()) n += chunkFileBytes(p)
    else if (![".zarray", ".zattrs", ".zgroup", "zarr.json"].includes(e.name)) n += fs.statSync(p).size
  }
  return n
}

/** Writes `bytes` (a whole volume, z order) through `sink` in `order`. */
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

/** Deterministic voxel bytes of `info` (small integers, valid in every dtype). */
export const volumeBytesOf = (info: VolumeInfo, seed = 1): Uint8Array => {
  const n = info.shape[0] * sliceLength(info)
  const a = allocSlice(info.dtype, n) as unknown as { [i: number]: number }
  let s = seed >>> 0 || 1
  for (let i = 0; i < n; i++) {
    s ^= s << 13
    s >>>= 0
    s ^= s >>> 17
    s ^= s << 5
    s >>>= 0
    a[i] = (s % 200) - (info.dtype.startsWith("u") ? 0 : 100)
  }
  return new Uint8Array((a as unknown as Uint8Array).buffer)
}
