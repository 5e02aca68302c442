/**
 * Every corrupt chunk or strip fails (issue 20, item 5): a compressed chunk, strip or gzip member
 * whose decoded size differs from what the metadata says, or whose container header disagrees with
 * the bytes present, is a FormatError naming the file and the chunk (strip, byte), for every codec,
 * before any output is presented as complete. Each case corrupts one chunk of a valid store or file
 * (written by slicewise, or a committed fixture) in a temporary copy, then checks the library (the
 * source read directly, and `Run.run` into a sink: no output left) and, for one case per codec,
 * the `slicewise run` command (exit 1, one line naming file and chunk, no output).
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as nodePath from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type { Algebra, Repr } from "../../src/algebra/algebra.js"
import { FormatError } from "../../src/algebra/io-errors.js"
import { volumeInfo } from "../../src/algebra/volume.js"
import * as Run from "../../src/interpreters/run/index.js"
import { openSource } from "../../src/io/index.js"
import { nrrdSink } from "../../src/io/nrrd.js"
import { zarrSink, type CodecName } from "../../src/io/zarr.js"
import { checkBloscHeader } from "../../src/io/zarr/codecs.js"
import { readAll, volumeBytesOf, writeAll } from "./zarr-helpers.js"

const root = nodePath.resolve(__dirname, "../..")
const FIXTURES = nodePath.join(root, "test/fixtures")
const cliArgs = ["--import", "tsx", nodePath.join(root, "src/cli/main.ts")]

let dir = ""
beforeAll(() => {
  dir = fs.mkdtempSync(nodePath.join(os.tmpdir(), "slicewise-corrupt-"))
})
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

let n = 0
const fresh = (name: string) => nodePath.join(dir, `${n++}-${name}`)

/** A corruption of one stored object's bytes. */
type Corrupt = (b: Uint8Array) => Uint8Array
const truncate = (k: number): Corrupt => (b) => b.subarray(0, b.length - k)
const flip = (at: number, mask = 0x5a): Corrupt => (b) => {
  const c = Uint8Array.from(b)
  const i = at < 0 ? c.length + at : at
  c[i] = c[i]! ^ mask
  return c
}
const append = (...extra: Array<number>): Corrupt => (b) => Uint8Array.from([...b, ...extra])

const corruptFile = (file: string, f: Corrupt) => fs.writeFileSync(file, f(new Uint8Array(fs.readFileSync(file))))

/** The failure of reading every slice of `path` through openSource, forward. */
const readFailure = async (path: string): Promise<unknown> => {
  const exit = await Effect.runPromiseExit(Effect.flatMap(openSource(path), (src) => readAll(src)))
  if (Exit.isSuccess(exit)) throw new Error(`${path}: read without an error`)
  const failure = exit.cause._tag === "Fail" ? exit.cause.error : exit.cause
  return failure
}

/** The failure of `Run.run` copying `path` into an NRRD file; the output must not exist afterwards. */
const runFailure = async (path: string): Promise<unknown> => {
  const out = fresh("out.nrrd")
  const exit = await Effect.runPromiseExit(
    Effect.flatMap(openSource(path), (src) =>
      Run.run(<F extends Repr>(alg: Algebra<F>) => ({ o: alg.write(alg.source(src), nrrdSink(out)) }))
    )
  )
  expect(fs.existsSync(out), `${out} exists after a failed run`).toBe(false)
  if (Exit.isSuccess(exit)) throw new Error(`${path}: ran without an error`)
  return exit.cause._tag === "Fail" ? exit.cause.error : exit.cause
}

const expectFormatError = (e: unknown, file: string, position: RegExp) => {
  expect(e, String(e)).toBeInstanceOf(FormatError)
  const f = e as FormatError
  expect(f.path).toBe(file)
  expect(f.position).toMatch(position)
}

/** `slicewise run <input> <out> copy`: exit 1, one line naming `file` and `position`, no output. */
const expectCliFailure = (input: string, file: string, position: RegExp) => {
  const out = fresh("cli-out.nrrd")
  const r = spawnSync(process.execPath, [...cliArgs, "run", input, out, "copy"], { cwd: root, encoding: "utf8", env: { ...process.env, SLICEWISE_DEBUG: "" } })
  expect(r.status, r.stderr).toBe(1)
  const lines = r.stderr.trim().split("\n")
  expect(lines, r.stderr).toHaveLength(1)
  expect(lines[0]).toContain(file)
  expect(lines[0]).toMatch(position)
  expect(fs.existsSync(out)).toBe(false)
  expect(fs.readdirSync(nodePath.dirname(out)).filter((f) => f.startsWith(nodePath.basename(out)))).toEqual([])
}

// ---------------------------------------------------------------------------------------------
// Zarr: stores written by slicewise, every codec it writes, v2 and v3

const SHAPE: [number, number, number] = [4, 40, 50]
const CHUNKS: [number, number, number] = [2, 20, 32]

/** A valid uint16 store (2×2×2 chunks); returns it and the file of chunk (1, 0, 1). */
const writeStore = async (codec: CodecName, version: 2 | 3) => {
  const info = volumeInfo("uint16", SHAPE)
  const path = fresh(`v${version}-${codec}.zarr`)
  await Effect.runPromise(writeAll(zarrSink(path, { version, chunks: CHUNKS, codec: { codec } }), info, volumeBytesOf(info, 7)))
  const chunk = version === 2 ? nodePath.join(path, "1.0.1") : nodePath.join(path, "c", "1", "0", "1")
  expect(fs.existsSync(chunk)).toBe(true)
  return { path, chunk }
}

const CORRUPTIONS: Record<CodecName, Record<string, Corrupt>> = {
  // A raw chunk is just its voxels: any other length is wrong (one byte more used to be read as the same voxels).
  raw: { "cut short": truncate(3), "one byte longer": append(1), "one voxel longer": append(1, 2) },
  gzip: { "cut short": truncate(5), "magic flipped": flip(0), "CRC flipped": flip(-6), "size flipped": flip(-2), "junk after the member": append(1, 2, 3) },
  zstd: { "cut short": truncate(5), "magic flipped": flip(0), "frame header flipped": flip(4, 0x40), "junk after the frame": append(1, 2, 3) },
  // numcodecs' blosc decodes these without an error, into bytes left on its heap.
  blosc: { "cut short": truncate(5), "cut to its header": (b) => b.subarray(0, 16), "cbytes flipped": flip(12, 0x01), "nbytes flipped": flip(4, 0x02), "block start flipped": flip(18, 0x10), "junk after": append(1, 2, 3) }
}

describe("corrupt Zarr chunks", () => {
  for (const version of [2, 3] as const) {
    for (const codec of ["raw", "gzip", "zstd", "blosc"] as const) {
      for (const [what, corrupt] of Object.entries(CORRUPTIONS[codec])) {
        it(`v${version} ${codec}: a chunk ${what} is a FormatError naming it, and a run leaves no output`, async () => {
          const { path, chunk } = await writeStore(codec, version)
          corruptFile(chunk, corrupt)
          expectFormatError(await readFailure(path), chunk, /^chunk 1\.0\.1$/)
          expectFormatError(await runFailure(path), chunk, /^chunk 1\.0\.1$/)
        })
      }
    }
  }

  for (const codec of ["raw", "gzip", "zstd", "blosc"] as const) {
    it(`slicewise run: a v2 ${codec} chunk cut short fails in one line naming it, exit 1, no output`, async () => {
      const { path, chunk } = await writeStore(codec, 2)
      corruptFile(chunk, codec === "raw" ? append(1) : truncate(5))
      expectCliFailure(path, chunk, /chunk 1\.0\.1/)
    }, 60_000)
  }

  const copyFixture = (name: string) => {
    const to = fresh(name)
    fs.cpSync(nodePath.join(FIXTURES, "zarr", name), to, { recursive: true })
    return to
  }

  it("zlib (zarr-python fixture): cut short, or junk after the stream", async () => {
    for (const corrupt of [truncate(4), append(1, 2, 3)]) {
      const path = copyFixture("v2-uint16-zlib.zarr")
      corruptFile(nodePath.join(path, "1.0.1"), corrupt)
      expectFormatError(await readFailure(path), nodePath.join(path, "1.0.1"), /^chunk 1\.0\.1$/)
    }
  })

  it("blosc zstd with bit shuffle (zarr-python fixture): cut short", async () => {
    const path = copyFixture("v2-float32-blosc-zstd-bit.zarr")
    const key = fs.readdirSync(path).filter((f) => !f.startsWith(".")).sort()[0]!
    corruptFile(nodePath.join(path, key), truncate(7))
    expectFormatError(await readFailure(path), nodePath.join(path, key), new RegExp(`^chunk ${key.replace(/\./g, "\\.")}$`))
  })

  it("v3 shard: a flipped crc32c of the shard index fails (zarrita skipped the check)", async () => {
    const path = copyFixture("v3-sharded.zarr")
    const shard = nodePath.join(path, "c", "0", "0", "0")
    corruptFile(shard, flip(-1))
    expectFormatError(await readFailure(path), shard, /^chunk 0\.0\.0$/)
    expectFormatError(await runFailure(path), shard, /^chunk 0\.0\.0$/)
  })

  it("v3 shard: an inner gzip chunk with a flipped byte fails naming the shard file", async () => {
    const path = copyFixture("v3-sharded.zarr")
    const shard = nodePath.join(path, "c", "1", "0", "0")
    corruptFile(shard, flip(12))
    expectFormatError(await readFailure(path), shard, /^chunk \d+\.\d+\.\d+$/)
  })

  it("the blosc header check accepts every chunk of the zarr-python blosc fixtures", () => {
    for (const name of ["v2-uint16-blosc-lz4.zarr", "v2-float32-blosc-zstd-bit.zarr", "v2-float64-blosc-lz4.zarr", "v2-int16-blosc-lz4.zarr", "v2-uint16-blosc-zstd-bit.zarr"]) {
      const path = nodePath.join(FIXTURES, "zarr", name)
      for (const f of fs.readdirSync(path).filter((f) => !f.startsWith("."))) {
        const h = checkBloscHeader(new Uint8Array(fs.readFileSync(nodePath.join(path, f))))
        expect(h.nbytes).toBeGreaterThan(0)
      }
    }
  })
})

// ---------------------------------------------------------------------------------------------
// TIFF: committed fixtures, StripByteCounts of page 0's strip 0 changed

/** Where page 0's StripByteCounts values are in a classic TIFF, and how to read and write one. */
const stripCounts = (b: Uint8Array) => {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength)
  const le = b[0] === 0x49
  const ifd = dv.getUint32(4, le)
  const entries = dv.getUint16(ifd, le)
  for (let e = 0; e < entries; e++) {
    const at = ifd + 2 + 12 * e
    if (dv.getUint16(at, le) !== 279) continue
    const type = dv.getUint16(at + 2, le)
    const count = dv.getUint32(at + 4, le)
    const size = type === 3 ? 2 : 4
    const values = count * size <= 4 ? at + 8 : dv.getUint32(at + 8, le)
    const get = (i: number) => (size === 2 ? dv.getUint16(values + i * 2, le) : dv.getUint32(values + i * 4, le))
    const set = (i: number, v: number) => (size === 2 ? dv.setUint16(values + i * 2, v, le) : dv.setUint32(values + i * 4, v, le))
    return { get, set }
  }
  throw new Error("no StripByteCounts in IFD 0")
}

/** A copy of a TIFF fixture whose strip 0 (page 0) byte count is changed by `f`. */
const tiffWithCount = (name: string, f: (count: number, size: number) => number) => {
  const b = new Uint8Array(fs.readFileSync(nodePath.join(FIXTURES, "tiff", name)))
  const counts = stripCounts(b)
  counts.set(0, f(counts.get(0), b.length))
  const to = fresh(nodePath.basename(name))
  fs.writeFileSync(to, b)
  return to
}

describe("corrupt TIFF strips", () => {
  const cases: ReadonlyArray<readonly [string, string, (count: number, size: number) => number]> = [
    // A truncated Zstd strip decoded to 16 MB of garbage, which was accepted as more than enough.
    ["zstd", "compressed/zstd_float32.tif", (c) => c - 5],
    ["deflate", "compressed/zlib_uint16.tif", (c) => c - 5],
    ["adobe deflate", "compressed/adobe_deflate_uint16.tif", (c) => c - 5],
    ["LZW", "compressed/lzw_uint8.tif", (c) => c - 5],
    // PackBits reading into the next strip's bytes decoded to more than the strip, which was accepted.
    ["PackBits", "compressed/packbits_uint8.tif", (c) => c + 3],
    ["uncompressed, a byte count one more than its rows", "classic/uint16.tif", (c) => c + 1],
    ["uncompressed, a byte count past the file's end", "classic/uint16.tif", (_c, size) => size]
  ]
  for (const [what, name, f] of cases) {
    it(`${what}: strip 0 of page 0 with a wrong byte count is a FormatError naming it; a run leaves no output`, async () => {
      const path = tiffWithCount(name, f)
      expectFormatError(await readFailure(path), path, /^page 0 .*strip 0\b/)
      expectFormatError(await runFailure(path), path, /^page 0 .*strip 0\b/)
    })
  }

  it("slicewise run: a Zstd strip cut short fails in one line naming the strip, exit 1, no output", () => {
    const path = tiffWithCount("compressed/zstd_float32.tif", (c) => c - 5)
    expectCliFailure(path, path, /strip 0/)
  }, 60_000)
})

// ---------------------------------------------------------------------------------------------
// NIfTI .nii.gz: the gzip member's trailer and its end

describe("corrupt .nii.gz members", () => {
  const cases: Record<string, Corrupt> = {
    "cut short": truncate(10),
    "CRC-32 flipped": flip(-6),
    "ISIZE flipped": flip(-2),
    "a deflate byte flipped": flip(-20),
    "junk after the member": append(1, 2, 3, 4)
  }
  for (const [what, corrupt] of Object.entries(cases)) {
    it(`int16.nii.gz, ${what}: a FormatError naming the compressed byte; a run leaves no output`, async () => {
      const path = fresh("int16.nii.gz")
      fs.copyFileSync(nodePath.join(FIXTURES, "nifti", "int16.nii.gz"), path)
      corruptFile(path, corrupt)
      expectFormatError(await readFailure(path), path, /compressed byte \d+/)
      expectFormatError(await runFailure(path), path, /compressed byte \d+/)
    })
  }

  it("slicewise run: a member cut short fails in one line naming the byte, exit 1, no output", () => {
    const path = fresh("int16.nii.gz")
    fs.copyFileSync(nodePath.join(FIXTURES, "nifti", "int16.nii.gz"), path)
    corruptFile(path, truncate(10))
    expectCliFailure(path, path, /compressed byte \d+/)
  }, 60_000)
})

// ---------------------------------------------------------------------------------------------
// NRRD encoding: bzip2 — a block of bzip2's own output damaged, or the stream cut short

describe("corrupt NRRD bzip2 data", () => {
  const bz2 = new Uint8Array(fs.readFileSync(nodePath.join(FIXTURES, "bzip2", "multiblock-1.bz2")))
  const header = "NRRD0004\ntype: uint8\ndimension: 3\nsizes: 250 100 12\nencoding: bzip2\n\n"
  /** Byte offsets (in the .bz2) where each block's 48-bit magic starts, found bit by bit. */
  const blockBytes = (() => {
    const out: Array<number> = []
    const bit = (i: number) => (bz2[i >>> 3]! >>> (7 - (i & 7))) & 1
    for (let i = 32; i + 48 <= bz2.length * 8; i++) {
      let hi = 0
      let lo = 0
      for (let k = 0; k < 24; k++) hi = hi * 2 + bit(i + k)
      if (hi !== 0x314159) continue
      for (let k = 24; k < 48; k++) lo = lo * 2 + bit(i + k)
      if (lo === 0x265359) out.push(i >>> 3)
    }
    return out
  })()
  const nrrdWith = (f: Corrupt) => {
    const path = fresh("bz2.nrrd")
    fs.writeFileSync(path, Buffer.concat([Buffer.from(header), f(bz2)]))
    return path
  }

  it("the fixture has several blocks", () => expect(blockBytes.length).toBeGreaterThanOrEqual(3))

  for (const k of [1, 2, 3]) {
    it(`a byte flipped in block ${k}: a FormatError naming block ${k}; a run leaves no output`, async () => {
      const path = nrrdWith(flip(blockBytes[k - 1]! + 300))
      expectFormatError(await readFailure(path), path, new RegExp(`^block ${k}, compressed byte \\d+`))
      expectFormatError(await runFailure(path), path, new RegExp(`^block ${k}, compressed byte \\d+`))
    })
  }

  it("cut short, or junk after the stream: a FormatError naming the compressed byte", async () => {
    for (const corrupt of [truncate(1000), truncate(3), append(1, 2, 3, 4, 5)]) {
      const path = nrrdWith(corrupt)
      expectFormatError(await readFailure(path), path, /compressed byte \d+/)
    }
  })

  it("slicewise run: a damaged block fails in one line naming the file and block, exit 1, no output", () => {
    const path = nrrdWith(flip(blockBytes[1]! + 300))
    expectCliFailure(path, path, /block 2, compressed byte \d+/)
  }, 60_000)
})
