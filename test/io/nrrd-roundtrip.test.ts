import * as fs from "node:fs"
import * as nodePath from "node:path"
import { afterEach, beforeEach, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as fc from "fast-check"
import { bytesPerVoxel, DTYPES, type DType } from "../../src/algebra/dtype.js"
import { volumeBytes, volumeInfo, type Shape, type Spacing } from "../../src/algebra/volume.js"
import { nrrdSink, openNrrd } from "../../src/io/nrrd.js"
import { makeTempDir, pseudoRandomBytes, readVolume, removeDir, swapped, writeVolume } from "./nrrd-helpers.js"

let dir = ""
beforeEach(() => {
  dir = makeTempDir()
})
afterEach(() => removeDir(dir))

const shuffle = (n: number, seed: number): Array<number> => {
  const zs = Array.from({ length: n }, (_, z) => z)
  const r = pseudoRandomBytes(n * 4, seed)
  for (let i = n - 1; i > 0; i--) {
    const j = (r[i * 4]! | (r[i * 4 + 1]! << 8) | (r[i * 4 + 2]! << 16)) % (i + 1)
    ;[zs[i], zs[j]] = [zs[j]!, zs[i]!]
  }
  return zs
}

/** Writes with nrrdSink, reads back with openNrrd, and checks bytes, counters and metadata. */
const roundTrip = (name: string, dtype: DType, shape: Shape, spacing: Spacing, endian: "little" | "big", seed: number) =>
  Effect.gen(function* () {
    const info = volumeInfo(dtype, shape, spacing)
    const volume = pseudoRandomBytes(volumeBytes(info), seed)
    const path = nodePath.join(dir, name)
    const sink = nrrdSink(path, { endian })
    const written = yield* writeVolume(sink, info, volume, shuffle(shape[0], seed + 1))
    expect(written).toBe(sink.outputBytes(info))

    // Exactly the files the sink promised, of exactly the promised total size, no temporaries.
    const files = fs.readdirSync(dir).sort()
    const detached = name.endsWith(".nhdr")
    expect(files).toEqual(detached ? [name.replace(/\.nhdr$/, ".raw"), name].sort() : [name])
    const total = files.reduce((s, f) => s + fs.statSync(nodePath.join(dir, f)).size, 0)
    expect(total).toBe(sink.outputBytes(info))

    // The data on disk are in the requested byte order.
    const dataPath = detached ? path.replace(/\.nhdr$/, ".raw") : path
    const onDisk = new Uint8Array(fs.readFileSync(dataPath)).subarray(fs.statSync(dataPath).size - volume.length)
    expect(Buffer.from(onDisk).equals(Buffer.from(endian === "little" ? volume : swapped(volume, bytesPerVoxel(dtype))))).toBe(true)

    const src = yield* openNrrd(path)
    expect(src.info.dtype).toBe(dtype)
    expect(src.info.shape).toEqual(shape)
    expect(src.info.spacing).toEqual(spacing)
    expect(src.format).toBe("nrrd")
    const back = yield* readVolume(src, shuffle(shape[0], seed + 2))
    expect(Buffer.from(back.bytes).equals(Buffer.from(volume))).toBe(true)
    expect(back.bytesRead).toBe(volume.length)
  })

describe("nrrd round trip", () => {
  for (const dtype of DTYPES)
    for (const endian of ["little", "big"] as const)
      for (const ext of [".nrrd", ".nhdr"])
        it.effect(`${dtype} ${endian}-endian ${ext}`, () =>
          roundTrip(`vol${ext}`, dtype, [5, 3, 7], [2.5, 0.5, 0.125], endian, 17 + DTYPES.indexOf(dtype))
        )

  it.effect("depth 1", () => roundTrip("flat.nrrd", "uint16", [1, 4, 3], [1, 0.3, 0.7], "big", 3))
  it.effect("a single voxel", () => roundTrip("one.nhdr", "float64", [1, 1, 1], [1, 1, 1], "little", 4))
  it.effect("odd sizes and spacings that are not short decimals", () =>
    roundTrip("odd.nrrd", "float32", [3, 11, 13], [1 / 3, Math.PI, 1e-7], "big", 5)
  )

  it.effect("overwrites an existing output only at commit", () =>
    Effect.gen(function* () {
      const info = volumeInfo("uint8", [2, 2, 2])
      const path = nodePath.join(dir, "v.nrrd")
      fs.writeFileSync(path, "old")
      yield* writeVolume(nrrdSink(path), info, new Uint8Array(8).fill(7))
      const back = yield* readVolume(yield* openNrrd(path))
      expect([...back.bytes]).toEqual(new Array(8).fill(7))
    })
  )

  it("property: any dtype, shape, spacing, endianness, layout and write order", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...DTYPES),
        fc.tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 6 })),
        fc.tuple(
          fc.double({ min: 1e-3, max: 1e3, noNaN: true }),
          fc.double({ min: 1e-3, max: 1e3, noNaN: true }),
          fc.double({ min: 1e-3, max: 1e3, noNaN: true })
        ),
        fc.constantFrom("little" as const, "big" as const),
        fc.constantFrom(".nrrd", ".nhdr"),
        fc.integer({ min: 1, max: 1 << 30 }),
        async (dtype, shape, spacing, endian, ext, seed) => {
          const sub = fs.mkdtempSync(nodePath.join(dir, "p-"))
          const info = volumeInfo(dtype, shape, spacing)
          const volume = pseudoRandomBytes(volumeBytes(info), seed)
          const path = nodePath.join(sub, `v${ext}`)
          await Effect.runPromise(
            Effect.gen(function* () {
              const sink = nrrdSink(path, { endian })
              expect(yield* writeVolume(sink, info, volume, shuffle(shape[0], seed))).toBe(sink.outputBytes(info))
              const src = yield* openNrrd(path)
              expect(src.info).toEqual(info)
              const back = yield* readVolume(src)
              expect(Buffer.from(back.bytes).equals(Buffer.from(volume))).toBe(true)
            })
          )
        }
      ),
      { numRuns: 60 }
    )
  })
})
