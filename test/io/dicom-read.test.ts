/**
 * DICOM series written by pydicom (scripts/fixtures/make_dicom_series.py) and pydicom's own test
 * files read as pydicom + numpy stack them: voxels, order, shape, spacing, geometry and dtype;
 * the refusals it lists give their typed errors with the words a user needs.
 */
import * as crypto from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as nodePath from "node:path"
import { afterAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { openDicomSeries } from "../../src/io/dicom.js"
import { openSource } from "../../src/io/index.js"
import { predicted, readAll, up } from "../support/volume-io.js"

const DIR = nodePath.join(__dirname, "..", "fixtures", "dicom")

interface Case {
  readonly name: string
  readonly dir: string
  readonly series?: string
  readonly dtype?: string
  readonly shape?: [number, number, number]
  readonly spacing?: [number, number, number]
  readonly geometry?: { origin: [number, number, number]; direction: [[number, number, number], [number, number, number], [number, number, number]] } | null
  readonly sha256?: string
  readonly sum?: number
  readonly files_in_order?: ReadonlyArray<string>
  readonly nonImage?: number
  readonly other?: number
  readonly seriesCount?: number
  readonly error?: string
  readonly contains?: ReadonlyArray<string>
}
const cases: ReadonlyArray<Case> = JSON.parse(fs.readFileSync(nodePath.join(DIR, "expected.json"), "utf8"))
const good = cases.filter((c) => c.error === undefined)
const bad = cases.filter((c) => c.error !== undefined)

const tmp = fs.mkdtempSync(nodePath.join(os.tmpdir(), "slicewise-dicom-"))
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }))

/** A copy of a fixture directory that a test may damage. */
const copyOf = (dir: string): string => {
  const to = fs.mkdtempSync(nodePath.join(tmp, "copy-"))
  for (const f of fs.readdirSync(nodePath.join(DIR, dir))) fs.copyFileSync(nodePath.join(DIR, dir, f), nodePath.join(to, f))
  return to
}

const sha256 = (b: Uint8Array) => crypto.createHash("sha256").update(b).digest("hex")

describe("dicom: pydicom's answers", () => {
  it("the fixtures cover what they should", () => {
    expect(good.length).toBeGreaterThanOrEqual(15)
    expect(bad.length).toBeGreaterThanOrEqual(9)
    expect(new Set(good.map((c) => c.dtype))).toEqual(new Set(["int16", "float32", "uint8", "int32", "float64"]))
  })

  for (const c of good) {
    it.effect(`${c.name}: voxels, order, dtype, shape, spacing, geometry; exact bytes read, forward and backward`, () =>
      Effect.gen(function* () {
        const src = yield* openDicomSeries(nodePath.join(DIR, c.dir), c.series !== undefined ? { series: c.series } : {})
        expect(src.format).toBe("dicom")
        expect(src.info.dtype).toBe(c.dtype)
        expect(src.info.shape).toEqual(c.shape)
        src.info.spacing.forEach((s, i) => expect(s).toBeCloseTo(c.spacing![i]!, 9))
        expect(src.files.map((f) => nodePath.basename(f))).toEqual(c.files_in_order)
        if (c.geometry === null) expect(src.info.geometry).toBeUndefined()
        else {
          const g = src.info.geometry!
          expect(g.unit).toBe("mm")
          expect(g.space).toBe("LPS")
          g.origin.forEach((v, i) => expect(v).toBeCloseTo(c.geometry!.origin[i]!, 9))
          g.direction.forEach((d, k) => d.forEach((v, i) => expect(v).toBeCloseTo(c.geometry!.direction[k]![i]!, 9)))
        }
        const fwd = yield* readAll(src, up(src.info.shape[0]), true)
        expect(sha256(fwd.bytes)).toBe(c.sha256)
        expect(fwd.bytesRead).toBe(predicted(src))
        const back = yield* readAll(src, up(src.info.shape[0]).reverse(), true)
        expect(sha256(back.bytes)).toBe(c.sha256)
        if (c.seriesCount !== undefined) expect(src.series).toHaveLength(c.seriesCount)
        if (c.nonImage !== undefined) expect(String(src.details["ignored DICOM files"])).toMatch(new RegExp(`^${c.nonImage} without pixels`))
        if (c.other !== undefined) expect(src.details["ignored other files"]).toBe(c.other)
      })
    )
  }

  for (const c of bad) {
    it.effect(`${c.name}: refused (${c.error})`, () =>
      Effect.gen(function* () {
        const path = nodePath.join(DIR, c.dir)
        const e = yield* Effect.flip(openDicomSeries(path, c.series !== undefined ? { series: c.series } : {}))
        expect(e._tag).toBe(c.error)
        for (const w of c.contains!) expect(e.message).toContain(w)
        // Every refusal names the directory or the file it is about.
        expect(e.message.startsWith(path)).toBe(true)
      })
    )
  }
})

describe("dicom: series, bytes and damage", () => {
  const exam = nodePath.join(DIR, "series", "exam")

  it.effect("several series: listed in details; describe opens the first by SeriesNumber instead of failing", () =>
    Effect.gen(function* () {
      const src = yield* openDicomSeries(exam, { describe: true })
      expect(src.chosen.number).toBe(2)
      expect(src.series.map((s) => [s.number, s.modality, s.description, s.slices, s.size])).toEqual([
        [2, "CT", "CT oblique", 12, "16×20"],
        [7, "MR", "MR T1", 5, "16×20"]
      ])
      expect(src.details["series 2"]).toMatch(/"CT oblique" CT, 12 slices of 16×20, UID .* \(read\)$/)
      expect(src.details["series 7"]).toMatch(/"MR T1" MR, 5 slices of 16×20, UID /)
      expect(String(src.details.series)).toContain("choose with --series")
    })
  )

  it.effect("describe skips a series that cannot be read, saying why; one SeriesNumber for two series needs the UID", () =>
    Effect.gen(function* () {
      const d = copyOf("series/uneven")
      for (const f of fs.readdirSync(nodePath.join(DIR, "series", "implicit"))) fs.copyFileSync(nodePath.join(DIR, "series", "implicit", f), nodePath.join(d, f))
      const src = yield* openDicomSeries(d, { describe: true })
      expect(src.info.shape).toEqual([4, 6, 7])
      expect(src.series).toHaveLength(2)
      const other = src.series.find((s) => s.uid !== src.chosen.uid)!
      const lines = Object.entries(src.details).filter(([k]) => /^series 1#[12]$/.test(k))
      expect(lines).toHaveLength(2)
      expect(lines.map(([, v]) => String(v)).find((v) => v.includes(other.uid))).toMatch(/\(cannot be read: unsupported: series 1: uneven slice spacing: steps of 2 to 4 mm/)
      const both = yield* Effect.flip(openDicomSeries(d, { series: "1" }))
      expect(both.message).toContain("2 DICOM series have SeriesNumber 1")
      expect(both.message).toContain("choose one by its SeriesInstanceUID")
      const byUid = yield* openDicomSeries(d, { series: src.chosen.uid })
      expect(byUid.info.shape).toEqual([4, 6, 7])
    })
  )

  it.effect("pydicom's MR2 (two pilots of mixed orientation and a localizer, all SeriesNumber 2): describe reads the localizer", () =>
    Effect.gen(function* () {
      const src = yield* openDicomSeries(nodePath.join(DIR, "real", "MR2"), { describe: true })
      expect(src.chosen.description).toBe("FAST LOCALIZER")
      expect(src.info.shape).toEqual([1, 16, 16])
      const notes = Object.values(src.details).map(String).filter((v) => v.includes("cannot be read"))
      expect(notes).toHaveLength(2)
      notes.forEach((n) => expect(n).toMatch(/ImageOrientationPatient .* differs from/))
    })
  )

  it.effect("without positions: InstanceNumber order and SliceThickness, said in details", () =>
    Effect.gen(function* () {
      const src = yield* openDicomSeries(nodePath.join(DIR, "series", "nopositions"))
      expect(src.details.order).toBe("by InstanceNumber (no ImagePositionPatient/ImageOrientationPatient); z spacing from SliceThickness")
      expect(src.info.spacing[0]).toBe(4)
    })
  )

  it.effect("rescale: CT slope 1 intercept −1024 over 12 stored bits is int16; rescale false gives the stored uint16", () =>
    Effect.gen(function* () {
      const hu = yield* openDicomSeries(exam, { series: "2" })
      expect(hu.info.dtype).toBe("int16")
      expect(hu.rescaled).toBe(true)
      expect(hu.details.rescale).toBe("slope 1, intercept -1024 → int16")
      const raw = yield* openDicomSeries(exam, { series: "2", rescale: false })
      expect(raw.info.dtype).toBe("uint16")
      const a = yield* readAll(hu)
      const b = yield* readAll(raw)
      const h = new Int16Array(a.bytes.buffer)
      const s = new Uint16Array(b.bytes.buffer)
      for (let i = 0; i < h.length; i++) if (h[i] !== s[i]! - 1024) throw new Error(`voxel ${i}: ${h[i]} ≠ ${s[i]} − 1024`)
      // Reading the stored values needs no scratch slice; rescaling does.
      expect(raw.readerBufferBytes).toBe(0)
      expect(hu.readerBufferBytes).toBe(16 * 20 * 2)
    })
  )

  it.effect("byte accounting: a slice costs its stored pixel bytes; a deflated file costs the whole file", () =>
    Effect.gen(function* () {
      // Opening reads the header, not the pixels: CT_small.dcm's 32 KiB of pixels follow 6.4 KB of header.
      const small = nodePath.join(DIR, "real", "CT_small.dcm")
      const head = yield* openDicomSeries(small)
      expect(head.details["header bytes read"]).toBeLessThanOrEqual(8192)
      expect(fs.statSync(small).size - head.sliceReadBytes(0)).toBeGreaterThan(6000)
      const ct = yield* openDicomSeries(exam, { series: "2" })
      up(12).forEach((z) => expect(ct.sliceReadBytes(z)).toBe(16 * 20 * 2))
      const dfl = yield* openDicomSeries(nodePath.join(DIR, "series", "deflated"))
      dfl.files.forEach((f, z) => expect(dfl.sliceReadBytes(z)).toBe(fs.statSync(f).size))
      const one = yield* readAll(ct, [5], true)
      expect(one.bytesRead).toBe(640)
    })
  )

  it.effect("openSource: a DICOM directory opens as DICOM with --series, a .dcm file as one slice", () =>
    Effect.gen(function* () {
      const src = yield* openSource(exam, { series: "7" })
      expect(src.format).toBe("dicom")
      expect(src.info.dtype).toBe("float32")
      expect(src.info.shape).toEqual([5, 16, 20])
      const e = yield* Effect.flip(openSource(exam))
      expect(e.message).toContain("--series")
      const one = yield* openSource(nodePath.join(DIR, "real", "CT_small.dcm"))
      expect(one.format).toBe("dicom")
      expect(one.info.shape).toEqual([1, 128, 128])
    })
  )

  it.effect("openSource: a directory without DICOM files stays a TIFF stack", () =>
    Effect.gen(function* () {
      const d = fs.mkdtempSync(nodePath.join(tmp, "plain-"))
      fs.writeFileSync(nodePath.join(d, "notes"), "x".repeat(200))
      const e = yield* Effect.flip(openSource(d))
      expect(e.message).toContain("holds no .tif or .tiff files")
      // …but the DICOM reader, asked directly, says there is no DICOM file.
      const f = yield* Effect.flip(openDicomSeries(d))
      expect(f.message).toContain("holds no DICOM file (1 other file(s))")
    })
  )

  it.effect("a directory with only a DICOMDIR is DICOM, and says it has no image files", () =>
    Effect.gen(function* () {
      const d = fs.mkdtempSync(nodePath.join(tmp, "dicomdir-"))
      fs.copyFileSync(nodePath.join(DIR, "series", "exam", "REPORT"), nodePath.join(d, "DICOMDIR"))
      const e = yield* Effect.flip(openSource(d))
      expect(e._tag).toBe("FormatError")
      expect(e.message).toContain("none with pixels")
    })
  )

  it.effect("a file truncated inside its PixelData: FormatError naming that file, at open", () =>
    Effect.gen(function* () {
      const d = copyOf("series/implicit")
      const victim = fs.readdirSync(d).sort()[2]!
      const file = nodePath.join(d, victim)
      fs.truncateSync(file, fs.statSync(file).size - 10)
      const e = yield* Effect.flip(openDicomSeries(d))
      expect(e._tag).toBe("FormatError")
      expect(e.message).toContain(file)
      expect(e.message).toContain("tag (7FE0,0010)")
      expect(e.message).toContain("10 bytes before the end of its PixelData")
    })
  )

  it.effect("a file truncated after the scan: the read of its slice fails naming it, nothing delivered as complete", () =>
    Effect.gen(function* () {
      const d = copyOf("series/implicit")
      const src = yield* openDicomSeries(d)
      const file = src.files[1]!
      fs.truncateSync(file, fs.statSync(file).size - 7)
      const e = yield* Effect.flip(readAll(src))
      expect(e._tag).toBe("FormatError")
      expect(e.message).toContain(file)
      expect(e.message).toContain("7 bytes before the end of its PixelData")
    })
  )

  it.effect("a file of another size in the series: FormatError naming it and the first file", () =>
    Effect.gen(function* () {
      const d = copyOf("series/exam")
      // Rows (0028,0010) of one CT file rewritten from 16 to 15: explicit VR LE "US", 2 bytes.
      const ct = yield* openDicomSeries(d, { series: "2" })
      const file = ct.files[3]!
      const bytes = fs.readFileSync(file)
      const at = bytes.indexOf(Buffer.from([0x28, 0x00, 0x10, 0x00, 0x55, 0x53, 0x02, 0x00, 0x10, 0x00]))
      expect(at).toBeGreaterThan(0)
      bytes[at + 8] = 15
      fs.writeFileSync(file, bytes)
      const e = yield* Effect.flip(openDicomSeries(d, { series: "2" }))
      expect(e._tag).toBe("FormatError")
      expect(e.message).toContain(file)
      expect(e.message).toMatch(/this file is 15×20 uint16 .*, IM\d+ is 16×20 uint16/)
    })
  )

  it.effect("RLE Lossless: a slice costs its encapsulated PixelData; a damaged frame is a FormatError naming the file", () =>
    Effect.gen(function* () {
      const d = copyOf("series/rle")
      const src = yield* openDicomSeries(d)
      expect(src.details.transferSyntax).toBe("RLE Lossless (1.2.840.10008.1.2.5)")
      src.files.forEach((f, z) => {
        const bytes = fs.readFileSync(f)
        // The value of (7FE0,0010) OB of undefined length starts 12 bytes after its tag.
        const at = bytes.lastIndexOf(Buffer.from([0xe0, 0x7f, 0x10, 0x00, 0x4f, 0x42, 0, 0, 0xff, 0xff, 0xff, 0xff]))
        expect(src.sliceReadBytes(z)).toBe(bytes.length - at - 12)
      })
      // The frame header's segment count (after the offset table item and the fragment's item header) set to 3.
      const file = src.files[2]!
      const bytes = fs.readFileSync(file)
      const at = bytes.lastIndexOf(Buffer.from([0xe0, 0x7f, 0x10, 0x00, 0x4f, 0x42, 0, 0, 0xff, 0xff, 0xff, 0xff]))
      const bot = bytes.readUInt32LE(at + 12 + 4)
      const frame = at + 12 + 8 + bot + 8
      expect(bytes.readUInt32LE(frame)).toBe(2)
      bytes.writeUInt32LE(3, frame)
      fs.writeFileSync(file, bytes)
      const e = yield* Effect.flip(readAll(src))
      expect(e._tag).toBe("FormatError")
      expect(e.message).toBe(`${file}: tag (7FE0,0010): RLE: 3 segments, 2 expected for one sample of 16 bits`)
    })
  )

  it.effect("PixelData without Rows: FormatError naming the file and the missing attributes", () =>
    Effect.gen(function* () {
      const d = fs.mkdtempSync(nodePath.join(tmp, "norows-"))
      const file = nodePath.join(d, "IM1")
      // Preamble, DICM, the transfer syntax (explicit VR LE), then PixelData alone (OW, 4 bytes).
      const ts = Buffer.from("1.2.840.10008.1.2.1\0")
      const meta = Buffer.concat([Buffer.from([2, 0, 0x10, 0]), Buffer.from("UI"), Buffer.from([ts.length, 0]), ts])
      const pixels = Buffer.concat([Buffer.from([0xe0, 0x7f, 0x10, 0]), Buffer.from("OW"), Buffer.from([0, 0, 4, 0, 0, 0, 1, 2, 3, 4])])
      fs.writeFileSync(file, Buffer.concat([Buffer.alloc(128), Buffer.from("DICM"), meta, pixels]))
      const e = yield* Effect.flip(openSource(d))
      expect(e.message).toBe(`${file}: tag (0028,0010): it has PixelData but no Rows (0028,0010), Columns (0028,0011), BitsAllocated (0028,0100)`)
    })
  )

  it.effect("non-DICOM files beside a series are ignored and counted", () =>
    Effect.gen(function* () {
      const d = copyOf("series/deflated")
      fs.writeFileSync(nodePath.join(d, "thumbs.db"), Buffer.alloc(300, 7))
      const src = yield* openDicomSeries(d)
      expect(src.info.shape[0]).toBe(3)
      expect(src.details["ignored other files"]).toBe(1)
    })
  )
})
