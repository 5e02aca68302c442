/** NIfTI written by slicewise: header fields as the standard says, voxels back identical, atomic. */
import * as fs from "node:fs"
import * as os from "node:os"
import * as nodePath from "node:path"
import * as zlib from "node:zlib"
import { afterEach, beforeEach, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { allocSlice, bytesPerVoxel, DTYPES, type DType } from "../../src/algebra/dtype.js"
import { IDENTITY_DIRECTION } from "../../src/algebra/geometry.js"
import { sliceLength, volumeBytes, volumeInfo, type VolumeInfo } from "../../src/algebra/volume.js"
import { niftiSink, openNifti } from "../../src/io/nifti.js"
import { writeAll } from "../support/volume-io.js"

let dir = ""
beforeEach(() => {
  dir = fs.mkdtempSync(nodePath.join(os.tmpdir(), "slicewise-nifti-"))
})
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }))
const at = (name: string) => nodePath.join(dir, name)

/** Deterministic voxel bytes for `info` (valid for every dtype: floats from small integers). */
const volumeOf = (info: VolumeInfo): Uint8Array => {
  const n = info.shape[0] * sliceLength(info)
  const a = allocSlice(info.dtype, n) as unknown as { [i: number]: number }
  for (let i = 0; i < n; i++) a[i] = ((i * 37 + 11) % 251) - (info.dtype.startsWith("u") ? 0 : 120)
  return new Uint8Array((a as unknown as Uint8Array).buffer)
}

const readBack = (path: string) =>
  Effect.gen(function* () {
    const src = yield* openNifti(path)
    return yield* Effect.scoped(
      Effect.gen(function* () {
        const r = yield* src.open
        const sb = sliceLength(src.info) * bytesPerVoxel(src.info.dtype)
        const out = new Uint8Array(sb * src.info.shape[0])
        const s = allocSlice(src.info.dtype, sliceLength(src.info))
        for (let z = 0; z < src.info.shape[0]; z++) {
          yield* r.read(z, s)
          out.set(new Uint8Array(s.buffer), z * sb)
        }
        return { src, bytes: out }
      })
    )
  })

const up = (n: number) => Array.from({ length: n }, (_, z) => z)

describe("nifti writer", () => {
  for (const dtype of DTYPES) {
    for (const ext of [".nii", ".nii.gz"]) {
      it.effect(`${dtype}${ext}: header fields and voxels; backward order`, () =>
        Effect.gen(function* () {
          const info = volumeInfo(dtype as DType, [4, 3, 5], [2, 0.75, 0.5], {
            unit: "mm",
            space: "RAS",
            origin: [-10, 20, 30.5],
            direction: IDENTITY_DIRECTION
          })
          const bytes = volumeOf(info)
          const path = at(`v-${dtype}${ext}`)
          const sink = niftiSink(path)
          const written = yield* writeAll(sink, info, bytes, up(4).reverse())
          const file = fs.readFileSync(path)
          expect(written).toBe(file.length)
          const raw = ext === ".nii" ? file : zlib.gunzipSync(file)
          if (ext === ".nii") expect(file.length).toBe(sink.outputBytes(info))
          expect(raw.length).toBe(352 + volumeBytes(info))
          const dv = new DataView(raw.buffer, raw.byteOffset, raw.length)
          expect(dv.getInt32(0, true)).toBe(348)
          expect([0, 1, 2, 3].map((i) => dv.getInt16(40 + 2 * i, true))).toEqual([3, 5, 3, 4])
          expect(dv.getInt16(72, true)).toBe(8 * bytesPerVoxel(dtype as DType))
          expect([1, 2, 3].map((i) => dv.getFloat32(76 + 4 * i, true))).toEqual([0.5, 0.75, 2])
          expect(dv.getFloat32(108, true)).toBe(352)
          expect(raw.subarray(344, 348).toString("latin1")).toBe("n+1\0")
          expect([0, 1, 2, 3].map((i) => raw[348 + i])).toEqual([0, 0, 0, 0])
          expect(Buffer.from(raw.subarray(352)).equals(Buffer.from(bytes))).toBe(true)
          const back = yield* readBack(path)
          expect(back.src.info).toEqual(info)
          expect(Buffer.from(back.bytes).equals(Buffer.from(bytes))).toBe(true)
        })
      )
    }
  }

  it.effect("keeps a template's sform, qform and description", () =>
    Effect.gen(function* () {
      const src = yield* openNifti(nodePath.join(__dirname, "..", "fixtures", "nifti", "be-int16.nii"))
      const { bytes } = yield* readBack(src.path)
      for (const ext of [".nii", ".nii.gz"]) {
        const path = at(`kept${ext}`)
        yield* writeAll(niftiSink(path, { template: src.niftiHeader }), src.info, bytes, up(src.info.shape[0]))
        const back = yield* readBack(path)
        expect(back.src.details.sform).toBe(src.details.sform)
        expect(back.src.details.qform).toBe(src.details.qform)
        expect(back.src.details.endian).toBe("little")
        expect(Buffer.from(back.bytes).equals(Buffer.from(bytes))).toBe(true)
      }
    })
  )

  it.effect("rows in any order make a whole .nii", () =>
    Effect.gen(function* () {
      const info = volumeInfo("uint16", [2, 4, 3])
      const bytes = volumeOf(info)
      const path = at("rows.nii")
      const sink = niftiSink(path)
      expect(sink.writesRows).toBe(true)
      yield* Effect.scoped(
        Effect.gen(function* () {
          const w = yield* sink.create(info)
          for (const z of [1, 0])
            for (const [a, b] of [[2, 4], [0, 2]] as const) {
              const s = new Uint16Array((b - a) * 3)
              new Uint8Array(s.buffer).set(bytes.subarray((z * 12 + a * 3) * 2, (z * 12 + b * 3) * 2))
              yield* w.writeRows!(z, { start: a, end: b }, s)
            }
          yield* w.commit
        })
      )
      expect(Buffer.from(fs.readFileSync(path).subarray(352)).equals(Buffer.from(bytes))).toBe(true)
    })
  )

  for (const ext of [".nii", ".nii.gz"]) {
    it.effect(`${ext}: nothing appears without commit; a commit with missing slices fails`, () =>
      Effect.gen(function* () {
        const info = volumeInfo("uint8", [3, 2, 2])
        const path = at(`x${ext}`)
        yield* writeAll(niftiSink(path), info, volumeOf(info), [0, 2], false)
        expect(fs.readdirSync(dir)).toEqual([])
        const exit = yield* Effect.exit(writeAll(niftiSink(path), info, volumeOf(info), [2, 0]))
        expect(Exit.isFailure(exit)).toBe(true)
        if (Exit.isFailure(exit)) expect(String(exit.cause)).toContain("slice 1")
        expect(fs.readdirSync(dir)).toEqual([])
      })
    )
  }
})
