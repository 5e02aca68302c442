/**
 * Writes outputs with physical metadata for scripts/peers/check_geometry.py: a few geometries
 * (oblique LPS in mm, axis-aligned RAS, microscopy in µm without a frame, nm) each as NIfTI,
 * NRRD and OME-Zarr, with manifest.json giving the geometry written (unit, space, origin (x, y, z),
 * direction columns, spacing (z, y, x)).
 *
 *     npx tsx scripts/peers/write_geometry_outputs.ts /tmp/slicewise-geometry && \
 *       /usr/bin/python3 scripts/peers/check_geometry.py /tmp/slicewise-geometry
 */
import * as fs from "node:fs"
import * as nodePath from "node:path"
import * as Effect from "effect/Effect"
import { IDENTITY_DIRECTION, type DirectionMatrix, type Geometry } from "../../src/algebra/geometry.js"
import { volumeBytes, volumeInfo, type Spacing } from "../../src/algebra/volume.js"
import { sinkFor } from "../../src/io/index.js"
import { writeAll } from "../../test/support/volume-io.js"

const out = process.argv[2] ?? "/tmp/slicewise-geometry"
fs.rmSync(out, { recursive: true, force: true })
fs.mkdirSync(out, { recursive: true })

const c = Math.cos(Math.PI / 6)
const s = Math.sin(Math.PI / 6)
const oblique: DirectionMatrix = [[c, s, 0], [-s, c, 0], [0, 0, 1]]
const cases: ReadonlyArray<{ name: string; spacing: Spacing; geometry: Geometry }> = [
  { name: "oblique-lps", spacing: [2.5, 0.8, 0.6], geometry: { unit: "mm", space: "LPS", origin: [-10.5, 20.25, 30], direction: oblique } },
  { name: "aligned-ras", spacing: [3, 1, 1], geometry: { unit: "mm", space: "RAS", origin: [1, 2, 3], direction: IDENTITY_DIRECTION } },
  { name: "microscopy-um", spacing: [1, 0.3, 0.3], geometry: { unit: "µm", origin: [5, 10, 0], direction: IDENTITY_DIRECTION } },
  { name: "em-nm", spacing: [40, 4, 4], geometry: { unit: "nm", origin: [100, 200, 300], direction: IDENTITY_DIRECTION } }
]
const manifest: Array<Record<string, unknown>> = []

const main = Effect.gen(function* () {
  for (const k of cases) {
    const info = volumeInfo("uint8", [3, 4, 5], k.spacing, k.geometry)
    for (const ext of [".nii.gz", ".nrrd", ".ome.zarr"]) {
      const file = `${k.name}${ext}`
      const sink = yield* sinkFor(nodePath.join(out, file))
      yield* writeAll(sink, info, new Uint8Array(volumeBytes(info)))
      manifest.push({ file, spacing: k.spacing, ...k.geometry, drops: sink.drops?.(info) ?? [] })
    }
  }
  fs.writeFileSync(nodePath.join(out, "manifest.json"), JSON.stringify(manifest, null, 2))
  console.log(`wrote ${manifest.length} outputs to ${out}`)
})
Effect.runPromise(main).catch((e) => {
  console.error(e)
  process.exit(1)
})
