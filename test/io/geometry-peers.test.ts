// Geometry of files the peers wrote, as the peers themselves report it
// (scripts/fixtures/make_geometry_fixtures.py): nibabel's affine and unit for NIfTI sform, qform
// (mirrored, qfac −1) and micron files; zarr-python-written OME-Zarr scale, translation and unit.
import * as fs from "node:fs"
import * as nodePath from "node:path"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { affineOf, geometryOf, inSpace, parseLengthUnit } from "../../src/algebra/geometry.js"
import { openSource } from "../../src/io/index.js"

const DIR = nodePath.join(import.meta.dirname, "..", "fixtures", "geometry")
interface Expected {
  readonly format: "nifti" | "ome-zarr"
  readonly affine?: ReadonlyArray<ReadonlyArray<number>>
  readonly unit: string
  readonly scale?: ReadonlyArray<number>
  readonly translation?: ReadonlyArray<number>
}
const expected = JSON.parse(fs.readFileSync(nodePath.join(DIR, "expected.json"), "utf8")) as Record<string, Expected>

const close = (got: number, want: number) => expect(Math.abs(got - want)).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(want)))

describe("geometry as the peers report it", () => {
  it("covers NIfTI and OME-Zarr files", () => {
    expect(Object.values(expected).filter((e) => e.format === "nifti").length).toBeGreaterThanOrEqual(3)
    expect(Object.values(expected).filter((e) => e.format === "ome-zarr").length).toBeGreaterThanOrEqual(2)
  })

  for (const [name, want] of Object.entries(expected))
    it.effect(`${name}: as ${want.format === "nifti" ? "nibabel" : "zarr-python"} reports it`, () =>
      Effect.gen(function* () {
        const src = yield* openSource(nodePath.join(DIR, name))
        const g = geometryOf(src.info)
        expect(g.unit).toBe(parseLengthUnit(want.unit))
        if (want.format === "nifti") {
          expect(g.space).toBe("RAS")
          const affine = affineOf(src.info.spacing, inSpace(g, "RAS"))
          affine.forEach((row, r) => row.forEach((v, c) => close(v, want.affine![r]![c]!)))
        } else {
          expect(src.info.spacing).toEqual(want.scale)
          expect([g.origin[2], g.origin[1], g.origin[0]]).toEqual(want.translation)
        }
      })
    )
})
