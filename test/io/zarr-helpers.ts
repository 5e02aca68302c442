/** Shared helpers for the Zarr tests: whole-volume reads in any order, chunk-file byte sums. */
import * as fs from "node:fs"
import * as nodePath from "node:path"
import { allocSlice } from "../../src/algebra/dtype.js"
import { sliceLength, type VolumeInfo } from "../../src/algebra/volume.js"

import { xorshift32 } from "../support/voxels.js"

export { predicted, readAll, up, writeAll } from "../support/volume-io.js"

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

/** Deterministic voxel bytes of `info` (small integers, valid in every dtype). */
export const volumeBytesOf = (info: VolumeInfo, seed = 1): Uint8Array => {
  const n = info.shape[0] * sliceLength(info)
  const a = allocSlice(info.dtype, n) as unknown as { [i: number]: number }
  const next = xorshift32(seed)
  for (let i = 0; i < n; i++) a[i] = (next() % 200) - (info.dtype.startsWith("u") ? 0 : 100)
  return new Uint8Array((a as unknown as Uint8Array).buffer)
}
