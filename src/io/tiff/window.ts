/**
 * A read-through window over a file for parsing metadata: positional reads of a few KiB at a time,
 * so that walking a chain of IFDs costs a handful of reads rather than one per field. The read size
 * doubles (up to `maxChunk`) while reads follow each other, as when IFDs are stored together, and
 * falls back to 4 KiB when they jump, as when IFDs sit between pages of pixels.
 *
 * @example
 * ```ts
 * const w = new FileWindow(fd, size, 1024 * 1024, true)
 * await w.ensure(0, 8)
 * w.u16(2)   // 42 for a classic little-endian TIFF
 * ```
 */
import { readFully } from "../files.js"

const MIN_CHUNK = 4096

export class FileWindow {
  private buf: Uint8Array
  private view: DataView
  private start = 0
  private end = 0
  private chunk = MIN_CHUNK
  /** Bytes read from the file so far (metadata reads, for diagnostics). */
  bytesRead = 0

  constructor(
    private readonly fd: number,
    readonly size: number,
    private readonly maxChunk: number,
    public littleEndian: boolean
  ) {
    this.buf = new Uint8Array(Math.min(MIN_CHUNK, Math.max(size, 16)))
    this.view = new DataView(this.buf.buffer)
  }

  /**
   * Makes bytes [offset, offset + length) available; false if they lie past the end of the file.
   */
  async ensure(offset: number, length: number): Promise<boolean> {
    if (offset < 0 || offset + length > this.size) return false
    if (offset >= this.start && offset + length <= this.end) return true
    const sequential = this.end > 0 && offset >= this.start && offset <= this.end + this.chunk
    this.chunk = sequential ? Math.min(this.chunk * 2, Math.max(this.maxChunk, MIN_CHUNK)) : MIN_CHUNK
    const want = Math.min(Math.max(length, this.chunk), this.size - offset)
    if (want > this.buf.length) {
      this.buf = new Uint8Array(want)
      this.view = new DataView(this.buf.buffer)
    }
    const got = await readFully(this.fd, this.buf.subarray(0, want), offset)
    this.bytesRead += got
    this.start = offset
    this.end = offset + got
    return got >= length
  }

  u8(offset: number): number {
    return this.buf[offset - this.start]!
  }

  u16(offset: number): number {
    return this.view.getUint16(offset - this.start, this.littleEndian)
  }

  u32(offset: number): number {
    return this.view.getUint32(offset - this.start, this.littleEndian)
  }

  /** An unsigned 64-bit value as a number; NaN when it exceeds 2^53 (no file is that large). */
  u64(offset: number): number {
    const lo = this.view.getUint32(offset - this.start + (this.littleEndian ? 0 : 4), this.littleEndian)
    const hi = this.view.getUint32(offset - this.start + (this.littleEndian ? 4 : 0), this.littleEndian)
    return hi >= 0x200000 ? NaN : hi * 0x100000000 + lo
  }

  i8(offset: number): number {
    return this.view.getInt8(offset - this.start)
  }

  i16(offset: number): number {
    return this.view.getInt16(offset - this.start, this.littleEndian)
  }

  i32(offset: number): number {
    return this.view.getInt32(offset - this.start, this.littleEndian)
  }

  i64(offset: number): number {
    return Number(this.view.getBigInt64(offset - this.start, this.littleEndian))
  }

  f32(offset: number): number {
    return this.view.getFloat32(offset - this.start, this.littleEndian)
  }

  f64(offset: number): number {
    return this.view.getFloat64(offset - this.start, this.littleEndian)
  }

  /** Raw bytes, copied out. */
  bytes(offset: number, length: number): Uint8Array {
    return this.buf.slice(offset - this.start, offset - this.start + length)
  }
}
