// Physical metadata through every writer and back through its reader: random spacings, units,
// origins, rotations (with and without a mirror) and frames. Each format must give back what it
// can hold — the same physical position for every corner voxel, in metres where a unit is known —
// and name what it cannot in `drops`, never lose it silently.
import * as fs from "node:fs"
import * as os from "node:os"
import * as nodePath from "node:path"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import fc from "fast-check"
import {
  geometryOf,
  IDENTITY_DIRECTION,
  inSpace,
  isIdentityDirection,
  METRES_PER_UNIT,
  parseLengthUnit,
  unitFactor,
  voxelToPhysical,
  type DirectionMatrix,
  type Geometry,
  type LengthUnit,
  type Space,
  type Vec3
} from "../../src/algebra/geometry.js"
import { volumeInfo, volumeBytes, type VolumeInfo } from "../../src/algebra/volume.js"
import { openSource, sinkFor } from "../../src/io/index.js"
import { readAll, writeAll } from "../support/volume-io.js"

const tmp = fs.mkdtempSync(nodePath.join(os.tmpdir(), "slicewise-geometry-"))

/** A rotation from a unit quaternion, mirrored in its third column when `mirror`. */
const rotation = (q: readonly [number, number, number, number], mirror: boolean): DirectionMatrix => {
  const n = Math.hypot(...q) || 1
  const [a, b, c, d] = q.map((v) => v / n) as [number, number, number, number]
  const z: Vec3 = [2 * (b * d + a * c), 2 * (c * d - a * b), a * a + d * d - b * b - c * c]
  return [
    [a * a + b * b - c * c - d * d, 2 * (b * c + a * d), 2 * (b * d - a * c)],
    [2 * (b * c - a * d), a * a + c * c - b * b - d * d, 2 * (c * d + a * b)],
    mirror ? [-z[0], -z[1], -z[2]] : z
  ]
}

const UNITS: ReadonlyArray<LengthUnit | undefined> = [undefined, "mm", "µm", "nm", "m", "cm", "in"]
const SPACES: ReadonlyArray<Space | undefined> = [undefined, "LPS", "RAS"]

const arbitraryInfo = fc
  .record({
    spacing: fc.tuple(...[0, 1, 2].map(() => fc.double({ min: 0.05, max: 8, noNaN: true }))),
    origin: fc.tuple(...[0, 1, 2].map(() => fc.double({ min: -500, max: 500, noNaN: true }))),
    q: fc.tuple(...[0, 1, 2, 3].map(() => fc.double({ min: -1, max: 1, noNaN: true }))),
    mirror: fc.boolean(),
    aligned: fc.boolean(),
    unit: fc.constantFrom(...UNITS),
    space: fc.constantFrom(...SPACES)
  })
  .map(({ spacing, origin, q, mirror, aligned, unit, space }): VolumeInfo => {
    const direction = aligned || Math.hypot(...q) < 0.1 ? IDENTITY_DIRECTION : rotation(q as unknown as [number, number, number, number], mirror)
    const geometry: Geometry = {
      ...(unit === undefined ? {} : { unit }),
      ...(space === undefined ? {} : { space }),
      origin: origin as unknown as Vec3,
      direction
    }
    return volumeInfo("uint8", [2, 3, 4], spacing as unknown as [number, number, number], geometry)
  })

const CORNERS: ReadonlyArray<Vec3> = [0, 1, 2, 3, 4, 5, 6, 7].map((i) => [(i & 1) * 3, ((i >> 1) & 1) * 2, ((i >> 2) & 1) * 1])

/** Corner positions in LPS (a frameless geometry as it is), in metres when the unit is known. */
const corners = (info: VolumeInfo): ReadonlyArray<Vec3> => {
  const g = geometryOf(info)
  const k = g.unit === undefined ? 1 : METRES_PER_UNIT[g.unit]
  const lps = { ...info, geometry: inSpace(g, "LPS") }
  return CORNERS.map((c) => voxelToPhysical(lps, c).map((v) => v * k) as unknown as Vec3)
}

const expectClose = (got: ReadonlyArray<Vec3>, want: ReadonlyArray<Vec3>, relative: number, scale: number) =>
  got.forEach((p, i) => p.forEach((v, r) => expect(Math.abs(v - want[i]![r]!)).toBeLessThanOrEqual(relative * scale)))

const roundTrip = (name: string, info: VolumeInfo) =>
  Effect.gen(function* () {
    const path = nodePath.join(tmp, name)
    fs.rmSync(path, { recursive: true, force: true })
    const sink = yield* sinkFor(path)
    yield* writeAll(sink, info, new Uint8Array(volumeBytes(info)))
    const back = yield* openSource(path)
    yield* readAll(back)
    return { back: back.info, drops: sink.drops?.(info) ?? [] }
  })

/** The largest coordinate the corners reach, for a tolerance relative to the numbers stored. */
const extent = (info: VolumeInfo) => {
  const g = geometryOf(info)
  const k = g.unit === undefined ? 1 : METRES_PER_UNIT[g.unit]
  return k * (Math.max(...g.origin.map(Math.abs)) + 4 * Math.max(...info.spacing))
}

describe("geometry through every format", () => {
  it.effect("NRRD keeps everything: unit, frame, origin, directions, spacing", () =>
    Effect.gen(function* () {
      const samples = fc.sample(arbitraryInfo, { numRuns: 40, seed: 11 })
      for (const [i, info] of samples.entries()) {
        const { back, drops } = yield* roundTrip(`g${i}${i % 2 ? ".nhdr" : ".nrrd"}`, info)
        expect(drops).toEqual([])
        expect(back.geometry?.unit).toBe(info.geometry?.unit)
        expect(back.geometry?.space).toBe(info.geometry?.space)
        expectClose(corners(back), corners(info), 1e-12, extent(info))
      }
    })
  )

  it.effect("NIfTI keeps the affine in RAS, in a unit it names (m, mm, µm), to float32 precision", () =>
    Effect.gen(function* () {
      const samples = fc.sample(arbitraryInfo, { numRuns: 40, seed: 12 })
      for (const [i, info] of samples.entries()) {
        const { back, drops } = yield* roundTrip(`g${i}${i % 2 ? ".nii" : ".nii.gz"}`, info)
        expect(drops).toEqual([])
        // NIfTI's world is RAS: a frameless geometry comes back as RAS with the same numbers.
        expect(back.geometry?.space).toBe("RAS")
        const unit = info.geometry?.unit
        expect(back.geometry?.unit).toBe(unit === undefined ? undefined : unit === "nm" ? "µm" : unit === "cm" || unit === "in" ? "mm" : unit)
        const asWritten = info.geometry?.space === undefined ? { ...info, geometry: { ...info.geometry!, space: "RAS" as const } } : info
        expectClose(corners(back), corners(asWritten), 3e-7, extent(info))
      }
    })
  )

  it.effect("NIfTI writes an LPS geometry as RAS rows, a rotation's mirror as qfac −1, µm as code 3", () =>
    Effect.gen(function* () {
      // z mirrored: a left-handed grid; x and y flip from LPS to RAS.
      const direction: DirectionMatrix = [[0, 1, 0], [1, 0, 0], [0, 0, 1]]
      const info = volumeInfo("uint8", [2, 3, 4], [4, 0.5, 0.25], { unit: "µm", space: "LPS", origin: [-10, 20, 30], direction })
      const path = nodePath.join(tmp, "lps.nii")
      yield* writeAll(yield* sinkFor(path), info, new Uint8Array(volumeBytes(info)))
      const file = fs.readFileSync(path)
      const dv = new DataView(file.buffer, file.byteOffset, file.length)
      const f = (o: number) => dv.getFloat32(o, true)
      const srow = [0, 1, 2].map((r) => [0, 1, 2, 3].map((c) => f(280 + 16 * r + 4 * c)))
      expect(srow).toEqual([[0, -0.5, 0, 10], [-0.25, 0, 0, -20], [0, 0, 4, 30]])
      expect([dv.getInt16(252, true), dv.getInt16(254, true)]).toEqual([1, 1])
      expect(f(76)).toBe(-1)
      expect(dv.getUint8(123) & 7).toBe(3)
      expect([f(268), f(272), f(276)]).toEqual([10, -20, 30])
    })
  )

  it.effect("OME-Zarr keeps unit, origin and spacing, and names the directions and frame it drops", () =>
    Effect.gen(function* () {
      const samples = fc.sample(arbitraryInfo, { numRuns: 30, seed: 13 })
      for (const [i, info] of samples.entries()) {
        const { back, drops } = yield* roundTrip(`g${i}.ome.zarr`, info)
        const g = geometryOf(info)
        expect(drops.some((d) => d.startsWith("the direction"))).toBe(!isIdentityDirection(g.direction))
        expect(drops.some((d) => d.startsWith("the anatomical frame"))).toBe(g.space !== undefined)
        expect(back.geometry?.unit).toBe(g.unit)
        expect(back.geometry?.space).toBeUndefined()
        const held = { ...info, geometry: { ...g, direction: IDENTITY_DIRECTION } }
        const frameless = { ...held, geometry: { ...held.geometry, space: undefined } } as VolumeInfo
        expectClose(corners(back), corners(frameless), 1e-12, extent(info))
      }
    })
  )

  it.effect("a plain Zarr array holds no geometry and says so", () =>
    Effect.gen(function* () {
      const info = volumeInfo("uint8", [2, 3, 4], [2, 1, 0.5], { unit: "µm", origin: [5, 0, 0], direction: IDENTITY_DIRECTION })
      const { back, drops } = yield* roundTrip("plain.zarr", info)
      expect(back.geometry).toBeUndefined()
      expect(drops).toEqual(["the spacing (2×1×0.5)", "the unit (µm)", "the origin (5, 0, 0)"])
    })
  )
})

describe("length units", () => {
  it("are parsed however real files spell them", () => {
    for (const [text, unit] of [
      ["micron", "µm"],
      ["\u00B5m", "µm"],
      ["\u03BCm", "µm"],
      ["um", "µm"],
      ["micrometer", "µm"],
      ["Millimeter", "mm"],
      ["mm", "mm"],
      ["nanometer", "nm"],
      ["inch", "in"],
      ["pixel", undefined],
      ["", undefined]
    ] as const)
      expect(parseLengthUnit(text)).toBe(unit)
  })

  it("convert between decades exactly", () => {
    expect(unitFactor("mm", "µm")).toBe(1000)
    expect(unitFactor("µm", "mm")).toBe(0.001)
    expect(unitFactor("nm", "µm")).toBe(0.001)
    expect(unitFactor("in", "mm")).toBeCloseTo(25.4, 12)
  })
})
