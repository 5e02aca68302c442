/**
 * Streaming bzip2 decompression (NRRD `encoding: bzip2`), slice by slice, in pure TypeScript.
 *
 * No well-kept streaming bzip2 decoder exists on npm, so this is one of our own, written from the
 * format: a stream is "BZh" and a level digit 1…9 (block size level × 100 000 bytes), then blocks,
 * each with the 48-bit magic 0x314159265359, the CRC of its decoded bytes, a randomised bit (an
 * obsolete option, refused), origPtr, the symbol map, 2…6 Huffman tables chosen per 50 symbols by
 * MTF-coded selectors, and the MTF/RLE2 symbols (RUNA/RUNB); the block is then un-sorted (inverse
 * BWT) and its initial run-length coding (RLE1: 4 equal bytes and a repeat count) undone. The
 * stream ends with the magic 0x177245385090 and the CRC of its block CRCs. Several streams may
 * follow one another, as `bzip2 -d` accepts.
 *
 * Memory is one block: the tt array (4 bytes per byte of block, 3.6 MB at level 9), allocated once
 * per decoder for the largest level met, the 64 KiB input chunk and a few small tables; decoded
 * bytes go straight into the caller's buffer, never into a block-sized output buffer. The compressed
 * input is read in whole chunks with synchronous positional reads, so the bytes read before any
 * decompressed position are a function of the file alone: the scan at open and the readers after it
 * agree on each slice's cost, as with gzip (../gzip.ts, whose slice machinery is reused here).
 *
 * Damage is a FormatError naming the file, the block and the compressed byte: a bad magic, bad
 * Huffman tables or selectors, a block longer than its level allows, a block CRC or stream CRC
 * mismatch, a truncated stream. Trailing bytes after the last stream that do not begin another one
 * are refused too: `bzip2 -d` warns "trailing garbage after EOF ignored" and exits 0, but the data
 * of an NRRD file end where the file ends, and slicewise refuses junk after a gzip member alike.
 *
 * @example
 * ```ts
 * const decoder = new Bz2Decoder(fd, "vol.raw.bz2", 0, fileSize)
 * const out = new Uint8Array(1 << 20)
 * for (let n; (n = decoder.read(out, 0, out.length)) > 0; ) use(out.subarray(0, n))
 * decoder.compressedRead                       // === fileSize at the end
 * ```
 */
import * as fs from "node:fs"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { FormatError, type IoError, UnsupportedError } from "../algebra/io-errors.js"
import { openStreamSlices, scanSliceCosts, type SliceCursor, type StreamSliceReader, type StreamSlices } from "./gzip.js"

/** Compressed bytes read per step. */
export const BZ2_CHUNK = 64 * 1024

const BLOCK_MAGIC_HI = 0x314159
const BLOCK_MAGIC_LO = 0x265359
const EOS_MAGIC_HI = 0x177245
const EOS_MAGIC_LO = 0x385090
const MAX_GROUPS = 6
const MAX_ALPHA = 258
const MAX_CODE_LEN = 20
/** Symbols coded with one table before the next selector. */
const GROUP_SIZE = 50
/** bzip2 1.0.8 reads more selectors than this but ignores them (2 + 900 000 / 50). */
const MAX_SELECTORS = 18002
/** Codes up to this long are decoded by one table look-up; longer ones by canonical ranges. */
const FAST_BITS = 10
const FAST_MASK = (1 << FAST_BITS) - 1
/** Per-table stride of the per-length arrays (lengths 0…20). */
const LEN_STRIDE = MAX_CODE_LEN + 1

/** bzip2's CRC-32: polynomial 0x04c11db7, most significant bit first (not zlib's reflected one). */
const CRC_TABLE = (() => {
  const t = new Int32Array(256)
  for (let i = 0; i < 256; i++) {
    let c = i << 24
    for (let k = 0; k < 8; k++) c = c & 0x80000000 ? (c << 1) ^ 0x04c11db7 : c << 1
    t[i] = c
  }
  return t
})()

const hex = (n: number) => `0x${(n >>> 0).toString(16).padStart(8, "0")}`

/** What the decoder does next. */
const enum Phase {
  StreamHeader,
  BlockHeader,
  Output,
  Done
}

/**
 * A forward bzip2 decoder over bytes `start` to `start + length` of the open file `fd` (one or more
 * concatenated streams filling that range exactly). `read` decodes into the caller's buffer and
 * returns how many bytes it wrote, 0 at the end of the last stream; every check is done by the time
 * it returns 0. Synchronous: a block is decoded whole when its first byte is asked for.
 *
 * @example
 * ```ts
 * const d = new Bz2Decoder(fd, path, 0, size)
 * const slice = new Uint8Array(sliceBytes)
 * if (d.read(slice, 0, slice.length) < slice.length) throw new Error("short")
 * ```
 */
export class Bz2Decoder {
  /** Compressed bytes read from the file so far (whole chunks). */
  compressedRead = 0
  /** Decompressed bytes handed out so far. */
  produced = 0
  /** Blocks met so far, over all streams (1-based number of the current one). */
  blocks = 0
  /** Streams met so far. */
  streams = 0
  /** The largest level (block size in 100 000 bytes) met so far. */
  level = 0

  private readonly inBuf = new Uint8Array(BZ2_CHUNK)
  private inPos = 0
  private inLen = 0
  /** Offset (from `start`) of inBuf[0]. */
  private chunkBase = 0
  private bitBuf = 0
  private bitCount = 0

  private tt = new Uint32Array(0)
  private blockMax = 0
  private readonly unzftab = new Int32Array(256)
  private readonly cftab = new Int32Array(257)
  private readonly mtf = new Uint8Array(256)
  private readonly seqToUnseq = new Uint8Array(256)
  private readonly selectors = new Uint8Array(MAX_SELECTORS)
  private readonly lens = new Uint8Array(MAX_GROUPS * MAX_ALPHA)
  private readonly fast = new Int32Array(MAX_GROUPS << FAST_BITS)
  private readonly firstCode = new Int32Array(MAX_GROUPS * LEN_STRIDE)
  private readonly lenCount = new Int32Array(MAX_GROUPS * LEN_STRIDE)
  private readonly firstIndex = new Int32Array(MAX_GROUPS * LEN_STRIDE)
  private readonly perm = new Uint16Array(MAX_GROUPS * MAX_ALPHA)
  private readonly maxLen = new Int32Array(MAX_GROUPS)

  private phase = Phase.StreamHeader
  /** Bit offset at which the current block (or stream) started, for errors. */
  private blockStartBit = 0
  // Output of the current block: the inverse-BWT walk and RLE1 state.
  private blockLeft = 0
  private tPos = 0
  private lastCh = -1
  private runCount = 0
  private repeatLeft = 0
  private crc = -1
  private storedBlockCrc = 0
  private combinedCrc = 0
  private streamStartByte = 0

  constructor(
    private readonly fd: number,
    private readonly path: string,
    /** File offset of the first compressed byte. */
    private readonly start: number,
    /** Compressed bytes: the streams end exactly here. */
    private readonly length: number
  ) {}

  /** Drops the block array (3.6 MB at level 9); the decoder must not be read again. */
  release(): void {
    this.tt = new Uint32Array(0)
    this.phase = Phase.Done
  }

  /** Bytes of tables and buffers this decoder holds at `level` (for plans). */
  static bufferBytes(level: number): number {
    return 4 * 100_000 * level + BZ2_CHUNK + 64 * 1024
  }

  /**
   * Decodes up to `count` bytes into `target` from `offset`; returns how many were written (fewer
   * only at the end of the data, 0 once everything has been decoded and checked).
   */
  read(target: Uint8Array, offset: number, count: number): number {
    const end = offset + count
    let o = offset
    while (o < end) {
      if (this.phase === Phase.Output) {
        o = this.emit(target, o, end)
        if (this.blockLeft === 0 && this.repeatLeft === 0) this.endBlock()
      } else if (this.phase === Phase.Done) break
      else if (this.phase === Phase.StreamHeader) this.streamHeader()
      else this.blockHeader()
    }
    this.produced += o - offset
    return o - offset
  }

  // -------------------------------------------------------------------------------------------
  // Input

  /** Bits consumed from `start` on. */
  private consumedBits(): number {
    return (this.chunkBase + this.inPos) * 8 - this.bitCount
  }

  /** Loads the next chunk; past the end, zeros (noticed as truncation by `overrun`). */
  private refill(): void {
    const at = this.chunkBase + this.inLen
    this.chunkBase = at
    this.inPos = 0
    const want = Math.min(BZ2_CHUNK, this.length - at)
    if (want <= 0) {
      this.inBuf.fill(0, 0, 8)
      this.inLen = 8
      return
    }
    let got = 0
    while (got < want) {
      const n = fs.readSync(this.fd, this.inBuf, got, want - got, this.start + at + got)
      if (n === 0) break
      got += n
    }
    this.compressedRead += got
    this.inLen = got
    if (got < want) throw this.corrupt(`the file ends at byte ${this.start + at + got}, shorter than when it was opened`)
  }

  /** The next `n` bits (n ≤ 24), most significant first. */
  private bits(n: number): number {
    while (this.bitCount < n) {
      if (this.inPos >= this.inLen) this.refill()
      this.bitBuf = (this.bitBuf << 8) | this.inBuf[this.inPos++]!
      this.bitCount += 8
    }
    this.bitCount -= n
    return (this.bitBuf >>> this.bitCount) & ((1 << n) - 1)
  }

  private bits32(): number {
    return ((this.bits(16) << 16) | this.bits(16)) >>> 0
  }

  /** True when decoding has gone past the last compressed byte (into the zeros `refill` supplies). */
  private overrun(): boolean {
    return this.consumedBits() > this.length * 8
  }

  // -------------------------------------------------------------------------------------------
  // Errors

  private where(bit: number): string {
    const inBlock = this.phase === Phase.Output || this.phase === Phase.BlockHeader
    const block = inBlock && this.blocks > 0 ? `block ${this.blocks}${this.streams > 1 ? ` (stream ${this.streams})` : ""}, ` : ""
    return `${block}compressed byte ${this.start + Math.floor(bit / 8)} (decompressed byte ${this.produced})`
  }

  private corrupt(detail: string, bit: number = this.consumedBits()): FormatError {
    return new FormatError({ path: this.path, position: this.where(bit), detail, hint: "the .bz2 data are damaged" })
  }

  /** The error for damage found at the current position: truncation if decoding ran past the end. */
  private fail(detail: string): FormatError {
    if (!this.overrun()) return this.corrupt(detail)
    return new FormatError({
      path: this.path,
      position: this.where(this.length * 8),
      detail: `the bzip2 data end at byte ${this.start + this.length}, inside ${this.phase === Phase.StreamHeader ? "a stream header" : this.blocks > 0 ? `block ${this.blocks}` : "the stream"}`,
      hint: "the file is truncated"
    })
  }

  private checkOverrun(): void {
    if (this.overrun()) throw this.fail("")
  }

  // -------------------------------------------------------------------------------------------
  // Stream and block headers

  /** "BZh1"…"BZh9", or the end of the data after at least one stream. */
  private streamHeader(): void {
    const at = this.consumedBits() / 8
    const left = this.length - at
    this.blockStartBit = this.consumedBits()
    if (left === 0 && this.streams > 0) {
      this.phase = Phase.Done
      return
    }
    const b = this.bits(8)
    const z = this.bits(8)
    const h = this.bits(8)
    const level = this.bits(8) - 0x30
    const magicOk = b === 0x42 && z === 0x5a && h === 0x68 && level >= 1 && level <= 9
    if (!magicOk) {
      const prefix = [0x42, 0x5a, 0x68].slice(0, Math.min(left, 3))
      const seen = [b, z, h].slice(0, Math.min(left, 3))
      if (left < 4 && left > 0 && seen.every((v, i) => v === prefix[i]))
        throw this.fail("")
      if (this.streams === 0)
        throw new FormatError({
          path: this.path,
          position: `compressed byte ${this.start + at}`,
          detail: left === 0 ? "no bzip2 data: the data are empty" : `not a bzip2 stream: it starts with bytes ${[b, z, h, level + 0x30].slice(0, Math.min(left, 4)).map((v) => v.toString(16).padStart(2, "0")).join(" ")}, not "BZh1"…"BZh9"`,
          hint: left === 0 ? "the file is truncated" : "the header says bzip2 but the data are not bzip2-compressed"
        })
      throw new FormatError({
        path: this.path,
        position: `compressed byte ${this.start + at}`,
        detail: `${left} bytes after the end of bzip2 stream ${this.streams} do not begin another stream`,
        hint: "bzip2 -d ignores such trailing garbage with a warning; slicewise refuses it, as it refuses junk after a gzip member"
      })
    }
    this.checkOverrun()
    this.streams++
    this.streamStartByte = at
    this.level = Math.max(this.level, level)
    this.blockMax = level * 100_000
    if (this.tt.length < this.blockMax) this.tt = new Uint32Array(this.blockMax)
    this.combinedCrc = 0
    this.phase = Phase.BlockHeader
  }

  /** A block's header, tables and symbols (then its output is ready), or the stream's end. */
  private blockHeader(): void {
    this.blockStartBit = this.consumedBits()
    const hi = this.bits(24)
    const lo = this.bits(24)
    if (hi === EOS_MAGIC_HI && lo === EOS_MAGIC_LO) return this.streamEnd()
    this.blocks++
    if (hi !== BLOCK_MAGIC_HI || lo !== BLOCK_MAGIC_LO)
      throw this.fail(`no block or end-of-stream magic: found ${hex(hi).slice(4)}${hex(lo).slice(4)} (stream ${this.streams} started at byte ${this.start + this.streamStartByte})`)
    this.storedBlockCrc = this.bits32()
    if (this.bits(1) === 1) {
      this.checkOverrun()
      throw new UnsupportedError({
        path: this.path,
        detail: `block ${this.blocks} is randomised, an option bzip2 stopped writing in 0.9.5 (1999)`,
        hint: "recompress the data with a current bzip2"
      })
    }
    const origPtr = this.bits(24)
    const alphaSize = this.symbolMap()
    const nSelectors = this.readSelectors()
    this.readTables(alphaSize)
    this.checkOverrun()
    const nblock = this.decodeSymbols(alphaSize, nSelectors)
    this.checkOverrun()
    if (origPtr >= nblock) throw this.corrupt(`origPtr ${origPtr} is outside the block of ${nblock} bytes`, this.blockStartBit)
    this.inverseBwt(nblock, origPtr)
    this.phase = Phase.Output
  }

  /** The bytes used in the block (16 × 16 bits); returns the alphabet size (used + RUNA/RUNB/EOB − 1). */
  private symbolMap(): number {
    const used16 = this.bits(16)
    let nInUse = 0
    for (let i = 0; i < 16; i++) {
      if ((used16 & (0x8000 >>> i)) === 0) continue
      const used = this.bits(16)
      for (let j = 0; j < 16; j++) if (used & (0x8000 >>> j)) this.seqToUnseq[nInUse++] = i * 16 + j
    }
    if (nInUse === 0) throw this.fail("the block's symbol map uses no byte value")
    for (let i = 0; i < nInUse; i++) this.mtf[i] = this.seqToUnseq[i]!
    return nInUse + 2
  }

  /** The number of tables and the MTF-coded selector of each group of 50 symbols. */
  private readSelectors(): number {
    const nGroups = this.bits(3)
    if (nGroups < 2 || nGroups > MAX_GROUPS) throw this.fail(`bad Huffman tables: ${nGroups} tables (2…6 allowed)`)
    this.nGroups = nGroups
    let nSelectors = this.bits(15)
    if (nSelectors < 1) throw this.fail("bad Huffman tables: no selectors")
    const pos = [0, 1, 2, 3, 4, 5]
    for (let i = 0; i < nSelectors; i++) {
      let j = 0
      while (this.bits(1) === 1) {
        j++
        if (j >= nGroups) throw this.fail(`bad selector ${i}: it names table ${j} of ${nGroups}`)
      }
      if (i >= MAX_SELECTORS) continue
      const v = pos[j]!
      for (; j > 0; j--) pos[j] = pos[j - 1]!
      pos[0] = v
      this.selectors[i] = v
    }
    if (nSelectors > MAX_SELECTORS) nSelectors = MAX_SELECTORS
    return nSelectors
  }

  private nGroups = 0

  /** Each table's delta-coded code lengths, then its decoding tables. */
  private readTables(alphaSize: number): void {
    for (let g = 0; g < this.nGroups; g++) {
      let len = this.bits(5)
      for (let s = 0; s < alphaSize; s++) {
        for (;;) {
          if (len < 1 || len > MAX_CODE_LEN) throw this.fail(`bad Huffman table ${g}: symbol ${s} has code length ${len} (1…20 allowed)`)
          if (this.bits(1) === 0) break
          len += this.bits(1) === 0 ? 1 : -1
        }
        this.lens[g * MAX_ALPHA + s] = len
      }
      this.buildTable(g, alphaSize)
    }
  }

  /**
   * Canonical codes from the lengths (shortest first, by symbol within a length, as bzip2 assigns
   * them): a look-up table for codes up to FAST_BITS long, and per-length ranges for the rest.
   * An over-subscribed set of lengths (no prefix code has them) is refused; an incomplete one is
   * allowed, as bzip2 allows it, and a bit pattern outside it fails when met.
   */
  private buildTable(g: number, alphaSize: number): void {
    const lo = g * LEN_STRIDE
    const { lens, lenCount, firstCode, firstIndex, perm, fast } = this
    lenCount.fill(0, lo, lo + LEN_STRIDE)
    let maxLen = 0
    for (let s = 0; s < alphaSize; s++) {
      const l = lens[g * MAX_ALPHA + s]!
      lenCount[lo + l]!++
      if (l > maxLen) maxLen = l
    }
    let code = 0
    let index = 0
    for (let l = 1; l <= MAX_CODE_LEN; l++) {
      firstCode[lo + l] = code
      firstIndex[lo + l] = index
      code += lenCount[lo + l]!
      index += lenCount[lo + l]!
      if (code > 1 << l) throw this.fail(`bad Huffman table ${g}: its code lengths over-subscribe the code space at length ${l}`)
      code <<= 1
    }
    this.maxLen[g] = maxLen
    let k = g * MAX_ALPHA
    for (let l = 1; l <= maxLen; l++) for (let s = 0; s < alphaSize; s++) if (lens[g * MAX_ALPHA + s] === l) perm[k++] = s
    const base = g << FAST_BITS
    fast.fill(0, base, base + (1 << FAST_BITS))
    for (let i = 0; i < alphaSize; i++) {
      const s = perm[g * MAX_ALPHA + i]!
      const l = lens[g * MAX_ALPHA + s]!
      if (l > FAST_BITS) break
      const c = firstCode[lo + l]! + (i - firstIndex[lo + l]!)
      const from = base + (c << (FAST_BITS - l))
      fast.fill((s << 5) | l, from, from + (1 << (FAST_BITS - l)))
    }
  }

  /**
   * The Huffman-coded MTF/RLE2 symbols up to EOB, undone into tt's low bytes with the byte counts
   * in unzftab; returns the block's length. The hot loop: state in locals, no allocation.
   */
  private decodeSymbols(alphaSize: number, nSelectors: number): number {
    const { tt, fast, mtf, unzftab, selectors, firstCode, lenCount, firstIndex, perm, inBuf } = this
    const maxLens = this.maxLen
    const limit = this.blockMax
    const eob = alphaSize - 1
    unzftab.fill(0)
    let bitBuf = this.bitBuf
    let bitCount = this.bitCount
    let inPos = this.inPos
    let inLen = this.inLen
    let nblock = 0
    let runPos = 0
    let runLen = 0
    let selIdx = 0
    let groupLeft = 0
    let gFast = 0
    let gLen = 0
    let gPerm = 0
    let gMax = 0
    const sync = () => {
      this.bitBuf = bitBuf
      this.bitCount = bitCount
      this.inPos = inPos
    }
    for (;;) {
      if (groupLeft === 0) {
        if (selIdx >= nSelectors) {
          sync()
          throw this.fail(`the block's symbols outrun its ${nSelectors} selectors`)
        }
        const g = selectors[selIdx++]!
        gFast = g << FAST_BITS
        gLen = g * LEN_STRIDE
        gPerm = g * MAX_ALPHA
        gMax = maxLens[g]!
        groupLeft = GROUP_SIZE
      }
      groupLeft--
      while (bitCount < 24) {
        if (inPos >= inLen) {
          this.inPos = inPos
          this.refill()
          inPos = 0
          inLen = this.inLen
        }
        bitBuf = (bitBuf << 8) | inBuf[inPos++]!
        bitCount += 8
      }
      const e = fast[gFast | ((bitBuf >>> (bitCount - FAST_BITS)) & FAST_MASK)]!
      let sym: number
      if (e !== 0) {
        bitCount -= e & 31
        sym = e >>> 5
      } else {
        let len = FAST_BITS + 1
        for (;; len++) {
          if (len > gMax) {
            sync()
            throw this.fail(`bad Huffman code: no code of table ${selectors[selIdx - 1]} starts with these bits`)
          }
          const d = ((bitBuf >>> (bitCount - len)) & ((1 << len) - 1)) - firstCode[gLen + len]!
          if (d >= 0 && d < lenCount[gLen + len]!) {
            sym = perm[gPerm + firstIndex[gLen + len]! + d]!
            break
          }
        }
        bitCount -= len
      }
      if (sym <= 1) {
        // RUNA (0) and RUNB (1): a bijective base-2 run length of the front MTF byte.
        if (runPos > 20) {
          sync()
          throw this.fail(`a run longer than a block (more than ${limit} bytes)`)
        }
        runLen += (sym + 1) << runPos
        runPos++
        continue
      }
      if (runPos !== 0) {
        if (runLen > limit - nblock) {
          sync()
          throw this.fail(`the block is longer than level ${limit / 100_000} allows (${limit} bytes)`)
        }
        const b = mtf[0]!
        if (runLen < 16) for (let i = 0; i < runLen; i++) tt[nblock + i] = b
        else tt.fill(b, nblock, nblock + runLen)
        unzftab[b]! += runLen
        nblock += runLen
        runPos = 0
        runLen = 0
      }
      if (sym === eob) break
      let n = sym - 1
      const v = mtf[n]!
      if (n < 24) for (; n > 0; n--) mtf[n] = mtf[n - 1]!
      else mtf.copyWithin(1, 0, n)
      mtf[0] = v
      if (nblock >= limit) {
        sync()
        throw this.fail(`the block is longer than level ${limit / 100_000} allows (${limit} bytes)`)
      }
      tt[nblock++] = v
      unzftab[v]!++
    }
    sync()
    return nblock
  }

  /** Links tt into the walk that undoes the Burrows–Wheeler sort, and readies the block's output. */
  private inverseBwt(nblock: number, origPtr: number): void {
    const { tt, cftab, unzftab } = this
    cftab[0] = 0
    for (let i = 0; i < 256; i++) cftab[i + 1] = cftab[i]! + unzftab[i]!
    for (let i = 0; i < nblock; i++) {
      const uc = tt[i]! & 0xff
      tt[cftab[uc]!++]! |= i << 8
    }
    this.tPos = tt[origPtr]! >>> 8
    this.blockLeft = nblock
    this.lastCh = -1
    this.runCount = 0
    this.repeatLeft = 0
    this.crc = -1
  }

  // -------------------------------------------------------------------------------------------
  // Output

  /** Writes the block's next bytes (RLE1 undone, CRC updated) into target[o…end); returns the new o. */
  private emit(target: Uint8Array, o: number, end: number): number {
    const tt = this.tt
    let crc = this.crc
    let tPos = this.tPos
    let left = this.blockLeft
    let last = this.lastCh
    let run = this.runCount
    let rep = this.repeatLeft
    while (o < end) {
      if (rep > 0) {
        const k = Math.min(rep, end - o)
        target.fill(last, o, o + k)
        for (let i = 0; i < k; i++) crc = (crc << 8) ^ CRC_TABLE[(crc >>> 24) ^ last]!
        o += k
        rep -= k
        continue
      }
      if (left === 0) break
      tPos = tt[tPos]!
      const ch = tPos & 0xff
      tPos >>>= 8
      left--
      if (run === 4) {
        // After four equal bytes, a count of further copies (0…255); the next byte starts afresh.
        rep = ch
        run = 0
        continue
      }
      if (ch === last) run++
      else {
        last = ch
        run = 1
      }
      target[o++] = ch
      crc = (crc << 8) ^ CRC_TABLE[(crc >>> 24) ^ ch]!
    }
    this.crc = crc
    this.tPos = tPos
    this.blockLeft = left
    this.lastCh = last
    this.runCount = run
    this.repeatLeft = rep
    return o
  }

  /** The block's CRC against its header, then on to the next block. */
  private endBlock(): void {
    const got = ~this.crc >>> 0
    if (got !== this.storedBlockCrc)
      throw this.corrupt(`block CRC mismatch: the block decodes to CRC ${hex(got)}, its header says ${hex(this.storedBlockCrc)}`, this.blockStartBit)
    this.combinedCrc = (((this.combinedCrc << 1) | (this.combinedCrc >>> 31)) ^ got) >>> 0
    this.phase = Phase.BlockHeader
  }

  /** The end-of-stream marker's combined CRC, then padding to a byte. */
  private streamEnd(): void {
    const stored = this.bits32()
    this.checkOverrun()
    if (stored !== this.combinedCrc)
      throw new FormatError({
        path: this.path,
        position: `end of stream ${this.streams}, compressed byte ${this.start + Math.floor(this.blockStartBit / 8)}`,
        detail: `stream CRC mismatch: the blocks combine to CRC ${hex(this.combinedCrc)}, the stream's end says ${hex(stored)}`,
        hint: "the .bz2 data are damaged"
      })
    this.bitCount -= this.bitCount & 7
    this.phase = Phase.StreamHeader
  }
}

// ---------------------------------------------------------------------------------------------
// Slices of a bzip2 stream: the gzip machinery (scan at open, forward reader, raw copy) over a
// bzip2 cursor

/**
 * A forward cursor over the decompressed bytes of the bzip2 data from `start` to the end of the
 * file, for `scanSliceCosts` and `openStreamSlices`. Unlike a gzip cursor's, `finish` refuses
 * decompressed bytes after the ones taken: bzip2 data that decode to more than the header declares
 * are a FormatError.
 *
 * @example
 * ```ts
 * const cursor = new Bz2Cursor(fd, "vol.raw.bz2", fileSize, 0)
 * await cursor.fill(slice, "slice 0")
 * await cursor.finish()                // the streams' ends, their CRCs, nothing left over
 * ```
 */
export class Bz2Cursor implements SliceCursor {
  readonly decoder: Bz2Decoder
  position = 0

  constructor(
    fd: number,
    private readonly path: string,
    fileSize: number,
    start: number
  ) {
    this.decoder = new Bz2Decoder(fd, path, start, fileSize - start)
  }

  get compressedRead(): number {
    return this.decoder.compressedRead
  }

  async fill(target: Uint8Array, what: string): Promise<void> {
    const got = this.decoder.read(target, 0, target.length)
    this.position += got
    if (got < target.length)
      throw new FormatError({
        path: this.path,
        position: `decompressed byte ${this.position}`,
        detail: `the bzip2 data decode to ${this.position} bytes, ending ${target.length - got} bytes before the end of ${what}`,
        hint: "the file is truncated, or its header declares more voxels than it holds"
      })
  }

  async skip(n: number, scratch: Uint8Array, what: string): Promise<void> {
    for (let left = n; left > 0; ) {
      const k = Math.min(left, scratch.length)
      await this.fill(scratch.subarray(0, k), what)
      left -= k
    }
  }

  release(): void {
    this.decoder.release()
  }

  async finish(): Promise<void> {
    const scratch = new Uint8Array(BZ2_CHUNK)
    let extra = 0
    for (let n; (n = this.decoder.read(scratch, 0, scratch.length)) > 0; ) extra += n
    if (extra > 0)
      throw new FormatError({
        path: this.path,
        position: `decompressed byte ${this.position}`,
        detail: `the bzip2 data decode to ${this.position + extra} bytes, ${extra} more than the header declares (${this.position})`,
        hint: "the header's sizes, type or byte skip are wrong, or the data file is not this volume's"
      })
  }
}

/** Where a volume's slices are in bzip2 data, what reading them forward costs, and the level. */
export interface Bz2Slices extends StreamSlices {
  /** The largest block level (1…9) of the streams: the decoder's tt array is 400 kB per level. */
  readonly level: number
}

/** The scratch a skip decompresses into: a slice, at least a chunk and at most 4 MiB. */
const skipScratchBytes = (sliceBytes: number) => Math.max(BZ2_CHUNK, Math.min(sliceBytes, 1 << 22))

/**
 * Decompresses the bzip2 data from `start` to the end of the file once: checks every block and
 * stream CRC, that the data decode to exactly `skip + depth · sliceBytes` bytes, and records the
 * compressed bytes a forward reader needs before each slice is complete (`what` names the parts in
 * errors, as for `scanGzSlices`).
 *
 * @example
 * ```ts
 * const s = await scanBz2Slices(fd, "v.raw.bz2", size, { start: 0, skip: 0, sliceBytes: 65536, depth: 40 })
 * s.sliceCost.reduce((a, b) => a + b)   // === size
 * ```
 */
export const scanBz2Slices = async (
  fd: number,
  path: string,
  fileSize: number,
  layout: { readonly start: number; readonly skip: number; readonly sliceBytes: number; readonly depth: number },
  what: { readonly skip: string; readonly slice: (z: number) => string } = { skip: "the bytes before the data", slice: (z) => `slice ${z}` }
): Promise<Bz2Slices> => {
  const cursor = new Bz2Cursor(fd, path, fileSize, layout.start)
  const sliceCost = await scanSliceCosts(cursor, layout, what, new Uint8Array(skipScratchBytes(layout.sliceBytes)))
  return { path, fileSize, ...layout, sliceCost, level: cursor.decoder.level }
}

/** What a reader of `s` holds: the decoder (tt array, input chunk, tables) and the skip scratch. */
export const bz2ReaderBufferBytes = (s: Bz2Slices): number => Bz2Decoder.bufferBytes(s.level) + skipScratchBytes(s.sliceBytes)

/**
 * Opens a reader of `s` in the scope: slices in z order are decompressed as they come, and the
 * first one asked for out of order makes a raw copy of the volume in the spill directory (see
 * `openStreamSlices` in ./gzip.ts).
 *
 * @example
 * ```ts
 * const reader = yield* openBz2Slices(s, "nrrd")
 * yield* Effect.promise(() => reader.read(s.depth - 1, slice))   // backward: via the raw copy
 * ```
 */
export const openBz2Slices = (s: Bz2Slices, label: string, skipWhat?: string): Effect.Effect<StreamSliceReader, IoError, Scope.Scope> =>
  openStreamSlices(s, (fd) => new Bz2Cursor(fd, s.path, s.fileSize, s.start), skipScratchBytes(s.sliceBytes), label, skipWhat)
