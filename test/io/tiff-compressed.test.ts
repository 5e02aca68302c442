/**
 * TIFF output with deflate and LZW strips: slicewise's LZW encoder decoded by geotiff's decoder
 * (the one slicewise's reader uses), the predictors undone by the reader's own code, and files
 * and stacks of every dtype read back by slicewise voxel for voxel, with the Compression and
 * Predictor tags, the ImageJ description and the spacing as the uncompressed writer writes them.
 * Peers (tifffile, Pillow, libtiff's tiffinfo) are checked by scripts/peers/check_compressed_outputs.py.
 */
import * as fs from "node:fs"
import * as nodePath from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { getDecoder } from "geotiff"
import * as Effect from "effect/Effect"
import { DTYPES, type DType } from "../../src/algebra/dtype.js"
import { openTiffFile, openTiffStack } from "../../src/io/tiff/reader.js"
import { tiffFileSink, tiffStackSink } from "../../src/io/tiff/writer.js"
import { LzwEncoder, lzwBound } from "../../src/io/tiff/lzw.js"
import { applyFloatPredictor, applyHorizontalPredictor } from "../../src/io/tiff/compressed.js"
import { undoFloatPredictor, undoHorizontalPredictor } from "../../src/io/tiff/bytes.js"
import { concatSlices, equalBytes, failure, info, makeSlices, partials, readVolume, removeTempDirs, run, sizeOnDisk, tempDir, writeVolume } from "./tiff-helpers.js"

afterAll(removeTempDirs)

const xorshift = (seed: number) => {
  let s = seed >>> 0 || 1
  return () => {
    s ^= s << 13
    s ^= s >>> 17
    s ^= s << 5
    return s >>> 0
  }
}

const lzwDecode = async (bytes: Uint8Array): Promise<Uint8Array> => {
  const decoder = await getDecoder(5, { tileWidth: 1, tileHeight: 1, predictor: 1, bitsPerSample: 8, planarConfiguration: 1 } as never)
  return new Uint8Array(await decoder.decodeBlock(bytes.slice().buffer))
}

describe("LZW encoder", () => {
  const cases: Array<[string, number, (i: number, r: () => number) => number]> = [
    ["empty", 0, () => 0],
    ["one byte", 1, () => 7],
    ["random bytes (the table fills and clears many times)", 200_000, (_, r) => r() & 255],
    ["zeros (long strings, few codes)", 300_000, () => 0],
    ["a ramp", 100_000, (i) => (i >> 2) & 255],
    ["four symbols (the table fills at every width)", 65_536, (_, r) => r() & 3],
    ["exactly at the width changes", 254 + 253, (i) => i & 1]
  ]
  const encoder = new LzwEncoder()
  for (const [name, n, f] of cases)
    it(`round-trips through geotiff's decoder: ${name}`, async () => {
      const r = xorshift(n + 1)
      const input = new Uint8Array(n)
      for (let i = 0; i < n; i++) input[i] = f(i, r)
      const out = new Uint8Array(lzwBound(n) + 5)
      const written = encoder.encode(input, out, 5)
      expect(written).toBeLessThanOrEqual(lzwBound(n))
      // Starts with ClearCode (256 in 9 bits: 1000 0000 0...).
      expect(out[5]).toBe(0x80)
      expect(equalBytes(await lzwDecode(out.subarray(5, 5 + written)), input)).toBe(true)
    })

  it("reuses its table across strips", async () => {
    const r = xorshift(9)
    for (let k = 0; k < 3; k++) {
      const input = new Uint8Array(10_000).map(() => r() & 15)
      const out = new Uint8Array(lzwBound(input.length))
      const n = encoder.encode(input, out, 0)
      expect(equalBytes(await lzwDecode(out.subarray(0, n)), input)).toBe(true)
    }
  })
})

describe("predictors are the reader's inverses", () => {
  for (const bps of [1, 2, 4])
    it(`horizontal differencing, ${bps}-byte samples`, () => {
      const r = xorshift(bps)
      const original = new Uint8Array(3 * 17 * bps).map(() => r() & 255)
      const work = original.slice()
      applyHorizontalPredictor(work, 17, 3, bps)
      expect(equalBytes(work, original)).toBe(false)
      undoHorizontalPredictor(work, 17, 3, bps)
      expect(equalBytes(work, original)).toBe(true)
    })
  for (const bps of [4, 8])
    it(`floating point, ${bps}-byte samples`, () => {
      const r = xorshift(bps + 10)
      const original = new Uint8Array(4 * 9 * bps).map(() => r() & 255)
      const work = new Uint8Array(original.length)
      applyFloatPredictor(original, work, 9, 4, bps)
      undoFloatPredictor(work, 9, 4, bps, new Uint8Array(9 * bps))
      expect(equalBytes(work, original)).toBe(true)
    })
})

describe("compressed TIFF output", () => {
  for (const compression of ["deflate", "lzw"] as const)
    for (const dtype of DTYPES)
      it(`${compression} ${dtype}: file and stack, written in any order, read back by slicewise`, async () => {
        const dir = tempDir()
        const vol = info(dtype as DType, [5, 37, 29], [2.5, 0.5, 0.25])
        const slices = makeSlices(dtype as DType, vol.shape, 3)
        const expected = concatSlices(slices)
        const file = nodePath.join(dir, "v.tif")
        const sink = tiffFileSink(file, { compression, stripBytes: 500 })
        expect(sink.outputBytesExact).toBe(false)
        expect(sink.writesRows).toBeFalsy()
        const written = await writeVolume(sink, vol, slices, [4, 0, 2, 1, 3])
        expect(written).toBe(fs.statSync(file).size)
        const src = await run(openTiffFile(file))
        expect(src.info).toEqual(vol)
        expect(src.details.compression).toBe(compression)
        expect(src.details.predictor).toBe(dtype.startsWith("float") ? 3 : 2)
        const back = await readVolume(src)
        expect(equalBytes(back.bytes, expected)).toBe(true)
        // The description (and so ImageJ's z spacing) is the one the uncompressed writer writes.
        const head = fs.readFileSync(file, "latin1")
        expect(head).toContain("ImageJ=1.11a\nimages=5\nslices=5\nspacing=2.5\n")

        const stack = nodePath.join(dir, "s")
        const stackSink = tiffStackSink(stack, { compression, ...(compression === "deflate" ? { level: 1 } : {}) })
        const stackWritten = await writeVolume(stackSink, vol, slices)
        expect(stackWritten).toBe(sizeOnDisk(stack))
        const fromStack = await readVolume(await run(openTiffStack(stack)))
        expect(equalBytes(fromStack.bytes, expected)).toBe(true)
        expect(partials(dir)).toEqual([])
      })

  it("compresses what compresses (a smooth uint16 volume) and BigTIFF when asked", async () => {
    const dir = tempDir()
    const vol = info("uint16", [3, 64, 256])
    const slice = () => {
      const a = new Uint16Array(64 * 256)
      for (let i = 0; i < a.length; i++) a[i] = 1000 + (i % 256) * 3 + (i >> 8)
      return a
    }
    const slices = [slice(), slice(), slice()]
    for (const compression of ["deflate", "lzw"] as const) {
      const file = nodePath.join(dir, `${compression}.tif`)
      await writeVolume(tiffFileSink(file, { compression, bigtiff: true }), vol, slices)
      expect(fs.statSync(file).size).toBeLessThan(vol.shape[0] * 64 * 256 * 2 * 0.1)
      expect(fs.readFileSync(file).subarray(0, 4)).toEqual(Buffer.from([0x49, 0x49, 43, 0]))
      const back = await readVolume(await run(openTiffFile(file)))
      expect(equalBytes(back.bytes, concatSlices(slices))).toBe(true)
    }
  })

  it("refuses a level for LZW and a deflate level outside 1…9, leaving nothing", async () => {
    const dir = tempDir()
    const vol = info("uint8", [1, 2, 2])
    const create = (name: string, options: Parameters<typeof tiffFileSink>[1]) =>
      failure(Effect.scoped(tiffFileSink(nodePath.join(dir, name), options).create(vol)))
    expect(String(await create("a.tif", { compression: "lzw", level: 5 }))).toContain("LZW has no level")
    expect(String(await create("b.tif", { compression: "deflate", level: 10 }))).toContain("deflate level 10")
    expect(fs.readdirSync(dir)).toEqual([])
  })

  it("a commit with a slice missing fails and leaves no file", async () => {
    const dir = tempDir()
    const file = nodePath.join(dir, "m.tif")
    const vol = info("int16", [3, 4, 4])
    const slices = makeSlices("int16", vol.shape)
    const e = await failure(
      Effect.scoped(
        Effect.gen(function* () {
          const w = yield* tiffFileSink(file, { compression: "deflate" }).create(vol)
          yield* w.write(0, slices[0]!)
          yield* w.write(2, slices[2]!)
          yield* w.commit
        })
      )
    )
    expect((e as { _tag: string })._tag).toBe("FormatError")
    expect(fs.readdirSync(dir)).toEqual([])
  })
})
