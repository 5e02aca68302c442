/**
 * TIFF geometry: spacing, unit and origin written as ImageJ writes them (unit=micron, spacing=,
 * xorigin=… in pixels) by the raw and compressed file and stack writers, read back by our reader;
 * what a TIFF cannot hold is named by the sinks' `drops`; ImageJ and resolution-tag facts read as
 * ImageJ reads them.
 */
import * as fs from "node:fs"
import * as nodePath from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { convertUnit, IDENTITY_DIRECTION, type Geometry, type LengthUnit } from "../../src/algebra/geometry.js"
import { volumeInfo, type VolumeInfo } from "../../src/algebra/volume.js"
import type { SliceSink } from "../../src/algebra/slices.js"
import { describeVolume, descriptionFields, imagejFacts, writtenPhysical } from "../../src/io/tiff/description.js"
import { imagejPhysical, omePhysical, resolutionPhysical } from "../../src/io/tiff/physical.js"
import { parseOmeXml } from "../../src/io/tiff/ome.js"
import { openTiffFile, openTiffStack } from "../../src/io/tiff/reader.js"
import { tiffFileSink, tiffStackSink, type TiffWriteOptions } from "../../src/io/tiff/writer.js"
import { makeSlices, removeTempDirs, run, tempDir, writeVolume } from "./tiff-helpers.js"

afterAll(removeTempDirs)

const geometry = (unit: LengthUnit | undefined, origin: readonly [number, number, number]): Geometry => ({
  ...(unit !== undefined && { unit }),
  origin,
  direction: IDENTITY_DIRECTION
})

const SINKS: ReadonlyArray<readonly [string, (path: string) => SliceSink]> = [
  ["raw file", (p) => tiffFileSink(`${p}.tif`)],
  ["deflate file", (p) => tiffFileSink(`${p}.tif`, { compression: "deflate" })],
  ["lzw file", (p) => tiffFileSink(`${p}.tif`, { compression: "lzw" })],
  ["raw stack", (p) => tiffStackSink(p)],
  ["deflate stack", (p) => tiffStackSink(p, { compression: "deflate" })]
]

const readBack = (sink: SliceSink) => run(sink.format.startsWith("tiff-stack") ? openTiffStack(sink.path) : openTiffFile(sink.path))

const expectGeometry = (got: VolumeInfo, spacing: readonly number[], g: Geometry | undefined) => {
  got.spacing.forEach((s, i) => expect(s).toBeCloseTo(spacing[i]!, 10))
  if (g === undefined) return expect(got.geometry).toBeUndefined()
  expect(got.geometry?.unit).toBe(g.unit)
  expect(got.geometry?.space).toBeUndefined()
  expect(got.geometry?.direction).toEqual(IDENTITY_DIRECTION)
  got.geometry!.origin.forEach((o, i) => expect(o).toBeCloseTo(g.origin[i]!, 8))
}

describe("TIFF geometry: written, then read back", () => {
  const cases: ReadonlyArray<readonly [string, VolumeInfo, LengthUnit | undefined]> = [
    ["µm with an origin", volumeInfo("uint16", [3, 6, 5], [2.5, 0.5, 0.25], geometry("µm", [-12.5, 3, 40])), "µm"],
    ["mm, int16 (slicewise= description)", volumeInfo("int16", [2, 4, 7], [3, 0.9, 0.9], geometry("mm", [-120, -110.5, 40])), "mm"],
    ["nm, origin 0", volumeInfo("float32", [4, 5, 5], [50, 4, 4], geometry("nm", [0, 0, 0])), "nm"],
    ["pm, written in nm", volumeInfo("uint8", [2, 3, 3], [300, 200, 100], geometry("pm", [1000, 0, -500])), "nm"],
    ["ft, written in inches", volumeInfo("float64", [2, 3, 3], [0.5, 0.25, 0.25], geometry("ft", [1, 2, 3])), "in"],
    ["an origin without a unit", volumeInfo("uint8", [2, 3, 4], [1, 1, 1], geometry(undefined, [5, 0, 0])), undefined]
  ]
  for (const [name, vol, unit] of cases) {
    for (const [sinkName, make] of SINKS) {
      it(`${name}: ${sinkName}`, async () => {
        const sink = make(nodePath.join(tempDir(), "out"))
        expect(sink.drops?.(vol)).toEqual([])
        await writeVolume(sink, vol, makeSlices(vol.dtype, vol.shape))
        const src = await readBack(sink)
        const want = unit === undefined ? { spacing: vol.spacing, geometry: vol.geometry! } : convertUnit(vol.spacing, vol.geometry!, unit)
        expectGeometry(src.info, want.spacing, want.geometry)
      })
    }
  }

  it("a volume without geometry is written as before and reads back without one", async () => {
    const vol = volumeInfo("uint8", [5, 4, 4], [2.5, 0.5, 0.5])
    const path = nodePath.join(tempDir(), "plain.tif")
    await writeVolume(tiffFileSink(path), vol, makeSlices("uint8", vol.shape))
    expect(fs.readFileSync(path, "latin1")).toContain("ImageJ=1.11a\nimages=5\nslices=5\nspacing=2.5\nloop=false\n\0")
    const src = await run(openTiffFile(path))
    expect(src.info).toEqual(vol)
  })

  it("the raw and compressed writers write the same ImageJ description, origins in pixels", async () => {
    const vol = volumeInfo("uint16", [4, 6, 5], [2, 0.5, 0.25], geometry("µm", [-1, 3, 0]))
    const text = "ImageJ=1.11a\nimages=4\nslices=4\nunit=micron\nspacing=2\nloop=false\nxorigin=4\nyorigin=-6\n"
    expect(describeVolume(vol, 4)).toBe(text)
    for (const options of [{}, { compression: "deflate" }, { compression: "lzw" }] as ReadonlyArray<TiffWriteOptions>) {
      const path = nodePath.join(tempDir(), "d.tif")
      await writeVolume(tiffFileSink(path, options), vol, makeSlices("uint16", vol.shape))
      expect(fs.readFileSync(path, "latin1")).toContain(`${text}\0`)
    }
  })

  it("X/YResolution are written in the description's unit", () => {
    const w = writtenPhysical(volumeInfo("uint8", [2, 2, 2], [2000, 1000, 500], geometry("pm", [0, 0, 0])))
    expect(w.unitName).toBe("nm")
    expect(w.spacing).toEqual([2, 1, 0.5])
    expect(w.originPixels).toBeUndefined()
  })
})

describe("TIFF geometry: what a TIFF drops", () => {
  const rotated: Geometry = { unit: "mm", origin: [1, 2, 3], direction: [[0, 1, 0], [-1, 0, 0], [0, 0, 1]] }
  const vol = (g: Geometry) => volumeInfo("int16", [3, 4, 4], [2, 1, 1], g)

  for (const [name, make] of SINKS) {
    it(`${name}: the direction and the anatomical frame, each named`, () => {
      const sink = make(nodePath.join(tempDir(), "x"))
      expect(sink.drops?.(volumeInfo("uint8", [2, 2, 2]))).toEqual([])
      expect(sink.drops?.(vol(rotated))).toEqual(["the direction (not axis-aligned)"])
      expect(sink.drops?.(vol({ ...geometry("mm", [0, 0, 0]), space: "LPS" }))).toEqual(["the anatomical frame (LPS)"])
      expect(sink.drops?.(vol({ ...rotated, space: "RAS" }))).toEqual(["the direction (not axis-aligned)", "the anatomical frame (RAS)"])
    })
  }

  it("without a description: the z spacing, the unit and the origin", () => {
    const sink = tiffFileSink(nodePath.join(tempDir(), "n.tif"), { description: false })
    expect(sink.drops?.(vol(geometry("mm", [0, 0, 1])))).toEqual(["the z spacing", "the unit", "the origin"])
    expect(sink.drops?.(volumeInfo("uint8", [2, 2, 2]))).toEqual([])
  })

  it("the origin is kept when the direction is dropped", async () => {
    const sink = tiffFileSink(nodePath.join(tempDir(), "r.tif"))
    await writeVolume(sink, vol(rotated), makeSlices("int16", [3, 4, 4]))
    expectGeometry((await readBack(sink)).info, [2, 1, 1], geometry("mm", [1, 2, 3]))
  })
})

describe("TIFF geometry: what ImageJ descriptions and resolution tags say", () => {
  const facts = (text: string) => imagejFacts(descriptionFields(text))
  const res = { x: 0.5, y: 0.25, unit: 1, stated: true }

  it("unit spellings: micron, um, \\u00B5m, mm; pixel and none are no unit", () => {
    for (const u of ["micron", "um", "\\u00B5m", "µm"]) expect(imagejPhysical(facts(`ImageJ=1\nunit=${u}\n`), res).geometry?.unit).toBe("µm")
    expect(imagejPhysical(facts("ImageJ=1\nunit=mm\n"), res).geometry?.unit).toBe("mm")
    expect(imagejPhysical(facts("ImageJ=1\nunit=pixel\n"), res).geometry).toBeUndefined()
    expect(imagejPhysical(facts("ImageJ=1\n"), res).geometry).toBeUndefined()
  })

  it("origins in pixels become −origin · spacing; yunit and zunit are converted to unit", () => {
    const p = imagejPhysical(facts("ImageJ=1\nunit=mm\nyunit=micron\nzunit=cm\nspacing=0.2\nxorigin=10\nyorigin=-4\nzorigin=2.5\n"), res)
    expect(p.spacing[0]).toBeCloseTo(2, 12)
    expect(p.spacing[1]).toBeCloseTo(0.00025, 12)
    expect(p.spacing[2]).toBe(0.5)
    expect(p.geometry?.origin[0]).toBeCloseTo(-5, 12)
    expect(p.geometry?.origin[1]).toBeCloseTo(0.001, 12)
    expect(p.geometry?.origin[2]).toBeCloseTo(-5, 12)
  })

  it("with no ImageJ unit, ResolutionUnit inch or centimetre is the unit; none or absent is not", () => {
    expect(imagejPhysical(facts("ImageJ=1\n"), { ...res, unit: 3 }).geometry?.unit).toBe("cm")
    expect(imagejPhysical(facts("ImageJ=1\nunit=micron\n"), { ...res, unit: 3 }).geometry?.unit).toBe("µm")
    expect(resolutionPhysical({ ...res, unit: 2 }).geometry?.unit).toBe("in")
    expect(resolutionPhysical({ ...res, unit: undefined }).geometry).toBeUndefined()
    expect(resolutionPhysical({ x: 1, y: 1, unit: 2, stated: false }).geometry).toBeUndefined()
  })

  it("OME: sizes in one unit (the first stated), µm by default; positions need a length unit", () => {
    const image = (attrs: string, plane = "") =>
      parseOmeXml(`<OME><Image><Pixels DimensionOrder="XYZCT" SizeX="2" SizeY="2" SizeZ="2" SizeC="1" SizeT="1" ${attrs}>${plane}</Pixels></Image></OME>`).images[0]!
    const r = { x: 1, y: 1, unit: undefined, stated: false }
    const mixed = omePhysical(image('PhysicalSizeX="0.5" PhysicalSizeXUnit="mm" PhysicalSizeY="500" PhysicalSizeYUnit="µm" PhysicalSizeZ="2"'), r, 0, 0)
    expect(mixed.geometry?.unit).toBe("mm")
    expect(mixed.spacing[1]).toBeCloseTo(0.5, 12)
    expect(mixed.spacing[0]).toBeCloseTo(0.002, 12)
    const positioned = omePhysical(image('PhysicalSizeX="1"', '<Plane TheZ="0" PositionX="3" PositionXUnit="mm" PositionY="7"/>'), r, 0, 0)
    expect(positioned.geometry?.origin).toEqual([3000, 0, 0])
    expect(positioned.notes.join(" ")).toContain("PositionY in reference frame units")
    expect(omePhysical(image(""), r, 0, 0).geometry).toBeUndefined()
  })
})
