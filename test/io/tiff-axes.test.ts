/**
 * TIFF axes: ImageJ hyperstacks, OME-TIFF and tifffile's shaped files read one channel at one time
 * point, as tifffile reads them (test/fixtures/tiff/axes, made by scripts/fixtures/make_tiff_axes.py,
 * whose manifest holds the SHA-256 of tifffile's array for each choice); refusals that name the file,
 * the axes and the flag; `describe`; and byte accounting that reads only the chosen planes.
 */
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as nodePath from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { openTiffFile } from "../../src/io/tiff/reader.js"
import { tiffFileSink } from "../../src/io/tiff/writer.js"
import type { TiffReadOptions } from "../../src/io/tiff/reader.js"
import { failure, FIXTURES, info, makeSlices, readVolume, removeTempDirs, run, tempDir, writeVolume } from "./tiff-helpers.js"

const AXES = nodePath.join(FIXTURES, "axes")

interface VolumeCase {
  readonly path: string
  readonly options: TiffReadOptions
  readonly dtype: string
  readonly shape: [number, number, number]
  readonly sha256: string
  readonly axes: string
  readonly spacing: [number, number, number]
  readonly unit: string | null
  readonly origin: [number, number, number] | null
  readonly details: Record<string, string>
}

interface ErrorCase {
  readonly path: string
  readonly options: TiffReadOptions
  readonly error: string
  readonly match: ReadonlyArray<string>
}

const manifest = JSON.parse(fs.readFileSync(nodePath.join(AXES, "manifest.json"), "utf8")) as { volumes: VolumeCase[]; errors: ErrorCase[] }

const label = (o: TiffReadOptions) => JSON.stringify(o)

afterAll(removeTempDirs)

describe("TIFF axes: fixtures written with tifffile", () => {
  it("the manifest covers ImageJ, OME and shaped files, volumes and refusals", () => {
    const names = manifest.volumes.map((v) => v.path)
    for (const kind of ["imagej_", "ome_", "shaped_"]) expect(names.some((n) => n.startsWith(kind))).toBe(true)
    expect(manifest.errors.length).toBeGreaterThanOrEqual(10)
  })

  for (const c of manifest.volumes) {
    it(`reads ${c.path} ${label(c.options)} as tifffile does`, async () => {
      const src = await run(openTiffFile(nodePath.join(AXES, c.path), c.options))
      expect(src.info.dtype).toBe(c.dtype)
      expect([...src.info.shape]).toEqual(c.shape)
      expect(src.details.axes).toBe(c.axes)
      for (const [k, v] of Object.entries(c.details)) expect(src.details[k]).toBe(v)
      src.info.spacing.forEach((s, i) => expect(s).toBeCloseTo(c.spacing[i]!, 12))
      expect(src.info.geometry?.unit).toBe(c.unit ?? undefined)
      if (c.origin === null) expect(src.info.geometry).toBeUndefined()
      else src.info.geometry!.origin.forEach((o, i) => expect(o).toBeCloseTo(c.origin![i]!, 9))

      const back = await readVolume(src)
      expect(createHash("sha256").update(back.bytes).digest("hex")).toBe(c.sha256)
      // Only the chosen planes are read, each exactly once.
      expect(back.exactPerSlice).toBe(true)
      const pageBytes = (c.shape[1] * c.shape[2] * back.bytes.length) / (c.shape[0] * c.shape[1] * c.shape[2])
      expect(back.bytesRead).toBe(c.shape[0] * pageBytes)
    })
  }

  for (const e of manifest.errors) {
    it(`refuses ${e.path} ${label(e.options)} with a ${e.error} naming ${e.match.join(", ")}`, async () => {
      const err = (await failure(openTiffFile(nodePath.join(AXES, e.path), e.options))) as { _tag: string; message: string }
      expect(err._tag).toBe(e.error)
      expect(err.message).toContain(nodePath.join(AXES, e.path))
      for (const m of e.match) expect(err.message).toContain(m)
    })
  }
})

describe("TIFF axes: channel choice", () => {
  const hyper = nodePath.join(AXES, "imagej_zcyx.tif")

  it("channel 0 and channel 1 of a 16 z × 2 channel hyperstack differ, and neither is read as 32 slices", async () => {
    const a = await run(openTiffFile(hyper, { c: 0 }))
    const b = await run(openTiffFile(hyper, { c: 1 }))
    expect(a.info.shape[0]).toBe(16)
    expect(Buffer.from((await readVolume(a)).bytes).equals(Buffer.from((await readVolume(b)).bytes))).toBe(false)
  })

  it("describe opens channel 0 without refusing, and says which of how many", async () => {
    const src = await run(openTiffFile(hyper, { describe: true }))
    expect(src.details).toMatchObject({ axes: "TZCYX 1×16×2×12×10", channel: "0 of 2", description: "imagej" })
    const zero = await run(openTiffFile(hyper, { c: 0 }))
    expect(Buffer.from((await readVolume(src)).bytes).equals(Buffer.from((await readVolume(zero)).bytes))).toBe(true)
  })

  it("a plain file has one channel and one time point: 0 is accepted, 1 is out of range", async () => {
    const path = nodePath.join(tempDir(), "plain.tif")
    const vol = info("uint8", [3, 4, 5])
    await writeVolume(tiffFileSink(path), vol, makeSlices("uint8", vol.shape))
    const src = await run(openTiffFile(path, { c: 0, t: 0 }))
    expect(src.details.axes).toBe("TZCYX 1×3×1×4×5")
    expect(src.details.channel).toBeUndefined()
    const err = await failure(openTiffFile(path, { c: 1 }))
    expect(err.message).toContain("channel 1 does not exist")
    expect(err.message).toContain("one channel")
  })

  it("negative and fractional choices are refused", async () => {
    for (const c of [-1, 0.5]) {
      const err = await failure(openTiffFile(hyper, { c }))
      expect(err._tag).toBe("UnsupportedError")
      expect(err.message).toContain(`channel ${c} does not exist`)
    }
  })
})
