/**
 * Writes TIFFs with geometry (spacing, unit, origin) with slicewise for
 * scripts/peers/check_tiff_geometry.py: raw, deflate and LZW files and stacks, every unit slicewise
 * knows (the ones ImageJ cannot name converted), origins zero and not. manifest.json lists each
 * output with the spacing, unit name and origin (in pixels, ImageJ's way) it must carry.
 *
 *     npx tsx scripts/peers/write_tiff_geometry.ts /tmp/slicewise-tiff-geometry && \
 *       /usr/bin/python3 scripts/peers/check_tiff_geometry.py /tmp/slicewise-tiff-geometry
 */
import * as fs from "node:fs"
import * as nodePath from "node:path"
import * as Effect from "effect/Effect"
import { allocSlice, type DType } from "../../src/algebra/dtype.js"
import { IDENTITY_DIRECTION, type LengthUnit } from "../../src/algebra/geometry.js"
import { sliceLength, volumeInfo } from "../../src/algebra/volume.js"
import type { SliceSink } from "../../src/algebra/slices.js"
import { writtenPhysical } from "../../src/io/tiff/description.js"
import { tiffFileSink, tiffStackSink } from "../../src/io/tiff/writer.js"
import { writeAll } from "../../test/support/volume-io.js"

const out = process.argv[2] ?? "/tmp/slicewise-tiff-geometry"
fs.rmSync(out, { recursive: true, force: true })
fs.mkdirSync(out, { recursive: true })

const cases: ReadonlyArray<readonly [DType, LengthUnit | undefined, readonly [number, number, number], readonly [number, number, number]]> = [
  ["uint8", "µm", [2.5, 0.5, 0.25], [-12.5, 3, 40]],
  ["uint16", "mm", [3, 0.9, 0.9], [0, 0, 0]],
  ["float32", "nm", [50, 4, 4], [100, -200, 0]],
  ["uint16", "cm", [0.1, 0.01, 0.02], [1, 2, 3]],
  ["uint8", "in", [0.5, 0.25, 0.25], [0, 0, 0.5]],
  ["uint16", "pm", [300, 200, 100], [1000, 0, -500]],
  ["float32", "Å", [20, 10, 10], [0, 0, 0]],
  ["int16", "µm", [1.5, 0.75, 0.75], [7.5, 0, 0]],
  ["uint8", undefined, [2, 1, 1], [0, 0, 0]]
]

const manifest: Array<Record<string, unknown>> = []
for (const [i, [dtype, unit, spacing, origin]] of cases.entries()) {
  const info = volumeInfo(dtype, [4, 9, 7], spacing, unit === undefined ? undefined : { unit, origin, direction: IDENTITY_DIRECTION })
  const bytes = new Uint8Array(allocSlice(dtype, 4 * sliceLength(info)).buffer)
  for (let k = 0; k < bytes.length; k++) bytes[k] = (k * 31 + i) & 0x7f
  const w = writtenPhysical(info)
  const name = `${i}-${dtype}-${unit ?? "none"}`
  const sinks: Array<[string, SliceSink, string]> = [
    [`${name}.tif`, tiffFileSink(nodePath.join(out, `${name}.tif`)), "tiff"],
    [`${name}-deflate.tif`, tiffFileSink(nodePath.join(out, `${name}-deflate.tif`), { compression: "deflate" }), "tiff"],
    [`${name}-lzw.tif`, tiffFileSink(nodePath.join(out, `${name}-lzw.tif`), { compression: "lzw" }), "tiff"],
    [`${name}-stack`, tiffStackSink(nodePath.join(out, `${name}-stack`)), "stack"]
  ]
  for (const [file, sink, kind] of sinks) {
    await Effect.runPromise(writeAll(sink, info, bytes))
    manifest.push({
      name: file,
      kind,
      dtype,
      imagej: true,
      spacing: w.spacing,
      unit: w.unitName ?? null,
      originPixels: w.originPixels ?? [0, 0, 0]
    })
  }
}
fs.writeFileSync(nodePath.join(out, "manifest.json"), JSON.stringify(manifest, null, 2))
console.log(`${manifest.length} outputs in ${out}`)
