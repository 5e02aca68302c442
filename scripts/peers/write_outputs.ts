/**
 * Writes NIfTI, Zarr v2 (every codec) and OME-Zarr 0.4 outputs with slicewise, each with
 * <name>.expected.bin (voxels in z, y, x order), for scripts/peers/check_outputs.py to read back
 * with nibabel and zarr-python 2.13.
 *
 *     npx tsx scripts/peers/write_outputs.ts /tmp/slicewise-peers && /usr/bin/python3 scripts/peers/check_outputs.py /tmp/slicewise-peers
 */
import * as fs from "node:fs"
import * as nodePath from "node:path"
import * as Effect from "effect/Effect"
import { allocSlice, DTYPES, type DType } from "../../src/algebra/dtype.js"
import { sliceLength, volumeInfo, type VolumeInfo } from "../../src/algebra/volume.js"
import { niftiSink } from "../../src/io/nifti.js"
import type { SliceSink } from "../../src/algebra/slices.js"
import { zarrSink } from "../../src/io/zarr.js"
import { writeAll } from "../../test/support/volume-io.js"

const out = process.argv[2] ?? "/tmp/slicewise-peers"
fs.rmSync(out, { recursive: true, force: true })
fs.mkdirSync(out, { recursive: true })

const volumeOf = (info: VolumeInfo, seed: number): Uint8Array => {
  const n = info.shape[0] * sliceLength(info)
  const a = allocSlice(info.dtype, n) as unknown as { [i: number]: number }
  let s = seed
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) >>> 0
    a[i] = ((s >>> 8) % 250) - (info.dtype.startsWith("u") ? 0 : 125) + (info.dtype.startsWith("float") ? 0.25 : 0)
  }
  return new Uint8Array((a as unknown as Uint8Array).buffer)
}

const write = (sink: SliceSink, info: VolumeInfo, bytes: Uint8Array, order: ReadonlyArray<number>) =>
  Effect.runPromise(writeAll(sink, info, bytes, order))

const manifest: Array<Record<string, unknown>> = []
let seed = 1
for (const dtype of DTYPES) {
  const info = volumeInfo(dtype as DType, [6, 9, 11], [2.5, 0.5, 0.75])
  const bytes = volumeOf(info, seed++)
  const down = Array.from({ length: 6 }, (_, z) => 5 - z)
  for (const ext of [".nii", ".nii.gz"]) {
    const name = `${dtype}${ext}`
    await write(niftiSink(nodePath.join(out, name)), info, bytes, down)
    fs.writeFileSync(nodePath.join(out, `${name}.expected.bin`), bytes)
    manifest.push({ name, kind: "nifti", dtype, shape: info.shape, spacing: info.spacing })
  }
  for (const codec of ["raw", "gzip", "zstd", "blosc"] as const) {
    const name = `${dtype}-${codec}.zarr`
    await write(zarrSink(nodePath.join(out, name), { chunks: [4, 4, 5], codec: { codec } }), info, bytes, down)
    fs.writeFileSync(nodePath.join(out, `${name}.expected.bin`), bytes)
    manifest.push({ name, kind: "zarr", dtype, shape: info.shape, codec })
  }
}
for (const labels of [false, true]) {
  const info = volumeInfo("uint16", [9, 20, 18], [2, 0.5, 0.5])
  const bytes = volumeOf(info, 99)
  if (labels) for (let i = 0; i < bytes.length; i += 2) bytes[i] = bytes[i]! % 5
  const name = `image-${labels ? "labels" : "mean"}.ome.zarr`
  await write(zarrSink(nodePath.join(out, name), { chunks: [4, 8, 8], codec: { codec: "blosc" }, ome: { levels: 3, labels, unit: "micrometer" } }), info, bytes, Array.from({ length: 9 }, (_, z) => z))
  fs.writeFileSync(nodePath.join(out, `${name}.expected.bin`), bytes)
  manifest.push({ name, kind: "ome", dtype: "uint16", shape: info.shape, labels })
}
fs.writeFileSync(nodePath.join(out, "manifest.json"), JSON.stringify(manifest, null, 1))
console.log(`wrote ${manifest.length} outputs to ${out}`)
