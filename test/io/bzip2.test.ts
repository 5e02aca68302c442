/**
 * The streaming bzip2 decoder (src/io/bzip2.ts) and NRRD `encoding: bzip2`.
 *
 * 1. Fixtures made by bzip2 1.0.8 (scripts/fixtures/make_bzip2_fixtures.sh, committed: bzip2 is not
 *    on every Debian machine) decode to the length and SHA-256 that the script recorded from
 *    bzip2's own input: levels 1 and 9, empty, one byte, RLE1 runs, random bytes, several blocks,
 *    concatenated streams.
 * 2. Where bzip2 is installed, data made at run time round-trip too (skipped elsewhere).
 * 3. Damage: hand-built streams with bad tables, and fixtures with a flipped bit, cut short or
 *    followed by junk, each a typed error naming the file, the block and the byte.
 * 4. NRRD: attached and detached, both byte orders, byte skip, several streams, slices read in any
 *    order with exact byte accounting, and a decoded size that differs from the header refused.
 */
import { execFileSync } from "node:child_process"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as nodePath from "node:path"
import { fileURLToPath } from "node:url"
import { afterEach, beforeEach, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { FormatError, UnsupportedError } from "../../src/algebra/io-errors.js"
import { Bz2Decoder } from "../../src/io/bzip2.js"
import { openNrrd } from "../../src/io/nrrd.js"
import { makeTempDir, pseudoRandomBytes, readVolume, removeDir } from "./nrrd-helpers.js"

const FIXTURES = nodePath.join(nodePath.dirname(fileURLToPath(import.meta.url)), "..", "fixtures", "bzip2")

interface Fixture {
  readonly file: string
  readonly level: number
  readonly bytes: number
  readonly sha256: string
  readonly note: string
}
const manifest = JSON.parse(fs.readFileSync(nodePath.join(FIXTURES, "manifest.json"), "utf8")) as { readonly fixtures: ReadonlyArray<Fixture> }
const fixture = (name: string): Fixture => manifest.fixtures.find((f) => f.file === name)!
const fixtureBytes = (name: string): Uint8Array => new Uint8Array(fs.readFileSync(nodePath.join(FIXTURES, name)))
const sha256 = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex")

let dir = ""
beforeEach(() => {
  dir = makeTempDir()
})
afterEach(() => removeDir(dir))

/** Decodes a whole file with Bz2Decoder, `piece` bytes per read; the decoder is returned for its counters. */
const decodeFile = (path: string, piece = 1 << 16): { readonly bytes: Uint8Array; readonly decoder: Bz2Decoder } => {
  const fd = fs.openSync(path, "r")
  try {
    const decoder = new Bz2Decoder(fd, path, 0, fs.fstatSync(fd).size)
    const parts: Array<Uint8Array> = []
    const buf = new Uint8Array(piece)
    for (let n; (n = decoder.read(buf, 0, piece)) > 0; ) parts.push(buf.slice(0, n))
    return { bytes: new Uint8Array(Buffer.concat(parts)), decoder }
  } finally {
    fs.closeSync(fd)
  }
}

const decodeBytes = (data: Uint8Array, name = "x.bz2") => {
  const path = nodePath.join(dir, name)
  fs.writeFileSync(path, data)
  return { path, ...decodeFile(path) }
}

/** The error decoding `data` fails with (the test fails if it decodes). */
const decodeError = (data: Uint8Array): { readonly path: string; readonly error: FormatError | UnsupportedError } => {
  const path = nodePath.join(dir, "bad.bz2")
  fs.writeFileSync(path, data)
  try {
    decodeFile(path)
  } catch (e) {
    if (e instanceof FormatError || e instanceof UnsupportedError) return { path, error: e }
    throw e
  }
  throw new Error("decoded without an error")
}

/** Bit offsets at which a 48-bit magic (block 0x314159265359) starts, searched bit by bit. */
const magicOffsets = (b: Uint8Array, hi = 0x314159, lo = 0x265359): Array<number> => {
  const out: Array<number> = []
  const bit = (i: number) => (b[i >>> 3]! >>> (7 - (i & 7))) & 1
  const read = (at: number, n: number) => {
    let v = 0
    for (let k = 0; k < n; k++) v = v * 2 + bit(at + k)
    return v
  }
  for (let i = 32; i + 48 <= b.length * 8; i++) if (read(i, 24) === hi && read(i + 24, 24) === lo) out.push(i)
  return out
}

const flipped = (b: Uint8Array, at: number, mask = 0x10): Uint8Array => {
  const c = Uint8Array.from(b)
  c[at] = c[at]! ^ mask
  return c
}

describe("bzip2 fixtures made by bzip2 1.0.8", () => {
  it("the manifest covers the cases", () => {
    const names = manifest.fixtures.map((f) => f.file)
    for (const n of ["empty.bz2", "one-byte.bz2", "runs.bz2", "text-1.bz2", "text-9.bz2", "random-9.bz2", "multiblock-1.bz2", "concatenated.bz2"]) expect(names).toContain(n)
    expect(fixtureBytes("text-1.bz2").subarray(0, 4)).toEqual(new Uint8Array([0x42, 0x5a, 0x68, 0x31]))
    expect(fixtureBytes("text-9.bz2").subarray(0, 4)).toEqual(new Uint8Array([0x42, 0x5a, 0x68, 0x39]))
  })

  for (const f of manifest.fixtures)
    it(`${f.file} (${f.note}) decodes to its ${f.bytes} bytes, in any piece size`, () => {
      const path = nodePath.join(FIXTURES, f.file)
      for (const piece of [1 << 16, 4093, ...(f.bytes < 60_000 ? [1] : [])]) {
        const { bytes, decoder } = decodeFile(path, piece)
        expect(bytes.length).toBe(f.bytes)
        expect(sha256(bytes)).toBe(f.sha256)
        expect(decoder.compressedRead).toBe(fs.statSync(path).size)
        expect(decoder.produced).toBe(f.bytes)
      }
    })

  it("several blocks and several streams are counted", () => {
    expect(decodeFile(nodePath.join(FIXTURES, "multiblock-1.bz2")).decoder.blocks).toBeGreaterThanOrEqual(3)
    expect(magicOffsets(fixtureBytes("multiblock-1.bz2")).length).toBeGreaterThanOrEqual(3)
    const cat = decodeFile(nodePath.join(FIXTURES, "concatenated.bz2")).decoder
    expect(cat.streams).toBe(3)
    expect(cat.level).toBe(9)
    expect(decodeFile(nodePath.join(FIXTURES, "empty.bz2")).decoder.blocks).toBe(0)
  })

  it("the decoder holds one block: its tt array is sized by the level", () => {
    expect(Bz2Decoder.bufferBytes(1)).toBeLessThan(600_000)
    expect(Bz2Decoder.bufferBytes(9)).toBeGreaterThanOrEqual(3_600_000)
    expect(Bz2Decoder.bufferBytes(9)).toBeLessThan(3_800_000)
  })
})

const hasBzip2 = (() => {
  try {
    execFileSync("bzip2", ["--help"], { stdio: "ignore" })
    return true
  } catch {
    return false
  }
})()

describe.skipIf(!hasBzip2)("round trips through the installed bzip2", () => {
  const compress = (data: Uint8Array, level: number): Uint8Array => new Uint8Array(execFileSync("bzip2", [`-${level}`, "-c"], { input: data, maxBuffer: 1 << 28 }))

  it("random, compressible and run-heavy data at levels 1, 5 and 9", () => {
    const n = 250_000
    const random = pseudoRandomBytes(n, 7)
    const steps = new Uint8Array(n).map((_, i) => (i >> 9) & 0xff)
    const runny = new Uint8Array(n).map((_, i) => (random[i >> 6]! < 40 ? random[i]! : (i >> 11) & 3))
    for (const level of [1, 5, 9])
      for (const data of [random, steps, runny]) {
        const { bytes } = decodeBytes(compress(data, level))
        expect(Buffer.from(bytes).equals(Buffer.from(data))).toBe(true)
      }
  })
})

// ---------------------------------------------------------------------------------------------
// Damage

/** Writes bits most significant first, for hand-built streams. */
class BitWriter {
  private readonly bytes: Array<number> = []
  private acc = 0
  private n = 0
  bits(count: number, value: number): this {
    for (let i = count - 1; i >= 0; i--) {
      this.acc = (this.acc << 1) | ((value / 2 ** i) & 1)
      if (++this.n === 8) {
        this.bytes.push(this.acc)
        this.acc = 0
        this.n = 0
      }
    }
    return this
  }
  /** The bytes so far, padded with zero bits, and `pad` zero bytes more (so that no check sees the end). */
  done(pad = 64): Uint8Array {
    const out = [...this.bytes, ...(this.n > 0 ? [this.acc << (8 - this.n)] : []), ...new Array<number>(pad).fill(0)]
    return Uint8Array.from(out)
  }
}

/** "BZh9" and a block header up to its symbol map (bytes 0x41, 0x42: alphabet RUNA, RUNB, MTF 1, EOB). */
const blockStart = (randomised = 0): BitWriter =>
  new BitWriter()
    .bits(8, 0x42).bits(8, 0x5a).bits(8, 0x68).bits(8, 0x39)
    .bits(24, 0x314159).bits(24, 0x265359)
    .bits(32, 0x12345678)
    .bits(1, randomised)
    .bits(24, 0)
    .bits(16, 0x0200) // 16-byte range 4 (0x40…0x4f) in use
    .bits(16, 0x6000) // of it, 0x41 and 0x42

/** Code lengths for one table of `alphaSize` symbols, all equal to `len`, delta-coded. */
const lengths = (w: BitWriter, alphaSize: number, len: number) => {
  w.bits(5, len)
  for (let s = 0; s < alphaSize; s++) w.bits(1, 0)
}

describe("damaged bzip2 streams are typed errors naming the file and position", () => {
  it("a randomised block is refused as unsupported (obsolete since bzip2 0.9.5)", () => {
    const { path, error } = decodeError(blockStart(1).done())
    expect(error).toBeInstanceOf(UnsupportedError)
    expect(error.path).toBe(path)
    expect(error.message).toContain("block 1 is randomised")
  })

  it("7 Huffman tables, 0 selectors, a selector past the tables: bad tables", () => {
    let e = decodeError(blockStart().bits(3, 7).done()).error as FormatError
    expect(e.detail).toMatch(/bad Huffman tables: 7 tables/)
    expect(e.position).toMatch(/^block 1, compressed byte \d+/)
    e = decodeError(blockStart().bits(3, 2).bits(15, 0).done()).error as FormatError
    expect(e.detail).toContain("no selectors")
    e = decodeError(blockStart().bits(3, 2).bits(15, 1).bits(2, 0b11).done()).error as FormatError
    expect(e.detail).toMatch(/bad selector 0: it names table 2 of 2/)
  })

  it("a code length of 0 or 21, and lengths that over-subscribe the code space: bad tables", () => {
    const tables = () => blockStart().bits(3, 2).bits(15, 1).bits(1, 0)
    let e = decodeError(tables().bits(5, 0).done()).error as FormatError
    expect(e.detail).toMatch(/bad Huffman table 0: symbol 0 has code length 0/)
    const w = tables().bits(5, 20)
    w.bits(2, 0b10) // 20 → 21
    e = decodeError(w.done()).error as FormatError
    expect(e.detail).toMatch(/code length 21/)
    // Four symbols of length 1: no prefix code has them.
    const over = tables()
    lengths(over, 4, 1)
    e = decodeError(over.done()).error as FormatError
    expect(e.detail).toMatch(/bad Huffman table 0: .*over-subscribe/)
    expect(e.position).toMatch(/^block 1, /)
  })

  it("a block whose symbols outrun its selectors, and an origPtr outside the block", () => {
    // Two tables of lengths 2 (RUNA 00, RUNB 01, MTF 1 10, EOB 11); one selector, then 51 MTF 1s.
    const w = blockStart().bits(3, 2).bits(15, 1).bits(1, 0)
    lengths(w, 4, 2)
    lengths(w, 4, 2)
    for (let i = 0; i < 51; i++) w.bits(2, 0b10)
    expect((decodeError(w.done()).error as FormatError).detail).toContain("outrun its 1 selectors")
    // MTF 1, EOB: a block of 1 byte (0x42), but origPtr 5.
    const v = new BitWriter()
      .bits(32, 0x425a6839).bits(24, 0x314159).bits(24, 0x265359).bits(32, 0).bits(1, 0).bits(24, 5)
      .bits(16, 0x0200).bits(16, 0x6000).bits(3, 2).bits(15, 1).bits(1, 0)
    lengths(v, 4, 2)
    lengths(v, 4, 2)
    v.bits(2, 0b10).bits(2, 0b11)
    expect((decodeError(v.done()).error as FormatError).detail).toContain("origPtr 5 is outside the block of 1 bytes")
  })

  it("a flipped bit in a block's stored CRC: a block CRC mismatch naming block 1", () => {
    // "BZh9", the 6-byte block magic, then the block's CRC at bytes 10…13.
    const { path, error } = decodeError(flipped(fixtureBytes("text-9.bz2"), 12, 0x01))
    expect(error).toBeInstanceOf(FormatError)
    expect(error.path).toBe(path)
    expect((error as FormatError).position).toBe("block 1, compressed byte 4 (decompressed byte 0)")
    expect((error as FormatError).detail).toMatch(/^block CRC mismatch: the block decodes to CRC 0x[0-9a-f]{8}, its header says 0x[0-9a-f]{8}$/)
  })

  it("a flipped bit inside each block of a multi-block stream names that block", () => {
    const data = fixtureBytes("multiblock-1.bz2")
    const starts = magicOffsets(data).map((bit) => bit >>> 3)
    expect(starts.length).toBeGreaterThanOrEqual(3)
    const ends = [...starts.slice(1), data.length - 12]
    starts.forEach((start, k) => {
      const { error } = decodeError(flipped(data, Math.floor((start + ends[k]!) / 2)))
      expect(error).toBeInstanceOf(FormatError)
      expect((error as FormatError).position).toMatch(new RegExp(`^block ${k + 1}, compressed byte \\d+`))
    })
  })

  it("a flipped bit in the stream's combined CRC: a stream CRC mismatch", () => {
    const data = fixtureBytes("text-9.bz2")
    const error = decodeError(flipped(data, data.length - 2, 0x01)).error as FormatError
    expect(error.detail).toMatch(/^stream CRC mismatch/)
    expect(error.position).toMatch(/^end of stream 1, compressed byte \d+$/)
  })

  it("cut short anywhere: a FormatError saying where the data end", () => {
    const data = fixtureBytes("multiblock-1.bz2")
    for (const keep of [data.length - 1, data.length - 6, data.length - 11, Math.floor(data.length / 2), 40, 10, 3]) {
      const { path, error } = decodeError(data.subarray(0, keep))
      expect(error, `cut to ${keep}`).toBeInstanceOf(FormatError)
      expect(error.path).toBe(path)
      expect((error as FormatError).detail, `cut to ${keep}`).toMatch(new RegExp(`the bzip2 data end at byte ${keep}, inside`))
      expect((error as FormatError).hint).toBe("the file is truncated")
    }
    expect((decodeError(new Uint8Array(0)).error as FormatError).detail).toContain("no bzip2 data")
  })

  it("bytes after the last stream: junk is refused (bzip2 -d would ignore it), a partial header is a truncation", () => {
    const data = fixtureBytes("text-9.bz2")
    const junk = decodeError(Uint8Array.from([...data, 0x67, 0x61, 0x72, 0x62, 0x61, 0x67, 0x65])).error as FormatError
    expect(junk.detail).toBe("7 bytes after the end of bzip2 stream 1 do not begin another stream")
    expect(junk.position).toBe(`compressed byte ${data.length}`)
    expect(junk.hint).toContain("trailing garbage")
    const zeros = decodeError(Uint8Array.from([...data, 0, 0, 0, 0, 0])).error as FormatError
    expect(zeros.detail).toContain("do not begin another stream")
    const partial = decodeError(Uint8Array.from([...data, 0x42, 0x5a, 0x68])).error as FormatError
    expect(partial.hint).toBe("the file is truncated")
  })

  it("not bzip2 at all, and a bad level digit", () => {
    expect((decodeError(Uint8Array.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0])).error as FormatError).detail).toMatch(/^not a bzip2 stream: it starts with bytes 1f 8b 08 00/)
    const data = fixtureBytes("one-byte.bz2")
    data[3] = 0x30
    expect((decodeError(data).error as FormatError).detail).toContain('not "BZh1"…"BZh9"')
  })

  it("a bad block magic names the block", () => {
    const data = fixtureBytes("one-byte.bz2")
    const e = decodeError(flipped(data, 5, 0x01)).error as FormatError
    expect(e.detail).toMatch(/^no block or end-of-stream magic: found 314059265359/)
    expect(e.position).toMatch(/^block 1, /)
  })
})

// ---------------------------------------------------------------------------------------------
// NRRD

const nrrdHeader = (fields: ReadonlyArray<string>) => ["NRRD0004", ...fields].join("\n") + "\n"

const writeAttached = (name: string, fields: ReadonlyArray<string>, data: Uint8Array): string => {
  const path = nodePath.join(dir, name)
  fs.writeFileSync(path, Buffer.concat([Buffer.from(nrrdHeader(fields) + "\n"), data]))
  return path
}

const orders = (depth: number) => ({
  forward: Array.from({ length: depth }, (_, z) => z),
  backward: Array.from({ length: depth }, (_, z) => depth - 1 - z),
  shuffled: Array.from({ length: depth }, (_, z) => (z * 5 + 2) % depth)
})

describe("NRRD encoding: bzip2", () => {
  const multi = fixture("multiblock-1.bz2")
  const multiData = fixtureBytes("multiblock-1.bz2")

  it.effect("attached uint8, 12 slices over 4 blocks: every order, exact bytes read", () =>
    Effect.gen(function* () {
      const path = writeAttached("u8.nrrd", ["type: uint8", "dimension: 3", "sizes: 250 100 12", "encoding: bzip2"], multiData)
      const src = yield* openNrrd(path)
      expect(src.format).toBe("nrrd-bz2")
      expect(src.details.encoding).toBe("bzip2")
      expect(src.readerBufferBytes).toBeGreaterThanOrEqual(400_000)
      expect(src.readerBufferBytes).toBeLessThan(1_000_000)
      let sum = 0
      for (let z = 0; z < 12; z++) sum += src.sliceReadBytes(z)
      expect(sum).toBe(multiData.length)
      // A 100 kB block serves about 4 slices of 25 kB: some slices cost nothing, some a block.
      expect(Array.from({ length: 12 }, (_, z) => src.sliceReadBytes(z)).filter((c) => c === 0).length).toBeGreaterThan(0)
      for (const [kind, order] of Object.entries(orders(12))) {
        const back = yield* readVolume(src, order, kind === "forward")
        expect(sha256(back.bytes), kind).toBe(multi.sha256)
        expect(back.bytesRead, kind).toBe(sum)
      }
      // Forward to slice 4, then back: the stream once up to slice 4, then once whole into the raw copy.
      const turn = [0, 1, 2, 3, 4, 11, 10, 9, 8, 7, 6, 5]
      const turned = yield* readVolume(src, turn, false)
      expect(sha256(turned.bytes)).toBe(multi.sha256)
      expect(turned.bytesRead).toBe(sum + [0, 1, 2, 3, 4].reduce((a, z) => a + src.sliceReadBytes(z), 0))
    })
  )

  it.effect("uint16 big-endian (bytes swapped) and little-endian", () =>
    Effect.gen(function* () {
      for (const endian of ["big", "little"] as const) {
        const path = writeAttached(`u16-${endian}.nrrd`, ["type: ushort", "dimension: 3", "sizes: 250 100 6", `endian: ${endian}`, "encoding: bz2"], multiData)
        const { bytes } = yield* readVolume(yield* openNrrd(path), orders(6).backward, false)
        if (endian === "big") for (let i = 0; i < bytes.length; i += 2) [bytes[i], bytes[i + 1]] = [bytes[i + 1]!, bytes[i]!]
        expect(sha256(bytes)).toBe(multi.sha256)
      }
    })
  )

  it.effect("detached .nhdr + .raw.bz2 with a byte skip of decompressed bytes", () =>
    Effect.gen(function* () {
      fs.writeFileSync(nodePath.join(dir, "v.raw.bz2"), multiData)
      const path = nodePath.join(dir, "v.nhdr")
      fs.writeFileSync(path, nrrdHeader(["type: uint8", "dimension: 3", "sizes: 100 50 59", "encoding: bzip2", "byte skip: 5000", "data file: v.raw.bz2"]))
      const src = yield* openNrrd(path)
      expect(src.details["data file"]).toBe(nodePath.join(dir, "v.raw.bz2"))
      let sum = 0
      for (let z = 0; z < 59; z++) sum += src.sliceReadBytes(z)
      expect(sum).toBe(multiData.length)
      const whole = decodeFile(nodePath.join(FIXTURES, "multiblock-1.bz2")).bytes
      for (const [kind, order] of Object.entries(orders(59))) {
        const back = yield* readVolume(src, order, kind === "forward")
        expect(Buffer.from(back.bytes).equals(Buffer.from(whole.subarray(5000))), kind).toBe(true)
        expect(back.bytesRead, kind).toBe(sum)
      }
    })
  )

  it.effect("data in three concatenated streams", () =>
    Effect.gen(function* () {
      const f = fixture("concatenated.bz2")
      expect(f.bytes).toBe(3 * 33877)
      const path = writeAttached("cat.nrrd", ["type: uchar", "dimension: 3", "sizes: 33877 1 3", "encoding: bzip2"], fixtureBytes(f.file))
      const back = yield* readVolume(yield* openNrrd(path))
      expect(sha256(back.bytes)).toBe(f.sha256)
    })
  )

  it.effect("data that decode to fewer or more bytes than the header declares are refused at open", () =>
    Effect.gen(function* () {
      const more = writeAttached("more.nrrd", ["type: uint8", "dimension: 3", "sizes: 250 100 13", "encoding: bzip2"], multiData)
      const e1 = yield* Effect.flip(openNrrd(more))
      expect(e1._tag).toBe("FormatError")
      expect((e1 as FormatError).path).toBe(more)
      expect(e1.message).toContain("slice 12")
      expect(e1.message).toContain("the bzip2 data decode to 300000 bytes")
      const fewer = writeAttached("fewer.nrrd", ["type: uint8", "dimension: 3", "sizes: 250 100 11", "encoding: bzip2"], multiData)
      const e2 = yield* Effect.flip(openNrrd(fewer))
      expect(e2._tag).toBe("FormatError")
      expect(e2.message).toContain("decode to 300000 bytes, 25000 more than the header declares (275000)")
    })
  )

  it.effect("a damaged block or a cut stream fails at open, naming the data file and the block", () =>
    Effect.gen(function* () {
      const headerLength = nrrdHeader(["type: uint8", "dimension: 3", "sizes: 250 100 12", "encoding: bzip2"]).length + 1
      const second = magicOffsets(multiData)[1]! >>> 3
      const damaged = writeAttached("d.nrrd", ["type: uint8", "dimension: 3", "sizes: 250 100 12", "encoding: bzip2"], flipped(multiData, second + 500))
      const e = (yield* Effect.flip(openNrrd(damaged))) as FormatError
      expect(e._tag).toBe("FormatError")
      expect(e.path).toBe(damaged)
      expect(e.position).toMatch(/^block 2, compressed byte (\d+)/)
      expect(Number(/compressed byte (\d+)/.exec(e.position)![1])).toBeGreaterThanOrEqual(headerLength + second)
      const cut = writeAttached("c.nrrd", ["type: uint8", "dimension: 3", "sizes: 250 100 12", "encoding: bzip2"], multiData.subarray(0, 50_000))
      const c = (yield* Effect.flip(openNrrd(cut))) as FormatError
      expect(c.detail).toContain(`the bzip2 data end at byte ${headerLength + 50_000}`)
    })
  )

  it.effect("byte skip -1 with bzip2 is a FormatError naming the line", () =>
    Effect.gen(function* () {
      const path = writeAttached("b.nrrd", ["type: uint8", "dimension: 3", "sizes: 250 100 12", "encoding: bzip2", "byte skip: -1"], multiData)
      const e = yield* Effect.flip(openNrrd(path))
      expect(e._tag).toBe("FormatError")
      expect(e.message).toContain("byte skip -1 with bzip2 encoding")
    })
  )
})
