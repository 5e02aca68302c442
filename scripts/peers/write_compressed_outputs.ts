/**
 * Writes compressed outputs with slicewise for scripts/peers/check_compressed_outputs.py: TIFF
 * files and stacks with deflate and LZW strips (every dtype, predictor 2 or 3), and NRRD with
 * gzip encoding (attached and detached). Each comes with <name>.expected.bin (voxels, z, y, x,
 * little-endian) and an entry in manifest.json.
 *
 *     npx tsx scripts/peers/write_compressed_outputs.ts /tmp/slicewise-compressed && \
 *       /usr/bin/python3 scripts/peers/check_compressed_outputs.py /tmp/slicewise-compressed
 */
import * as fs from "node:fs"
import * as nodePath from "node:path"
import * as Effect from "effect/Effect"
import { allocSlice, DTYPES, type DType } from "../../src/algebra/dtype.js"
import { sliceLength, volumeInfo, type VolumeInfo } from "../../src/algebra/volume.js"
import type { SliceSink } from "../../src/algebra/slices.js"
import { nrrdSink } from "../../src/io/nrrd.js"
import { tiffFileSink, tiffStackSink } from "../../src/io/tiff/writer.js"
import { writeAll } from "../../test/support/volume-io.js"

const out = process.argv[2] ?? "/tmp/slicewise-compressed"
fs.rmSync(out, { recursive: true, force: true })
fs.mkdirSync(out, { recursive: true })

/** Smooth ramps with noise: the predictors have something to do, and every byte is exercised. */
const volumeOf = (info: VolumeInfo, seed: number): Uint8Array => {
  const [, h, w] = info.shape
  const n = info.shape[0] * sliceLength(info)
  const a = allocSlice(info.dtype, n) as unknown as { [i: number]: number }
  let s = seed
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) >>> 0
    const x = i % w
    const y = Math.floor(i / w) % h
    const base = info.dtype.endsWith("8") ? (x + y) % 100 : (x * 37 + y * 11) % 30000
    a[i] = base + ((s >>> 8) % 7) - (info.dtype.startsWith("u") ? 0 : 50) + (info.dtype.startsWith("float") ? 0.125 : 0)
  }
  return new Uint8Array((a as unknown as Uint8Array).buffer)
}

const manifest: Array<Record<string, unknown>> = []
let seed = 1
for (const dtype of DTYPES) {
  const info = volumeInfo(dtype as DType, [5, 70, 301], [2.5, 0.5, 0.75])
  const bytes = volumeOf(info, seed++)
  const down = Array.from({ length: info.shape[0] }, (_, z) => info.shape[0] - 1 - z)
  const entries: Array<[string, SliceSink, string]> = [
    [`${dtype}-deflate.tif`, tiffFileSink(nodePath.join(out, `${dtype}-deflate.tif`), { compression: "deflate", stripBytes: 8192 }), "tiff"],
    [`${dtype}-lzw.tif`, tiffFileSink(nodePath.join(out, `${dtype}-lzw.tif`), { compression: "lzw" }), "tiff"],
    [`${dtype}-lzw-stack`, tiffStackSink(nodePath.join(out, `${dtype}-lzw-stack`), { compression: "lzw" }), "stack"],
    [`${dtype}-deflate-big.tif`, tiffFileSink(nodePath.join(out, `${dtype}-deflate-big.tif`), { compression: "deflate", level: 9, bigtiff: true }), "tiff"],
    [`${dtype}-gzip.nrrd`, nrrdSink(nodePath.join(out, `${dtype}-gzip.nrrd`), { encoding: "gzip" }), "nrrd"],
    [`${dtype}-gzip.nhdr`, nrrdSink(nodePath.join(out, `${dtype}-gzip.nhdr`), { encoding: "gzip", endian: "big" }), "nrrd"]
  ]
  for (const [name, sink, kind] of entries) {
    await Effect.runPromise(writeAll(sink, info, bytes, down))
    fs.writeFileSync(nodePath.join(out, `${name}.expected.bin`), bytes)
    manifest.push({ name, kind, dtype, shape: info.shape, spacing: info.spacing, bigtiff: name.includes("-big") })
  }
}
fs.writeFileSync(nodePath.join(out, "manifest.json"), JSON.stringify(manifest, null, 2))
console.log(`wrote ${manifest.length} outputs to ${out}`)
