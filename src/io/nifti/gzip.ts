/**
 * A forward cursor over the decompressed bytes of a gzip file, driven block by block so that the
 * compressed bytes read before any decompressed position are a deterministic function of the
 * file: the scan that a NIfTI source does at open and the reads its reader does later agree, byte
 * for byte, on how many compressed bytes each slice costs.
 *
 * fflate's Gunzip is synchronous and incremental (Node's zlib streams are neither), and hands out
 * fresh arrays; it does not check the gzip CRC, so this cursor does (per member, with node:zlib's
 * native crc32 where Node has it, a table loop in JavaScript elsewhere).
 *
 * @example
 * ```ts
 * const cursor = new GzCursor(fd, "brain.nii.gz", fileSize)
 * await cursor.fill(header)            // the first 352 decompressed bytes
 * cursor.compressedRead                // compressed bytes read so far (whole blocks)
 * ```
 */
import { Gunzip } from "fflate"
import * as zlib from "node:zlib"
import { FormatError } from "../../algebra/io-errors.js"
import { readFully } from "../files.js"

/** Compressed bytes read per step, at most. */
export const GZ_BLOCK = 64 * 1024

/** The decompressed bytes a block should yield, on average, when choosing a file's block size. */
const BLOCK_OUTPUT = 256 * 1024

/**
 * The compressed block size for a file of `fileSize` bytes that decompresses to `rawBytes`: a power
 * of two from 4 KiB to 64 KiB that yields about 256 KiB per block. A block's output waits whole
 * until it is used, so a label map that compresses 40:1 would otherwise hold megabytes per block.
 *
 * @example
 * ```ts
 * gzBlockBytes(3_500_000, 7_100_000)   // 65536: a T1 image, about 2:1
 * gzBlockBytes(160_000, 7_100_000)     // 4096: a label map, about 44:1
 * ```
 */
export const gzBlockBytes = (fileSize: number, rawBytes: number): number => {
  if (!(rawBytes > 0) || !(fileSize > 0)) return GZ_BLOCK
  let block = GZ_BLOCK
  while (block > 4096 && (block * rawBytes) / fileSize > 2 * BLOCK_OUTPUT) block /= 2
  return block
}

/**
 * The uncompressed size a gzip file's last trailer states (ISIZE: modulo 2³², of its last member
 * only), for choosing a block size; 0 if the file is too short to have one.
 */
export const gzStatedSize = async (fd: number, fileSize: number): Promise<number> => {
  if (fileSize < 18) return 0
  const trailer = new Uint8Array(4)
  const got = await readFully(fd, trailer, fileSize - 4)
  return got === 4 ? new DataView(trailer.buffer).getUint32(0, true) : 0
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
    t[n] = c >>> 0
  }
  return t
})()

/** CRC-32 by table, for Node versions without zlib.crc32 (exported for its test). */
export const crcByTable = (crc: number, bytes: Uint8Array): number => {
  let c = ~crc >>> 0
  const t = CRC_TABLE
  for (let i = 0; i < bytes.length; i++) c = t[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8)
  return ~c >>> 0
}

/** CRC-32 of `bytes` continuing `crc`: node:zlib's native one where Node has it (20.15, 22.2 on). */
const crcUpdate: (crc: number, bytes: Uint8Array) => number =
  typeof zlib.crc32 === "function" ? (crc, bytes) => zlib.crc32(bytes, crc) : crcByTable

export class GzCursor {
  /** Compressed bytes read from the file so far. */
  compressedRead = 0
  /** Decompressed bytes handed out (or skipped) so far. */
  position = 0
  /** The most decompressed bytes one block has yielded so far. */
  largestBlockOutput = 0
  private readonly block: Uint8Array
  private readonly queue: Array<Uint8Array> = []
  private head = 0
  private ended = false
  private crc = 0
  private memberOut = 0
  private members = 1
  private readonly gunzip: Gunzip

  constructor(
    private readonly fd: number,
    private readonly path: string,
    private readonly fileSize: number,
    /** Compressed bytes read per step (`gzBlockBytes`); a scan and the reads after it use one size. */
    blockBytes: number = GZ_BLOCK
  ) {
    this.block = new Uint8Array(blockBytes)
    this.gunzip = new Gunzip((chunk, final) => {
      if (chunk.length > 0) {
        this.queue.push(chunk)
        this.crc = crcUpdate(this.crc, chunk)
        this.memberOut += chunk.length
      }
      if (final) this.ended = true
    })
    this.gunzip.onmember = () => {
      // A new member starts: the previous one's CRC was already covered by inflate's own checks
      // only in part, and its trailer is behind us; restart the running CRC for this member.
      this.crc = 0
      this.memberOut = 0
      this.members++
    }
  }

  /** Bytes decompressed and waiting. */
  private get buffered(): number {
    let n = -this.head
    for (const c of this.queue) n += c.length
    return n
  }

  private corrupt(detail: string): FormatError {
    return new FormatError({
      path: this.path,
      position: `compressed byte ${this.compressedRead} (decompressed byte ${this.position + this.buffered})`,
      detail,
      hint: "the .gz file is damaged or truncated"
    })
  }

  /** Reads and decompresses one more block; false at the end of the file. */
  private async step(): Promise<boolean> {
    if (this.compressedRead >= this.fileSize) return false
    const n = await readFully(this.fd, this.block.subarray(0, Math.min(this.block.length, this.fileSize - this.compressedRead)), this.compressedRead)
    if (n === 0) throw this.corrupt(`the file ends at byte ${this.compressedRead}, shorter than when it was opened`)
    this.compressedRead += n
    const before = this.buffered
    try {
      this.gunzip.push(this.block.subarray(0, n), this.compressedRead >= this.fileSize)
    } catch (e) {
      throw this.corrupt(`gzip data cannot be decompressed: ${e instanceof Error ? e.message : String(e)}`)
    }
    this.largestBlockOutput = Math.max(this.largestBlockOutput, this.buffered - before)
    return true
  }

  /** Fills `target` with the next decompressed bytes (or, with `discard`, skips that many). */
  async fill(target: Uint8Array, what: string): Promise<void> {
    let got = 0
    while (got < target.length) {
      if (this.queue.length === 0) {
        if (this.ended || !(await this.step())) {
          throw new FormatError({
            path: this.path,
            position: `decompressed byte ${this.position}`,
            detail: `the decompressed data end ${target.length - got} bytes before the end of ${what}`,
            hint: "the file is truncated, or its header declares more voxels than it holds"
          })
        }
        continue
      }
      const c = this.queue[0]!
      const take = Math.min(c.length - this.head, target.length - got)
      target.set(c.subarray(this.head, this.head + take), got)
      got += take
      this.head += take
      this.position += take
      if (this.head === c.length) {
        this.queue.shift()
        this.head = 0
      }
    }
  }

  /** Skips `n` decompressed bytes, decompressing them into `scratch`-sized pieces. */
  async skip(n: number, scratch: Uint8Array, what: string): Promise<void> {
    let left = n
    while (left > 0) {
      const k = Math.min(left, scratch.length)
      await this.fill(scratch.subarray(0, k), what)
      left -= k
    }
  }

  /**
   * Reads to the end of the file and checks the gzip trailer of the last member (CRC-32 and size).
   * Decompressed bytes after the data (trailing padding) are allowed and dropped.
   */
  async finish(): Promise<void> {
    while (await this.step()) {
      // keep reading: the trailer, and anything after the voxels, must still decompress cleanly
    }
    if (!this.ended) throw this.corrupt("the gzip stream does not end where the file ends")
    this.queue.length = 0
    this.head = 0
    const trailer = new Uint8Array(8)
    const got = await readFully(this.fd, trailer, this.fileSize - 8)
    if (got === 8) {
      const dv = new DataView(trailer.buffer)
      const crc = dv.getUint32(0, true)
      const size = dv.getUint32(4, true)
      if (crc !== this.crc || size !== this.memberOut % 2 ** 32)
        throw this.corrupt(
          `gzip check failed${this.members > 1 ? ` (member ${this.members})` : ""}: CRC ${this.crc.toString(16)} and size ${this.memberOut} decompressed, the trailer says CRC ${crc.toString(16)} and size ${size}`
        )
    }
  }
}
