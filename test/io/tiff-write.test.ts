/**
 * Writing TIFF: round trips for every dtype (classic and BigTIFF, file and stack, slices in
 * shuffled order), exact byte counts, geotiff reading our output, and atomic commit: nothing is
 * left behind by a failure or an interruption, and an existing output survives until commit.
 */
import * as fs from "node:fs"
import * as nodePath from "node:path"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import fc from "fast-check"
import { fromFile } from "geotiff"
import { afterAll, describe, expect, it } from "vitest"
import { DTYPES, type DType } from "../../src/algebra/dtype.js"
import type { Shape, Spacing } from "../../src/algebra/volume.js"
import { FileError, FormatError, UnsupportedError } from "../../src/algebra/io-errors.js"
import { openTiffFile, openTiffStack, planTiffLayout, stackFileName, tiffFileSink, tiffStackSink } from "../../src/io/tiff/index.js"
import { toRational } from "../../src/io/tiff/layout.js"
import {
  bytesOf,
  concatSlices,
  equalBytes,
  failure,
  fdCount,
  info,
  makeSlices,
  partials,
  readVolume,
  run,
  shuffled,
  sizeOnDisk,
  removeTempDirs,
  tempDir,
  writeVolume
} from "./tiff-helpers.js"

type Kind = "file" | "stack"

const sinkOf = (kind: Kind, path: string, options: Parameters<typeof tiffFileSink>[1] = {}) =>
  kind === "file" ? tiffFileSink(path, options) : tiffStackSink(path, options)

const sourceOf = (kind: Kind, path: string) => (kind === "file" ? openTiffFile(path) : openTiffStack(path))

/** Writes, checks byte counts and leftovers, reads back, compares. */
const roundTrip = async (
  kind: Kind,
  dtype: DType,
  shape: Shape,
  options: { bigtiff?: boolean | "auto"; stripBytes?: number; spacing?: Spacing } = {}
) => {
  const dir = tempDir()
  const path = nodePath.join(dir, kind === "file" ? "out.tif" : "out")
  const vol = info(dtype, shape, options.spacing ?? [2.5, 0.3, 0.7])
  const slices = makeSlices(dtype, shape)
  const sink = sinkOf(kind, path, { bigtiff: options.bigtiff ?? "auto", stripBytes: options.stripBytes })
  const written = await writeVolume(sink, vol, slices)
  expect(written).toBe(sink.outputBytes(vol))
  expect(sizeOnDisk(path)).toBe(written)
  expect(partials(dir)).toEqual([])
  const src = await run(sourceOf(kind, path))
  expect(src.info).toEqual(vol)
  expect(src.details.bigtiff).toBe(options.bigtiff === true)
  const back = await readVolume(src)
  expect(equalBytes(back.bytes, concatSlices(slices))).toBe(true)
  expect(back.exactPerSlice).toBe(true)
  return { dir, path, src }
}

afterAll(removeTempDirs)

describe("TIFF round trips", () => {
  for (const kind of ["file", "stack"] as const) {
    for (const bigtiff of [false, true]) {
      for (const dtype of DTYPES) {
        it(`${kind}, ${bigtiff ? "BigTIFF" : "classic"}, ${dtype}, shuffled slice order`, async () => {
          await roundTrip(kind, dtype, [4, 5, 7], { bigtiff })
        })
      }
    }
    it(`${kind}: depth 1`, async () => {
      await roundTrip(kind, "uint16", [1, 3, 2])
      await roundTrip(kind, "float64", [1, 1, 1], { bigtiff: true })
    })
    it(`${kind}: odd sizes and many small strips (last strip partial)`, async () => {
      const { src } = await roundTrip(kind, "int16", [3, 13, 11], { stripBytes: 50 })
      expect(src.details).toMatchObject({ rowsPerStrip: 2, stripsPerPage: 7 })
      await roundTrip(kind, "float32", [2, 17, 1], { stripBytes: 1, bigtiff: true })
    })
  }

  it("slices large enough for aligned data start at 16 bytes into a page", async () => {
    const layout = planTiffLayout(info("uint16", [3, 256, 128]))
    expect(layout.dataOffset(0) % 4096).toBe(16)
    await roundTrip("file", "uint16", [3, 256, 128])
  })

  it("spacing survives as exactly the same numbers", async () => {
    for (const spacing of [[1, 1, 1], [0.3, 0.1, 0.7], [2.5, 1 / 3, 12.125], [1e-3, 4.2e-5, 3e4]] as const) {
      const { src } = await roundTrip("file", "uint8", [2, 2, 2], { spacing })
      expect(src.info.spacing).toEqual(spacing)
    }
  })

  it("property: any dtype, shape, strip size, format and slice order round-trips with exact byte counts", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...DTYPES),
        fc.tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 9 })),
        fc.integer({ min: 1, max: 300 }),
        fc.boolean(),
        fc.constantFrom<Kind>("file", "stack"),
        fc.integer({ min: 1, max: 1000 }),
        async (dtype, shape, stripBytes, bigtiff, kind, seed) => {
          const dir = tempDir()
          const path = nodePath.join(dir, kind === "file" ? "p.tif" : "p")
          const vol = info(dtype, shape)
          const slices = makeSlices(dtype, shape, seed)
          const sink = sinkOf(kind, path, { bigtiff, stripBytes })
          const written = await writeVolume(sink, vol, slices, shuffled(shape[0], seed))
          const src = await run(sourceOf(kind, path))
          const back = await readVolume(src, shuffled(shape[0], seed + 1))
          fs.rmSync(dir, { recursive: true })
          return (
            written === sink.outputBytes(vol) &&
            equalBytes(back.bytes, concatSlices(slices)) &&
            back.exactPerSlice &&
            src.details.bigtiff === bigtiff
          )
        }
      ),
      { numRuns: 40 }
    )
  })
})

describe("TIFF output read by geotiff", () => {
  for (const dtype of DTYPES) {
    for (const bigtiff of [false, true]) {
      it(`${dtype}, ${bigtiff ? "BigTIFF" : "classic"}`, async () => {
        const path = nodePath.join(tempDir(), "g.tif")
        const vol = info(dtype, [3, 6, 5])
        const slices = makeSlices(dtype, vol.shape)
        await writeVolume(tiffFileSink(path, { bigtiff, stripBytes: 40 }), vol, slices)
        const tiff = await fromFile(path)
        expect(await tiff.getImageCount()).toBe(3)
        for (let z = 0; z < 3; z++) {
          const image = await tiff.getImage(z)
          expect([image.getWidth(), image.getHeight()]).toEqual([5, 6])
          const raster = (await image.readRasters({ interleave: true })) as unknown as ArrayBufferView
          // geotiff returns values in the dtype's typed array; compare numerically (NaN = NaN).
          const got = Array.from(raster as unknown as ArrayLike<number>)
          const want = Array.from(slices[z]! as ArrayLike<number>)
          expect(got.map((v) => (Number.isNaN(v) ? "NaN" : Object.is(v, -0) ? "-0" : v))).toEqual(
            want.map((v) => (Number.isNaN(v) ? "NaN" : Object.is(v, -0) ? "-0" : v))
          )
          expect(raster.constructor).toBe(slices[z]!.constructor)
        }
        await tiff.close()
      })
    }
  }
})

describe("TIFF layout", () => {
  it("switches to BigTIFF exactly when the classic file would pass 4 GiB", () => {
    const under = planTiffLayout(info("uint32", [1000, 1024, 1024]))
    expect(under.bigTiff).toBe(false)
    expect(under.totalBytes).toBeLessThanOrEqual(0xffffffff)
    const over = planTiffLayout(info("uint32", [1024, 1024, 1024]))
    expect(over.bigTiff).toBe(true)
    expect(over.totalBytes).toBeGreaterThan(2 ** 32)
    expect(over.dataOffset(1023) + over.sliceBytes).toBe(over.totalBytes)
    expect(() => planTiffLayout(info("uint32", [1024, 1024, 1024]), { bigtiff: false })).toThrow(/4 GiB/)
    expect(planTiffLayout(info("uint8", [2, 2, 2]), { bigtiff: true }).bigTiff).toBe(true)
  })

  it("outputBytes of a stack is depth × one file; names are zero-padded", () => {
    const vol = info("uint16", [120000, 4, 4])
    const one = planTiffLayout(info("uint16", [1, 4, 4])).totalBytes
    expect(tiffStackSink("/x").outputBytes(vol)).toBe(120000 * one)
    expect(stackFileName(3, 10)).toBe("slice_00003.tif")
    expect(stackFileName(7, 120000)).toBe("slice_000007.tif")
    expect(tiffFileSink("/x").outputBytes(info("uint8", [0, 4, 4]))).toBe(0)
  })

  it("rationals: the best 32-bit fraction, exact for decimals", () => {
    expect(toRational(0.25)).toEqual([1, 4])
    expect(toRational(0.3)).toEqual([3, 10])
    const [p, q] = toRational(Math.PI)
    expect(Math.abs(p / q - Math.PI)).toBeLessThan(1e-15)
    expect(toRational(0)).toEqual([1, 1])
  })

  it("an empty or impossible volume is an UnsupportedError and creates nothing", async () => {
    const dir = tempDir()
    const e = await failure(Effect.scoped(tiffFileSink(nodePath.join(dir, "e.tif")).create(info("uint8", [0, 3, 3]))))
    expect(e).toBeInstanceOf(UnsupportedError)
    const e2 = await failure(
      Effect.scoped(tiffFileSink(nodePath.join(dir, "big.tif"), { bigtiff: false }).create(info("float64", [1024, 1024, 1024])))
    )
    expect(e2.message).toContain("allow BigTIFF")
    const e3 = await failure(Effect.scoped(tiffStackSink(nodePath.join(dir, "s")).create(info("uint8", [0, 3, 3]))))
    expect(e3).toBeInstanceOf(UnsupportedError)
    expect(fs.readdirSync(dir)).toEqual([])
  })
})

describe("TIFF atomic output", () => {
  const vol = info("uint16", [4, 3, 5])
  const slices = makeSlices("uint16", vol.shape)

  /** Creates a writer, writes two slices, then runs `then` (which fails or never ends). */
  const partialWrite = <E>(kind: Kind, path: string, then: Effect.Effect<never, E>) =>
    Effect.scoped(
      Effect.gen(function* () {
        const w = yield* sinkOf(kind, path).create(vol)
        yield* w.write(3, slices[3]!)
        yield* w.write(0, slices[0]!)
        return yield* then
      })
    )

  for (const kind of ["file", "stack"] as const) {
    it(`${kind}: a failure before commit leaves no temporary, no output and no open handle`, async () => {
      const dir = tempDir()
      const path = nodePath.join(dir, kind === "file" ? "v.tif" : "v")
      const before = fdCount()
      const exit = await Effect.runPromiseExit(partialWrite(kind, path, Effect.fail("boom")))
      expect(Exit.isFailure(exit)).toBe(true)
      expect(fs.readdirSync(dir)).toEqual([])
      expect(fdCount()).toBe(before)
    })

    it(`${kind}: an interruption before commit leaves no temporary, no output and no open handle`, async () => {
      const dir = tempDir()
      const path = nodePath.join(dir, kind === "file" ? "v.tif" : "v")
      const before = fdCount()
      const fiber = Effect.runFork(partialWrite(kind, path, Effect.never))
      // Wait until the temporary exists and holds data, then interrupt.
      for (let i = 0; i < 200 && partials(dir).length === 0; i++) await new Promise((r) => setTimeout(r, 5))
      await new Promise((r) => setTimeout(r, 20))
      expect(partials(dir).length).toBe(1)
      const exit = await Effect.runPromise(Fiber.interrupt(fiber))
      expect(Exit.isInterrupted(exit)).toBe(true)
      expect(fs.readdirSync(dir)).toEqual([])
      expect(fdCount()).toBe(before)
    })

    it(`${kind}: commit before every slice is written fails, and cleans up`, async () => {
      const dir = tempDir()
      const path = nodePath.join(dir, kind === "file" ? "v.tif" : "v")
      const e = await failure(
        Effect.scoped(
          Effect.gen(function* () {
            const w = yield* sinkOf(kind, path).create(vol)
            yield* w.write(0, slices[0]!)
            yield* w.write(2, slices[2]!)
            yield* w.commit
          })
        )
      )
      expect(e).toBeInstanceOf(FormatError)
      expect((e as FormatError).detail).toContain("2 of 4 written, slice 1 missing")
      expect(fs.readdirSync(dir)).toEqual([])
    })

    it(`${kind}: bad slice index or length, a second commit, a write after commit`, async () => {
      const dir = tempDir()
      const path = nodePath.join(dir, kind === "file" ? "v.tif" : "v")
      const errors = await run(
        Effect.scoped(
          Effect.gen(function* () {
            const w = yield* sinkOf(kind, path).create(vol)
            const a = yield* Effect.flip(w.write(4, slices[0]!))
            const b = yield* Effect.flip(w.write(0, new Uint16Array(14)))
            for (let z = 0; z < 4; z++) yield* w.write(z, slices[z]!)
            yield* w.commit
            const c = yield* Effect.flip(w.commit)
            const d = yield* Effect.flip(w.write(0, slices[0]!))
            return [a, b, c, d]
          })
        )
      )
      expect(errors.map((e) => e.message)).toEqual([
        expect.stringContaining("no such slice"),
        expect.stringContaining("14 voxels"),
        expect.stringContaining("already committed"),
        expect.stringContaining("already committed")
      ])
      expect(fs.readdirSync(dir)).toEqual([nodePath.basename(path)])
    })
  }

  it("file: an existing file is replaced only at commit; a failed run leaves it intact", async () => {
    const dir = tempDir()
    const path = nodePath.join(dir, "v.tif")
    fs.writeFileSync(path, "old content")
    const failed = await Effect.runPromiseExit(partialWrite("file", path, Effect.fail("boom")))
    expect(Exit.isFailure(failed)).toBe(true)
    expect(fs.readFileSync(path, "utf8")).toBe("old content")
    const seen = await run(
      Effect.scoped(
        Effect.gen(function* () {
          const w = yield* tiffFileSink(path).create(vol)
          for (let z = 0; z < 4; z++) yield* w.write(z, slices[z]!)
          const before = fs.readFileSync(path, "utf8")
          yield* w.commit
          return before
        })
      )
    )
    expect(seen).toBe("old content")
    const back = await readVolume(await run(openTiffFile(path)))
    expect(equalBytes(back.bytes, concatSlices(slices))).toBe(true)
    expect(fs.readdirSync(dir)).toEqual(["v.tif"])
  })

  it("file: a directory in the way is a FileError", async () => {
    const dir = tempDir()
    fs.mkdirSync(nodePath.join(dir, "v.tif"))
    const e = await failure(Effect.scoped(tiffFileSink(nodePath.join(dir, "v.tif")).create(vol)))
    expect(e).toBeInstanceOf(FileError)
    expect(e.message).toContain("is a directory")
  })

  it("a missing parent directory is a FileError naming the output, not the temporary", async () => {
    const dir = tempDir()
    for (const kind of ["file", "stack"] as const) {
      const path = nodePath.join(dir, "missing", kind === "file" ? "v.tif" : "v")
      const e = (await failure(Effect.scoped(sinkOf(kind, path).create(vol)))) as FileError
      expect(e).toBeInstanceOf(FileError)
      expect(e.path).toBe(path)
      expect(e.operation).toBe("create")
      expect(e.message).toBe(`cannot create ${path}: the directory ${nodePath.join(dir, "missing")} does not exist`)
    }
  })

  it("stack: an existing TIFF-only directory is replaced at commit (old extra slices gone)", async () => {
    const dir = tempDir()
    const path = nodePath.join(dir, "v")
    const deeper = info("uint16", [12, 3, 5])
    await writeVolume(tiffStackSink(path), deeper, makeSlices("uint16", deeper.shape, 9))
    fs.writeFileSync(nodePath.join(path, "extra.TIFF"), "x")
    const failed = await Effect.runPromiseExit(partialWrite("stack", path, Effect.fail("boom")))
    expect(Exit.isFailure(failed)).toBe(true)
    expect(fs.readdirSync(path).length).toBe(13)
    const seen = await run(
      Effect.scoped(
        Effect.gen(function* () {
          const w = yield* tiffStackSink(path).create(vol)
          for (let z = 0; z < 4; z++) yield* w.write(z, slices[z]!)
          const before = fs.readdirSync(path).length
          yield* w.commit
          return before
        })
      )
    )
    expect(seen).toBe(13)
    expect(fs.readdirSync(path).sort()).toEqual([0, 1, 2, 3].map((z) => stackFileName(z, 4)))
    expect(fs.readdirSync(dir)).toEqual(["v"])
    const back = await readVolume(await run(openTiffStack(path)))
    expect(equalBytes(back.bytes, concatSlices(slices))).toBe(true)
  })

  it("stack: a directory holding other files is refused and left alone", async () => {
    const dir = tempDir()
    const path = nodePath.join(dir, "v")
    fs.mkdirSync(path)
    fs.writeFileSync(nodePath.join(path, "a.tif"), "x")
    fs.writeFileSync(nodePath.join(path, "notes.txt"), "keep me")
    const e = await failure(Effect.scoped(tiffStackSink(path).create(vol)))
    expect(e).toBeInstanceOf(FileError)
    expect(e.message).toContain("notes.txt")
    expect(e.message).toContain("refusing")
    expect(fs.readdirSync(path).sort()).toEqual(["a.tif", "notes.txt"])
    expect(fs.readdirSync(dir)).toEqual(["v"])
  })

  it("stack: a trailing slash names the same directory", async () => {
    const dir = tempDir()
    await writeVolume(tiffStackSink(nodePath.join(dir, "v") + "/"), vol, slices)
    expect(fs.readdirSync(dir)).toEqual(["v"])
  })

  it("writes pass the caller's bytes through unchanged (views into larger buffers too)", async () => {
    const path = nodePath.join(tempDir(), "views.tif")
    const backing = new Uint16Array(4 * 15 + 3)
    const views = [0, 1, 2, 3].map((z) => {
      const v = new Uint16Array(backing.buffer, (1 + z * 15) * 2, 15)
      v.set(slices[z]!)
      return v
    })
    await writeVolume(tiffFileSink(path), vol, views)
    const back = await readVolume(await run(openTiffFile(path)))
    expect(equalBytes(back.bytes, concatSlices(slices))).toBe(true)
    expect(bytesOf(views[0]!).byteOffset).toBe(2)
  })
})
