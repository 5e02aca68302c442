/**
 * Where zarrita's per-slice time goes, and what the slab reader does instead.
 *
 *     /usr/bin/python3 bench/zarr_make_store.py /tmp/bench256.zarr 256 64
 *     npx tsx bench/zarr-read.ts /tmp/bench256.zarr
 *     /usr/bin/python3 bench/zarr_read_python.py /tmp/bench256.zarr
 *
 * Prints MB/s (voxel bytes delivered per second) and the stored bytes each way fetched:
 *   zarrita get per slice      zarr.get(arr, [z, null, null]) for every z
 *   zarrita get per chunk-row  zarr.get(arr, [slice(z0, z0 + cz), null, null]) for every row
 *   zarrita getChunk           every chunk decoded once with arr.getChunk (no assembly)
 *   slicewise slab reader      openZarr + reader.read(z) for every z
 */
import * as Effect from "effect/Effect"
import { allocSlice } from "../src/algebra/dtype.js"
import { sliceLength } from "../src/algebra/volume.js"
import { loadZarrita } from "../src/io/zarr/codecs.js"
import { openZarr } from "../src/io/zarr.js"

const path = process.argv[2] ?? "/tmp/bench256.zarr"
const zarr = await loadZarrita()
const { default: FileSystemStore } = await import("@zarrita/storage/fs")

/** A FileSystemStore that counts the bytes it hands out. */
const counting = () => {
  const inner = new FileSystemStore(path)
  const store = {
    fetched: 0,
    async get(key: `/${string}`) {
      const b = await inner.get(key)
      if (b && !/(zarray|zattrs|zgroup|zarr\.json)$/.test(key)) store.fetched += b.length
      return b
    }
  }
  return store
}

const report = (label: string, ms: number, voxelBytes: number, fetched: number) =>
  console.log(`${label.padEnd(28)} ${(voxelBytes / 1e6 / (ms / 1000)).toFixed(1).padStart(8)} MB/s  ${(ms / 1000).toFixed(2).padStart(7)} s  fetched ${(fetched / 1e6).toFixed(1)} MB`)

const time = async (f: () => Promise<number>) => {
  const t0 = performance.now()
  const fetched = await f()
  return { ms: performance.now() - t0, fetched }
}

const store0 = counting()
const arr0 = await zarr.open(store0 as never, { kind: "array" })
const [Z, Y, X] = arr0.shape as [number, number, number]
const cz = arr0.chunks[0]!
const vol = Z * Y * X
console.log(`${path}: ${Z}×${Y}×${X} ${arr0.dtype}, chunks ${arr0.chunks.join("×")}`)

{
  const s = counting()
  const arr = await zarr.open(s as never, { kind: "array" })
  const { ms } = await time(async () => {
    for (let z = 0; z < Z; z++) await zarr.get(arr, [z, null, null])
    return s.fetched
  })
  report("zarrita get per slice", ms, vol, s.fetched)
}
{
  const s = counting()
  const arr = await zarr.open(s as never, { kind: "array" })
  const { ms } = await time(async () => {
    for (let z = 0; z < Z; z += cz) await zarr.get(arr, [zarr.slice(z, Math.min(z + cz, Z)), null, null])
    return s.fetched
  })
  report("zarrita get per chunk-row", ms, vol, s.fetched)
}
{
  const s = counting()
  const arr = await zarr.open(s as never, { kind: "array" })
  const [cy, cx] = [arr.chunks[1]!, arr.chunks[2]!]
  const { ms } = await time(async () => {
    for (let a = 0; a < Math.ceil(Z / cz); a++)
      for (let b = 0; b < Math.ceil(Y / cy); b++) for (let c = 0; c < Math.ceil(X / cx); c++) await arr.getChunk([a, b, c])
    return s.fetched
  })
  report("zarrita getChunk (no copy)", ms, vol, s.fetched)
}
{
  let fetched = 0
  const { ms } = await time(() =>
    Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const src = yield* openZarr(path)
          const r = yield* src.open
          const slice = allocSlice(src.info.dtype, sliceLength(src.info))
          for (let z = 0; z < Z; z++) yield* r.read(z, slice)
          fetched = r.bytesRead()
          return fetched
        })
      )
    )
  )
  report("slicewise slab reader", ms, vol, fetched)
}
