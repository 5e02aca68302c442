/**
 * Agreement with Teem, the reference NRRD implementation.
 *
 * 1. Fixtures made by Teem's `unu` (scripts/fixtures/make_nrrd_fixtures.py, committed under
 *    test/fixtures/nrrd/) read as the values the script put in them (raw, gzip and bzip2 data;
 *    the values come from the script's Python, the encoding from unu). This runs everywhere.
 * 2. When `unu` is installed (Debian: teem-apps, as `teem-unu`), unu reads what our writer
 *    writes, every dtype, both byte orders, attached and detached. Skipped where it is not.
 */
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as nodePath from "node:path"
import { fileURLToPath } from "node:url"
import { afterEach, beforeEach, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { bytesPerVoxel, DTYPES, type DType } from "../../src/algebra/dtype.js"
import { volumeBytes, volumeInfo } from "../../src/algebra/volume.js"
import { nrrdSink, openNrrd } from "../../src/io/nrrd.js"
import { makeTempDir, pseudoRandomBytes, readVolume, removeDir, writeVolume } from "./nrrd-helpers.js"

const FIXTURES = nodePath.join(nodePath.dirname(fileURLToPath(import.meta.url)), "..", "fixtures", "nrrd")

interface Fixture {
  readonly file: string
  readonly dtype?: DType
  readonly shape?: [number, number, number]
  readonly spacing?: [number, number, number]
  readonly expected?: string
  readonly error?: string
  readonly reason?: string
  /** gzip fixtures: the compressed bytes of the data, what a pass reads. */
  readonly stored_bytes?: number
}

const manifest = JSON.parse(fs.readFileSync(nodePath.join(FIXTURES, "manifest.json"), "utf8")) as {
  readonly fixtures: ReadonlyArray<Fixture>
}

describe("NRRD files made by Teem's unu", () => {
  it.effect("space, directions and origin become the geometry", () =>
    Effect.gen(function* () {
      const ras = yield* openNrrd(nodePath.join(FIXTURES, "f32-ras.nrrd"))
      expect(ras.info.geometry).toEqual({ space: "RAS", origin: [1, 2, 3], direction: [[1, 0, 0], [0, 1, 0], [0, 0, 1]] })
      // A stub axis first: the image axes are 1…3, mirrored in x and y.
      const lps = yield* openNrrd(nodePath.join(FIXTURES, "u16-stub.nrrd"))
      expect(lps.info.spacing).toEqual([3, 1.5, 1])
      expect(lps.info.geometry).toMatchObject({ space: "LPS", direction: [[-1, 0, 0], [0, -1, 0], [0, 0, 1]] })
    })
  )

  it("the manifest covers readable and refused files", () => {
    expect(manifest.fixtures.filter((f) => f.expected).length).toBeGreaterThanOrEqual(12)
    expect(manifest.fixtures.filter((f) => f.error).length).toBeGreaterThanOrEqual(3)
  })

  it.effect("Teem's bzip2.nrrd (unu save -e bzip2) is read, not refused: a bzip2 source with its voxels", () =>
    Effect.gen(function* () {
      const f = manifest.fixtures.find((m) => m.file === "bzip2.nrrd")!
      expect(f.expected).toBe("bzip2.nrrd.expected.bin")
      const src = yield* openNrrd(nodePath.join(FIXTURES, f.file))
      expect(src.format).toBe("nrrd-bz2")
      expect(src.details.encoding).toBe("bzip2")
      // The whole compressed stream, split over the slices of a forward pass.
      expect(src.sliceReadBytes(0) + src.sliceReadBytes(1)).toBe(f.stored_bytes)
      const { bytes } = yield* readVolume(src)
      const expected = new Int16Array(new Uint8Array(fs.readFileSync(nodePath.join(FIXTURES, f.expected!))).buffer)
      expect(expected.length).toBe(30)
      expect(Array.from(new Int16Array(bytes.buffer))).toEqual(Array.from(expected))
    })
  )

  for (const f of manifest.fixtures) {
    if (f.expected)
      it.effect(`${f.file} reads as ${f.dtype} ${f.shape!.join("×")}`, () =>
        Effect.gen(function* () {
          const src = yield* openNrrd(nodePath.join(FIXTURES, f.file))
          const { dtype, shape, spacing } = src.info
          expect({ dtype, shape, spacing }).toEqual({ dtype: f.dtype, shape: f.shape, spacing: f.spacing })
          const { bytes, bytesRead } = yield* readVolume(src)
          const expected = fs.readFileSync(nodePath.join(FIXTURES, f.expected!))
          expect(Buffer.from(bytes).equals(expected)).toBe(true)
          expect(bytesRead).toBe(f.stored_bytes ?? expected.length)
          if (f.stored_bytes !== undefined) {
            // A backward pass reads the stream once too (into a raw copy), and the same voxels.
            const back = yield* readVolume(src, Array.from({ length: f.shape![0] }, (_, i) => f.shape![0] - 1 - i), false)
            expect(Buffer.from(back.bytes).equals(expected)).toBe(true)
            expect(back.bytesRead).toBe(f.stored_bytes)
          }
        })
      )
    else
      it.effect(`${f.file} is refused (${f.reason})`, () =>
        Effect.gen(function* () {
          const e = yield* Effect.flip(openNrrd(nodePath.join(FIXTURES, f.file)))
          expect(e._tag).toBe(f.error)
        })
      )
  }
})

const findUnu = (): string | undefined => {
  for (const name of ["unu", "teem-unu"]) {
    try {
      execFileSync(name, ["about"], { stdio: "ignore" })
      return name
    } catch {
      // not installed under this name
    }
  }
  return undefined
}
const UNU = findUnu()

describe.skipIf(UNU === undefined)("unu reads what nrrdSink writes", () => {
  let dir = ""
  beforeEach(() => {
    dir = makeTempDir()
  })
  afterEach(() => removeDir(dir))

  const unu = (...args: ReadonlyArray<string>): string =>
    execFileSync(UNU!, args, { cwd: dir, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] })

  for (const dtype of DTYPES)
    for (const endian of ["little", "big"] as const)
      for (const ext of [".nrrd", ".nhdr"])
        it.effect(`${dtype} ${endian} ${ext}`, () =>
          Effect.gen(function* () {
            const info = volumeInfo(dtype, [3, 4, 5], [2.5, 0.75, 0.5])
            const volume = pseudoRandomBytes(volumeBytes(info), 99 + DTYPES.indexOf(dtype))
            const ours = nodePath.join(dir, `ours${ext}`)
            yield* writeVolume(nrrdSink(ours, { endian }), info, volume, [2, 0, 1])

            // unu parses our header: sizes x y z, our byte order, our spacing as space directions.
            const head = unu("head", ours)
            expect(head).toMatch(/^sizes: 5 4 3$/m)
            expect(head).toMatch(/^space directions: \(0\.5,0,0\) \(0,0\.75,0\) \(0,0,2\.5\)$/m)
            if (bytesPerVoxel(dtype) > 1) expect(head).toMatch(new RegExp(`^endian: ${endian}$`, "m"))
            // … and decodes our data to the same values (re-saved little-endian, detached).
            unu("save", "-i", ours, "-f", "nrrd", "-e", "raw", "-en", "little", "-o", "theirs.nhdr")
            expect(Buffer.from(volume).equals(fs.readFileSync(nodePath.join(dir, "theirs.raw")))).toBe(true)
          })
        )

  it.effect("unu's minmax agrees on a float volume we wrote big-endian", () =>
    Effect.gen(function* () {
      const info = volumeInfo("float32", [2, 2, 2])
      const values = new Float32Array([-3.5, 1, 2, 0.25, 7.75, -1, 0, 4])
      yield* writeVolume(nrrdSink(nodePath.join(dir, "f.nrrd"), { endian: "big" }), info, new Uint8Array(values.buffer))
      const out = unu("minmax", nodePath.join(dir, "f.nrrd"))
      expect(out).toMatch(/min: -3\.5/)
      expect(out).toMatch(/max: 7\.75/)
    })
  )
})
