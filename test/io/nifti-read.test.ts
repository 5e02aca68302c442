/** NIfTI-1 files written by nibabel read voxel-identical; bad files give their typed errors. */
import * as fs from "node:fs"
import * as nodePath from "node:path"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { allocSlice } from "../../src/algebra/dtype.js"
import { openNifti } from "../../src/io/nifti.js"
import { predicted, readAll, up } from "../support/volume-io.js"

const DIR = nodePath.join(__dirname, "..", "fixtures", "nifti")
interface Entry {
  readonly name: string
  readonly dtype?: string
  readonly shape?: [number, number, number]
  readonly spacing?: [number, number, number]
  readonly sform?: ReadonlyArray<ReadonlyArray<number>>
  readonly sform_code?: number
  readonly slope?: number
  readonly inter?: number
  readonly error?: string
  readonly position?: string | null
  readonly contains?: string | null
}
const manifest: ReadonlyArray<Entry> = JSON.parse(fs.readFileSync(nodePath.join(DIR, "manifest.json"), "utf8"))
const good = manifest.filter((e) => e.error === undefined)
const bad = manifest.filter((e) => e.error !== undefined)

const total = predicted

describe("nifti: nibabel fixtures", () => {
  for (const e of good) {
    it.effect(`${e.name}: voxels, shape, spacing, sform; forward and backward`, () =>
      Effect.gen(function* () {
        const path = nodePath.join(DIR, e.name)
        const src = yield* openNifti(path)
        expect(src.info.dtype).toBe(e.dtype)
        expect(src.info.shape).toEqual(e.shape)
        src.info.spacing.forEach((s, i) => expect(s).toBeCloseTo(e.spacing![i]!, 6))
        const expected = new Uint8Array(fs.readFileSync(`${path}.expected.bin`))
        const fwd = yield* readAll(src, up(src.info.shape[0]), true)
        expect(Buffer.from(fwd.bytes).equals(Buffer.from(expected))).toBe(true)
        expect(fwd.bytesRead).toBe(total(src))
        const back = yield* readAll(src, up(src.info.shape[0]).reverse(), !e.name.endsWith(".gz"))
        expect(Buffer.from(back.bytes).equals(Buffer.from(expected))).toBe(true)
        expect(back.bytesRead).toBe(total(src))
        if (e.name.endsWith(".gz")) expect(total(src)).toBe(fs.statSync(path).size)
        // The sform as nibabel sees it, from the details text.
        const sform = String(src.details.sform)
        expect(sform.startsWith(String(e.sform_code))).toBe(true)
        const numbers = [...sform.matchAll(/\[([^\]]*)\]/g)].map((m) => m[1]!.split(" ").map(Number))
        numbers.forEach((row, i) => row.forEach((v, j) => expect(v).toBeCloseTo(e.sform![i]![j]!, 5)))
      })
    )
  }

  for (const e of good.filter((g) => g.slope !== undefined)) {
    it.effect(`${e.name}: scaled voxels equal nibabel's get_fdata`, () =>
      Effect.gen(function* () {
        const path = nodePath.join(DIR, e.name)
        const src = yield* openNifti(path, { scale: true })
        expect(src.scaled).toBe(true)
        expect(src.info.dtype).toBe("float32")
        const { bytes } = yield* readAll(src, up(src.info.shape[0]), true)
        const ours = new Float32Array(bytes.buffer, 0, bytes.length / 4)
        const buf = fs.readFileSync(`${path}.scaled.bin`)
        const theirs = new Float64Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length))
        expect(ours.length).toBe(theirs.length)
        for (let i = 0; i < ours.length; i++) expect(ours[i]).toBe(Math.fround(theirs[i]!))
      })
    )
  }

  it.effect("rows of an uncompressed file", () =>
    Effect.gen(function* () {
      const path = nodePath.join(DIR, "float64.nii")
      const src = yield* openNifti(path)
      const expected = fs.readFileSync(`${path}.expected.bin`)
      const [, ny, nx] = src.info.shape
      yield* Effect.scoped(
        Effect.gen(function* () {
          const r = yield* src.open
          const rows = { start: 1, end: 3 }
          const into = allocSlice(src.info.dtype, 2 * nx)
          yield* r.readRows!(2, rows, into)
          expect(r.bytesRead()).toBe(src.rowReadBytes!(2, rows))
          const off = (2 * ny + 1) * nx * 8
          expect(Buffer.from(into.buffer).equals(expected.subarray(off, off + 2 * nx * 8))).toBe(true)
        })
      )
    })
  )

  it.effect("4D: the second volume on request, an out-of-range one refused", () =>
    Effect.gen(function* () {
      const path = nodePath.join(DIR, "4d.nii.gz")
      const first = yield* openNifti(path)
      expect(String(first.details.volumes)).toContain("2")
      const second = yield* openNifti(path, { volume: 1 })
      const a = yield* readAll(first, [0, 1], true)
      const b = yield* readAll(second, [0, 1], false)
      expect(Buffer.from(a.bytes).equals(Buffer.from(b.bytes))).toBe(false)
      const e = yield* Effect.flip(openNifti(path, { volume: 2 }))
      expect(e._tag).toBe("UnsupportedError")
    })
  )

  it.effect("random order over .nii.gz reads the file at most twice", () =>
    Effect.gen(function* () {
      const path = nodePath.join(DIR, "blocks-uint8.nii.gz")
      const src = yield* openNifti(path)
      const expected = fs.readFileSync(`${path}.expected.bin`)
      const first = [0, 1, 2, 30, 3, 39, 38, 5, 4]
      const order = [...first, ...up(40).filter((z) => !first.includes(z))]
      const { bytes, bytesRead } = yield* readAll(src, order, false)
      expect(Buffer.from(bytes).equals(expected)).toBe(true)
      expect(bytesRead).toBeLessThanOrEqual(2 * fs.statSync(path).size)
      // Each slice of this file costs a different number of compressed bytes, in whole 64 KiB blocks.
      expect(new Set(up(40).map((z) => src.sliceReadBytes(z))).size).toBeGreaterThan(1)
    })
  )
})

describe("nifti: bad input", () => {
  for (const e of bad) {
    it.effect(`${e.name}: ${e.error}${e.position ? ` at ${e.position}` : ""}`, () =>
      Effect.gen(function* () {
        const path = nodePath.join(DIR, e.name)
        const err = yield* Effect.flip(openNifti(path))
        expect(err._tag).toBe(e.error)
        expect((err as { path: string }).path).toBe(path)
        if (e.position) expect((err as { position: string }).position).toBe(e.position)
        if (e.contains) expect(err.message).toContain(e.contains)
        if (err._tag === "FormatError") expect(err.position).toMatch(/byte|field/)
      })
    )
  }
})
