/**
 * Reading TIFF: peer-written fixtures (tifffile, Pillow/libtiff) of every dtype, classic and BigTIFF,
 * both byte orders, strips and tiles, compressed and not; exact byte counts; typed errors.
 */
import * as fs from "node:fs"
import * as nodePath from "node:path"
import * as Effect from "effect/Effect"
import { afterAll, describe, expect, it } from "vitest"
import { allocSlice, bytesPerVoxel } from "../../src/algebra/dtype.js"
import { sliceLength } from "../../src/algebra/volume.js"
import { FileError, FormatError, UnsupportedError } from "../../src/algebra/io-errors.js"
import { ifdNumbers, parseTiffStructure } from "../../src/io/tiff/ifd.js"
import { openTiffFile, openTiffStack, stackFileName, tiffFileSink, tiffStackSink } from "../../src/io/tiff/index.js"
import { inspectTiff, inspectTiffLike, type InspectedTiff } from "../../src/io/tiff/inspect.js"
import { Tag } from "../../src/io/tiff/tags.js"
import {
  concatSlices,
  failure,
  fdCount,
  FIXTURES,
  info,
  makeSlices,
  readVolume,
  run,
  removeTempDirs,
  tempDir,
  writeVolume
} from "./tiff-helpers.js"

interface VolumeCase {
  readonly path: string
  readonly kind: "file" | "stack"
  readonly expected: string
  readonly dtype: string
  readonly shape: [number, number, number]
  readonly spacing?: [number, number, number]
  readonly compression?: string
  readonly byteOrder?: string
  readonly bigtiff?: boolean
  readonly predictor?: number
  readonly layout?: string
  readonly unit?: string
  readonly ifds?: number
}

interface ErrorCase {
  readonly path: string
  readonly kind: "file" | "stack"
  readonly error: "FormatError" | "UnsupportedError" | "FileError"
  readonly match: string
}

const manifest = JSON.parse(fs.readFileSync(nodePath.join(FIXTURES, "manifest.json"), "utf8")) as {
  volumes: VolumeCase[]
  errors: ErrorCase[]
}

const open = (c: { path: string; kind: "file" | "stack" }) =>
  c.kind === "stack" ? openTiffStack(nodePath.join(FIXTURES, c.path)) : openTiffFile(nodePath.join(FIXTURES, c.path))

/** A copy of a fixture (or any file) in a temp dir, to corrupt. */
const copyToTemp = (from: string): string => {
  const to = nodePath.join(tempDir(), nodePath.basename(from))
  fs.copyFileSync(from, to)
  return to
}

/** Our own small classic little-endian file: IFDs first, pixel data last. */
const ownFile = async (dtype: "uint16" | "uint8" = "uint16") => {
  const path = nodePath.join(tempDir(), "own.tif")
  const vol = info(dtype, [3, 5, 7])
  await writeVolume(tiffFileSink(path), vol, makeSlices(dtype, vol.shape))
  return path
}

/** File offset of tag `tag`'s entry in IFD 0 of a classic little-endian file. */
const entryOf = (bytes: Buffer, tag: number): number => {
  const ifd = bytes.readUInt32LE(4)
  const n = bytes.readUInt16LE(ifd)
  for (let i = 0; i < n; i++) if (bytes.readUInt16LE(ifd + 2 + 12 * i) === tag) return ifd + 2 + 12 * i
  throw new Error(`tag ${tag} not found`)
}

const patch = (path: string, f: (b: Buffer) => void) => {
  const b = fs.readFileSync(path)
  f(b)
  fs.writeFileSync(path, b)
}

afterAll(removeTempDirs)

describe("TIFF fixtures written by peers", () => {
  it("the manifest lists every kind of fixture", () => {
    expect(manifest.volumes.length).toBeGreaterThan(50)
    expect(new Set(manifest.volumes.map((v) => v.dtype)).size).toBe(8)
  })

  for (const c of manifest.volumes) {
    it(`reads ${c.path}`, async () => {
      const src = await run(open(c))
      expect(src.format).toBe(c.kind === "stack" ? "tiff-stack" : "tiff")
      expect(src.info.dtype).toBe(c.dtype)
      expect([...src.info.shape]).toEqual(c.shape)
      if (c.spacing) expect([...src.info.spacing]).toEqual(c.spacing)
      if (c.compression) expect(src.details.compression).toBe(c.compression)
      if (c.byteOrder) expect(src.details.byteOrder).toBe(c.byteOrder)
      if (c.bigtiff !== undefined) expect(src.details.bigtiff).toBe(c.bigtiff)
      if (c.predictor !== undefined) expect(src.details.predictor).toBe(c.predictor)
      if (c.layout) expect(src.details.layout).toBe(c.layout)
      if (c.unit) expect(src.details.unit).toBe(c.unit)
      if (c.ifds) expect(src.details.ifds).toBe(c.ifds)

      const back = await readVolume(src)
      const expected = fs.readFileSync(nodePath.join(FIXTURES, c.expected))
      expect(Buffer.from(back.bytes).equals(expected)).toBe(true)
      // Exactly the page's strip/tile bytes per slice, and nothing else.
      expect(back.exactPerSlice).toBe(true)
      let total = 0
      for (let z = 0; z < c.shape[0]; z++) total += src.sliceReadBytes(z)
      expect(back.bytesRead).toBe(total)
      if (src.details.compression === "none" && src.details.layout === "strips") {
        expect(total).toBe(expected.length)
      }
    })
  }

  for (const c of manifest.errors) {
    it(`refuses ${c.path} with a ${c.error}`, async () => {
      const e = await failure(open(c))
      expect(e._tag).toBe(c.error)
      expect(e.message).toContain(c.match)
      expect(e.path).toContain(nodePath.join(FIXTURES, c.path))
    })
  }
})

describe("TIFF reader details", () => {
  it("reads slices in any order and concurrently, each into its own buffer", async () => {
    const src = await run(openTiffFile(nodePath.join(FIXTURES, "compressed/lzw_pred_uint16.tif")))
    const expected = fs.readFileSync(nodePath.join(FIXTURES, "expected/uint16.bin"))
    const slices = await run(
      Effect.scoped(
        Effect.gen(function* () {
          const r = yield* src.open
          const bufs = [2, 0, 1, 2, 1, 0].map(() => allocSlice(src.info.dtype, sliceLength(src.info)))
          yield* Effect.forEach([2, 0, 1, 2, 1, 0], (z, i) => r.read(z, bufs[i]!), { concurrency: 4 })
          return [bufs[1]!, bufs[2]!, bufs[0]!]
        })
      )
    )
    expect(Buffer.from(concatSlices(slices)).equals(expected)).toBe(true)
  })

  it("reads the same uncompressed data with every read strategy", async () => {
    const path = nodePath.join(FIXTURES, "special/reversed_strips_uint16.tif")
    const expected = fs.readFileSync(nodePath.join(FIXTURES, "expected/uint16.bin"))
    for (const strategy of ["direct", "staged", "auto"] as const) {
      const back = await readVolume(await run(openTiffFile(path, { strategy })))
      expect(Buffer.from(back.bytes).equals(expected)).toBe(true)
      // Strips padded to a full strip in the file: only the rows of the image are read.
      expect(back.bytesRead).toBe(expected.length)
    }
  })

  it("reports pages, strips and the skipped reduced-resolution IFDs", async () => {
    const src = await run(openTiffFile(nodePath.join(FIXTURES, "special/reduced_uint8.tif")))
    expect(src.details).toMatchObject({ pages: 3, ifds: 6, layout: "strips", stripsPerPage: 1, photometric: "min-is-black" })
    const stack = await run(openTiffStack(nodePath.join(FIXTURES, "stack_uint16")))
    expect(stack.details).toMatchObject({ files: 3, firstFile: "img1.tif", lastFile: "img10.TIF" })
  })

  it("releases its file handle when the scope closes", async () => {
    const src = await run(openTiffFile(nodePath.join(FIXTURES, "classic/float64.tif")))
    const stack = await run(openTiffStack(nodePath.join(FIXTURES, "stack_uint16")))
    const before = fdCount()
    await readVolume(src)
    await readVolume(stack)
    expect(fdCount()).toBe(before)
  })

  it("rejects a slice index out of range and a buffer of the wrong length", async () => {
    const src = await run(openTiffFile(nodePath.join(FIXTURES, "classic/uint8.tif")))
    const errors = await run(
      Effect.scoped(
        Effect.gen(function* () {
          const r = yield* src.open
          const a = yield* Effect.flip(r.read(3, allocSlice("uint8", 35)))
          const b = yield* Effect.flip(r.read(0, allocSlice("uint8", 34)))
          return [a, b]
        })
      )
    )
    expect(errors[0]).toBeInstanceOf(FormatError)
    expect(errors[0]!.message).toContain("slice 3")
    expect(errors[1]!.message).toContain("34 voxels")
  })
})

describe("TIFF stacks: files laid out alike are parsed once", () => {
  const ownStack = async () => {
    const dir = nodePath.join(tempDir(), "stack")
    const vol = info("uint16", [4, 5, 7])
    const slices = makeSlices("uint16", vol.shape)
    await writeVolume(tiffStackSink(dir), vol, slices)
    return { dir, files: [0, 1, 2, 3].map((z) => nodePath.join(dir, stackFileName(z, 4))), slices }
  }
  const inspectFile = async (path: string, like?: InspectedTiff) => {
    const fd = fs.openSync(path, "r")
    try {
      const size = fs.fstatSync(fd).size
      return await (like === undefined ? inspectTiff(fd, path, size, 16 * 1024, true) : inspectTiffLike(like, fd, path, size, 16 * 1024))
    } finally {
      fs.closeSync(fd)
    }
  }

  it("a file with the template's size and metadata bytes gets the template's pages", async () => {
    const { files } = await ownStack()
    const head = await inspectFile(files[0]!)
    expect(head.metadata?.length).toBeGreaterThan(0)
    const next = await inspectFile(files[1]!, head)
    expect(next.path).toBe(files[1])
    expect(next.pages).toBe(head.pages)
  })

  it("a file whose metadata differs is parsed in full, not taken for the template", async () => {
    const { files } = await ownStack()
    // Same size, another XResolution (282): the spacing differs.
    patch(files[2]!, (b) => {
      const at = b.readUInt32LE(entryOf(b, 282) + 8)
      b.writeUInt32LE(b.readUInt32LE(at) * 2, at)
    })
    const head = await inspectFile(files[0]!)
    const other = await inspectFile(files[2]!, head)
    expect(other.pages).not.toBe(head.pages)
    expect(other.spacing[2]).toBeCloseTo(head.spacing[2] / 2)
    const { metadata: _, ...full } = await inspectFile(files[2]!)
    expect(other).toEqual(full)
  })

  it("a stack whose files differ in layout reads every slice; a file that cannot be opened is named", async () => {
    const { dir, files, slices } = await ownStack()
    // File 1 gains trailing bytes (another size), file 2 another XResolution (other metadata bytes):
    // both are parsed in full, the others recognised as the first file's layout.
    fs.appendFileSync(files[1]!, Buffer.alloc(100, 9))
    patch(files[2]!, (b) => {
      const at = b.readUInt32LE(entryOf(b, 282) + 8)
      b.writeUInt32LE(b.readUInt32LE(at) * 2, at)
    })
    const src = await run(openTiffStack(dir))
    expect(src.info.shape).toEqual([4, 5, 7])
    const got = await run(Effect.scoped(Effect.gen(function* () {
      const reader = yield* src.open
      const out: Uint16Array[] = []
      for (let z = 0; z < 4; z++) {
        const slice = new Uint16Array(35)
        yield* reader.read(z, slice)
        out.push(slice)
      }
      return out
    })))
    for (let z = 0; z < 4; z++) expect(Array.from(got[z]!)).toEqual(Array.from(slices[z]!))
    // A dangling link where file 3 was: the sweep passes it over, the full inspection names it.
    fs.rmSync(files[3]!)
    fs.symlinkSync(nodePath.join(dir, "gone.tif"), files[3]!)
    const e = (await failure(openTiffStack(dir))) as FileError
    expect(e).toBeInstanceOf(FileError)
    expect([e.path, e.operation]).toEqual([files[3], "open"])
  })

  it("a stack file with the same size but strips past its end is refused, naming the file", async () => {
    const { dir, files } = await ownStack()
    patch(files[3]!, (b) => b.writeUInt32LE(b.length, entryOf(b, 273) + 8))
    const e = (await failure(openTiffStack(dir))) as FormatError
    expect(e).toBeInstanceOf(FormatError)
    expect(e.path).toBe(files[3])
    expect(e.detail).toContain("past the end of the file")
  })
})

describe("TIFF reader errors", () => {
  it("a file truncated in its pixel data: FormatError naming page, strip and byte offset", async () => {
    const path = await ownFile()
    const size = fs.statSync(path).size
    fs.truncateSync(path, size - 10)
    const e = await failure(openTiffFile(path))
    expect(e).toBeInstanceOf(FormatError)
    const f = e as FormatError
    expect(f.position).toMatch(/^page 2 \(IFD 2\) strip 0 at byte \d+$/)
    expect(f.detail).toContain(`past the end of the file (${size - 10} bytes)`)
    expect(f.hint).toContain("truncated")
  })

  it("a peer file cut short: tifffile puts IFD 1 after page 0's data", async () => {
    const path = copyToTemp(nodePath.join(FIXTURES, "classic/uint16.tif"))
    fs.truncateSync(path, 420)
    const e = (await failure(openTiffFile(path))) as FormatError
    expect(e).toBeInstanceOf(FormatError)
    expect(e.detail).toMatch(/^IFD 1 offset \d+ lies past the end of the file \(420 bytes\)$/)
    expect(e.position).toMatch(/^byte \d+$/)
  })

  it("a file truncated inside its IFDs", async () => {
    const path = await ownFile()
    fs.truncateSync(path, 20)
    const e = await failure(openTiffFile(path))
    expect(e).toBeInstanceOf(FormatError)
    expect((e as FormatError).position).toBe("IFD 0 at byte 8")
  })

  it("a file that shrinks after it was opened fails at read time", async () => {
    const path = await ownFile()
    const src = await run(openTiffFile(path))
    fs.truncateSync(path, fs.statSync(path).size - 35)
    const e = await failure(Effect.scoped(Effect.flatMap(src.open, (r) => r.read(2, allocSlice("uint16", 35)))))
    expect(e).toBeInstanceOf(FormatError)
    expect((e as FormatError).detail).toContain("ended 35 bytes early")
  })

  it("bad magic, bad version, too short", async () => {
    const path = await ownFile()
    patch(path, (b) => b.write("PK", 0, "latin1"))
    const magic = (await failure(openTiffFile(path))) as FormatError
    expect(magic).toBeInstanceOf(FormatError)
    expect(magic.position).toBe("byte 0")
    expect(magic.detail).toContain("not a TIFF file")

    const path2 = await ownFile()
    patch(path2, (b) => b.writeUInt16LE(41, 2))
    const version = (await failure(openTiffFile(path2))) as FormatError
    expect(version.position).toBe("byte 2")
    expect(version.detail).toContain("version is 41")

    const path3 = nodePath.join(tempDir(), "short.tif")
    fs.writeFileSync(path3, "II*")
    expect(((await failure(openTiffFile(path3))) as FormatError).detail).toContain("too short")
  })

  it("an IFD offset past the end of the file, and a loop in the IFD chain", async () => {
    const path = await ownFile()
    patch(path, (b) => b.writeUInt32LE(b.length + 100, 4))
    const past = (await failure(openTiffFile(path))) as FormatError
    expect(past.position).toBe("byte 4")
    expect(past.detail).toContain("past the end of the file")

    const path2 = await ownFile()
    patch(path2, (b) => {
      // IFD 0's next pointer back to IFD 0.
      const ifd = b.readUInt32LE(4)
      const n = b.readUInt16LE(ifd)
      b.writeUInt32LE(ifd, ifd + 2 + 12 * n)
    })
    const loop = (await failure(openTiffFile(path2))) as FormatError
    expect(loop.detail).toContain("a loop")
  })

  it("unsupported bit depth and compression name the IFD and tag", async () => {
    const path = await ownFile()
    patch(path, (b) => b.writeUInt16LE(12, entryOf(b, 258) + 8))
    const bits = (await failure(openTiffFile(path))) as UnsupportedError
    expect(bits).toBeInstanceOf(UnsupportedError)
    expect(bits.detail).toContain("page 0 (IFD 0) tag 258 (BitsPerSample) = 12")

    const path2 = await ownFile()
    patch(path2, (b) => b.writeUInt16LE(7, entryOf(b, 259) + 8))
    const jpeg = (await failure(openTiffFile(path2))) as UnsupportedError
    expect(jpeg.detail).toContain("tag 259 (Compression) = 7 (jpeg)")
    expect(jpeg.hint).toContain("tiffcp")

    const path3 = await ownFile()
    patch(path3, (b) => b.writeUInt16LE(3, entryOf(b, 277) + 8))
    const spp = (await failure(openTiffFile(path3))) as UnsupportedError
    expect(spp.detail).toContain("tag 277 (SamplesPerPixel) = 3")
  })

  it("a missing required tag", async () => {
    const path = await ownFile()
    // Renumber StripOffsets (273) to an unknown tag: the page has no strip offsets.
    patch(path, (b) => b.writeUInt16LE(60000, entryOf(b, 273)))
    const e = (await failure(openTiffFile(path))) as FormatError
    expect(e.position).toBe("page 0 (IFD 0)")
    expect(e.detail).toContain("273 (StripOffsets) is missing")
  })

  it("file system errors: missing file, a directory given as a file, missing and empty directories", async () => {
    const dir = tempDir()
    const missing = await failure(openTiffFile(nodePath.join(dir, "nope.tif")))
    expect(missing).toBeInstanceOf(FileError)
    expect(missing.message).toBe(`${nodePath.join(dir, "nope.tif")}: no such file or directory`)

    const isDir = await failure(openTiffFile(dir))
    expect(isDir).toBeInstanceOf(FileError)

    const noDir = await failure(openTiffStack(nodePath.join(dir, "nope")))
    expect(noDir).toBeInstanceOf(FileError)
    expect((noDir as FileError).operation).toBe("list")

    fs.writeFileSync(nodePath.join(dir, "readme.txt"), "hello")
    const empty = (await failure(openTiffStack(dir))) as FormatError
    expect(empty).toBeInstanceOf(FormatError)
    expect(empty.detail).toContain("no .tif or .tiff files")
    expect(empty.hint).toBeDefined()
  })

  it("a corrupt compressed strip is a FormatError, not a crash", async () => {
    const path = copyToTemp(nodePath.join(FIXTURES, "compressed/zlib_uint16.tif"))
    const src = await run(openTiffFile(path))
    // Overwrite the start of page 0's first compressed strip with garbage.
    const fd = fs.openSync(path, "r")
    const t = await parseTiffStructure(fd, path, fs.statSync(path).size)
    const at = (await ifdNumbers(t, t.ifds[0]!, Tag.StripOffsets))![0]!
    fs.closeSync(fd)
    patch(path, (b) => b.fill(0xff, at, at + 4))
    const e = await failure(Effect.scoped(Effect.flatMap(src.open, (r) => r.read(0, allocSlice("uint16", 35)))))
    expect(e).toBeInstanceOf(FormatError)
    expect((e as FormatError).position).toContain("page 0 (IFD 0) strip 0")
  })

  it("bytes per voxel times voxels is what an uncompressed read costs", async () => {
    const src = await run(openTiffFile(nodePath.join(FIXTURES, "be/float64.tif")))
    expect(src.sliceReadBytes(0)).toBe(sliceLength(src.info) * bytesPerVoxel(src.info.dtype))
  })
})
