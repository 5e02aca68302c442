/**
 * Reading one page's pixel data into a slice buffer. Uncompressed strips are read with positional
 * reads straight into the slice (back-to-back strips in one read); tiles and compressed blocks go
 * through a reused scratch buffer, several adjacent blocks per read. Exactly the bytes counted by
 * `TiffPage.readBytes` are read.
 *
 * @example
 * ```ts
 * const scratch = new BlockScratch()
 * const bytes = new Uint8Array(slice.buffer, slice.byteOffset, slice.byteLength)
 * const n = await readPageInto(fd, path, page, bytes, scratch, "auto")   // n === page.readBytes
 * ```
 */
import { FormatError } from "../../algebra/io-errors.js"
import { readFully, swapBytes } from "../files.js"
import { undoFloatPredictor, undoHorizontalPredictor } from "./bytes.js"
import { decompressBlock } from "./decode.js"
import type { RowRange } from "../../algebra/slices.js"
import type { TiffPage } from "./page.js"
import { Compression } from "./tags.js"

/**
 * How uncompressed data reaches the slice buffer. The kernel's copy from the page cache runs ~3×
 * slower when the destination address sits 4–12 bytes past the source's offset within a 4 KiB page,
 * ~1.5× slower at 16–28 (measured in bench/tiff-read.ts). "direct" always reads into the slice;
 * "staged" reads into a page-aligned scratch view at the source's page offset, then copies;
 * "auto" stages only when the slice's address is predicted to fall in that window. The address of
 * an ArrayBuffer is not observable; the prediction assumes what glibc does for large allocations
 * (mmap: 16 bytes past a page), which holds for buffers allocated before the process frees any.
 */
export type ReadStrategy = "direct" | "staged" | "auto"

// Adjacent blocks are read together up to this many bytes.
const GROUP_BYTES = 4 * 1024 * 1024
// glibc serves allocations this large with mmap: such buffers start 16 bytes past a page boundary.
const MMAP_BYTES = 128 * 1024
const MMAP_PHASE = 16

// The lib settings here declare no WebAssembly value; Node has it.
const Wasm = (globalThis as unknown as { WebAssembly: { Memory: new (d: { initial: number }) => { buffer: ArrayBuffer } } })
  .WebAssembly

/**
 * A zeroed buffer of at least `bytes` bytes whose first byte sits on a page boundary, and the
 * known offset of that first byte within its page. WebAssembly memories are page-aligned; a plain
 * large ArrayBuffer (the fallback, if the engine refuses a memory) is assumed to start 16 bytes in.
 */
const pageAlignedBuffer = (bytes: number): { readonly bytes: Uint8Array; readonly phase: number } => {
  try {
    const memory = new Wasm.Memory({ initial: Math.ceil(bytes / 65536) })
    return { bytes: new Uint8Array(memory.buffer), phase: 0 }
  } catch {
    return { bytes: new Uint8Array(Math.max(bytes, MMAP_BYTES)), phase: MMAP_PHASE }
  }
}

/** Buffers reused across reads by one reader: growing, never shrinking. */
export class BlockScratch {
  io = new Uint8Array(0)
  row = new Uint8Array(0)
  private staging: Uint8Array = new Uint8Array(0)
  private stagingPhase = 0

  ioOf(bytes: number): Uint8Array {
    if (this.io.length < bytes) this.io = new Uint8Array(bytes)
    return this.io
  }

  rowOf(bytes: number): Uint8Array {
    if (this.row.length < bytes) this.row = new Uint8Array(bytes)
    return this.row
  }

  /** A view of `bytes` bytes whose address has the same offset within a page as `filePos`. */
  stagingFor(bytes: number, filePos: number): Uint8Array {
    if (this.staging.length < bytes + 4096) {
      const b = pageAlignedBuffer(bytes + 4096)
      this.staging = b.bytes
      this.stagingPhase = b.phase
    }
    const at = (((filePos - this.stagingPhase) % 4096) + 4096) % 4096
    return this.staging.subarray(at, at + bytes)
  }
}

/** Reads exactly `length` bytes at `filePos` into `into[offset…]`; the file ending first is a FormatError. */
const readExactly = async (
  fd: number,
  path: string,
  position: string,
  into: Uint8Array,
  offset: number,
  length: number,
  filePos: number
): Promise<void> => {
  const got = await readFully(fd, into.subarray(offset, offset + length), filePos)
  if (got < length) {
    throw new FormatError({
      path,
      position: `${position} at byte ${filePos + got}`,
      detail: `the file ended ${length - got} bytes early`,
      hint: "was it truncated or replaced after it was opened?"
    })
  }
}

const badPhase = (dst: Uint8Array, dstOffset: number, filePos: number): boolean => {
  if (dst.buffer.byteLength < MMAP_BYTES) return false
  const rel = (((dst.byteOffset + dstOffset + MMAP_PHASE - filePos) % 4096) + 4096) % 4096
  return rel > 0 && rel < 32
}

/** Reads `length` file bytes at `filePos` into `dst[dstOffset…]`, staging if the strategy says so. */
const readRun = async (
  fd: number,
  path: string,
  position: string,
  dst: Uint8Array,
  dstOffset: number,
  length: number,
  filePos: number,
  strategy: ReadStrategy,
  scratch: BlockScratch
): Promise<void> => {
  if (strategy === "staged" || (strategy === "auto" && badPhase(dst, dstOffset, filePos))) {
    const view = scratch.stagingFor(length, filePos)
    await readExactly(fd, path, position, view, 0, length, filePos)
    dst.set(view, dstOffset)
  } else {
    await readExactly(fd, path, position, dst, dstOffset, length, filePos)
  }
}

/**
 * Reads page `page` of the open file into `dst` (exactly one slice of bytes), in host byte order.
 * Returns the bytes read from the file, which is `page.readBytes`.
 * `fd` is a raw fd: run this inside `Effect.uninterruptible(attempt(…))` (see ../files.ts).
 *
 * @example
 * ```ts
 * const n = await readPageInto(fd, path, pages[z], bytesOf(slice), new BlockScratch())
 * ```
 */
export const readPageInto = (
  fd: number,
  path: string,
  page: TiffPage,
  dst: Uint8Array,
  scratch: BlockScratch,
  strategy: ReadStrategy = "auto"
): Promise<number> => readPageRowsInto(fd, path, page, { start: 0, end: page.height }, dst, scratch, strategy)

/** The blocks (strips, or rows of tiles) holding rows `rows`: indices first … end − 1. */
const blocksOfRows = (page: TiffPage, rows: RowRange): { readonly first: number; readonly end: number } => {
  const across = page.tiled ? page.blocksAcross : 1
  return {
    first: Math.floor(rows.start / page.blockHeight) * across,
    end: (Math.floor((rows.end - 1) / page.blockHeight) + 1) * across
  }
}

/**
 * Bytes a read of rows `rows` of `page` reads: those rows of uncompressed strips, or every block
 * that holds one of them.
 */
export const pageRowReadBytes = (page: TiffPage, rows: RowRange): number => {
  if (page.compression === Compression.None && !page.tiled) return (rows.end - rows.start) * page.width * page.bytesPerSample
  const { first, end } = blocksOfRows(page, rows)
  let bytes = 0
  for (let k = first; k < end; k++) bytes += page.lengths[k]!
  return bytes
}

/**
 * Reads rows `rows` of `page` into `dst` (exactly those rows), in host byte order; returns the
 * bytes read from the file (`pageRowReadBytes`). Uncompressed strips: positional reads of just
 * those rows; tiles and compressed strips: the blocks that hold them, decoded, rows copied out.
 */
export const readPageRowsInto = async (
  fd: number,
  path: string,
  page: TiffPage,
  rows: RowRange,
  dst: Uint8Array,
  scratch: BlockScratch,
  strategy: ReadStrategy = "auto"
): Promise<number> => {
  const swap = !page.littleEndian && page.bytesPerSample > 1
  const rowBytes = page.width * page.bytesPerSample
  if (page.compression === Compression.None && !page.tiled) {
    if (page.contiguousAt >= 0) {
      const length = (rows.end - rows.start) * rowBytes
      await readRun(fd, path, page.label, dst, 0, length, page.contiguousAt + rows.start * rowBytes, strategy, scratch)
    } else {
      // Each strip's share of the rows; adjacent shares (strips back to back) in one read.
      let runFile = -1
      let runDst = 0
      let runLength = 0
      let runFirst = 0
      for (let k = Math.floor(rows.start / page.blockHeight); k * page.blockHeight < rows.end; k++) {
        const y0 = k * page.blockHeight
        const from = Math.max(rows.start, y0)
        const to = Math.min(rows.end, y0 + page.blockHeight)
        const at = page.offsets[k]! + (from - y0) * rowBytes
        const length = (to - from) * rowBytes
        if (runFile >= 0 && at === runFile + runLength) {
          runLength += length
          continue
        }
        if (runFile >= 0) await readRun(fd, path, `${page.label} strip ${runFirst}`, dst, runDst, runLength, runFile, strategy, scratch)
        runDst = (from - rows.start) * rowBytes
        runFile = at
        runLength = length
        runFirst = k
      }
      await readRun(fd, path, `${page.label} strip ${runFirst}`, dst, runDst, runLength, runFile, strategy, scratch)
    }
    if (swap) swapBytes(dst, page.bytesPerSample)
    return (rows.end - rows.start) * rowBytes
  }
  await readBlocks(fd, path, page, dst, scratch, rows)
  if (swap && page.compression === Compression.None) swapBytes(dst, page.bytesPerSample)
  return pageRowReadBytes(page, rows)
}

/**
 * Tiles and compressed strips: grouped reads into scratch, then per block decode and copy. With
 * `rows`, only the blocks holding them, and only those rows are copied (`dst` holds just them).
 */
const readBlocks = async (
  fd: number,
  path: string,
  page: TiffPage,
  dst: Uint8Array,
  scratch: BlockScratch,
  rows: RowRange = { start: 0, end: page.height }
): Promise<void> => {
  const { offsets, lengths, blockWidth, blockHeight, blocksAcross, width, height, bytesPerSample: bps } = page
  const { first, end: blocks } = blocksOfRows(page, rows)
  const rowBytes = width * bps
  const blockRowBytes = blockWidth * bps
  let b = first
  while (b < blocks) {
    // Group blocks that follow each other in the file.
    let end = b + 1
    let groupBytes = lengths[b]!
    while (end < blocks && offsets[end] === offsets[end - 1]! + lengths[end - 1]! && groupBytes + lengths[end]! <= GROUP_BYTES) {
      groupBytes += lengths[end]!
      end++
    }
    const io = scratch.ioOf(groupBytes)
    const kind = page.tiled ? "tile" : "strip"
    await readExactly(fd, path, `${page.label} ${kind} ${b}`, io, 0, groupBytes, offsets[b]!)
    let at = 0
    for (let k = b; k < end; k++) {
      const length = lengths[k]!
      const x0 = page.tiled ? (k % blocksAcross) * blockWidth : 0
      const y0 = page.tiled ? Math.floor(k / blocksAcross) * blockHeight : k * blockHeight
      const blockRows = Math.min(blockHeight, height - y0)
      const cols = Math.min(blockWidth, width - x0)
      // A strip may hold only its own rows; a tile always holds the whole tile.
      const needed = (page.tiled ? blockHeight : blockRows) * blockRowBytes
      let block: Uint8Array
      if (page.compression === Compression.None) {
        block = io.subarray(at, at + length)
      } else {
        const decoded = await decodeBlock(path, page, kind, k, io, at, length, needed, blockRows, scratch)
        block = decoded
      }
      // The block's rows that were asked for, relative to the block.
      const r0 = Math.max(0, rows.start - y0)
      const r1 = Math.min(blockRows, rows.end - y0)
      if (!page.tiled) {
        dst.set(block.subarray(r0 * rowBytes, r1 * rowBytes), (y0 + r0 - rows.start) * rowBytes)
      } else {
        const copy = cols * bps
        for (let r = r0; r < r1; r++) {
          const src = r * blockRowBytes
          dst.set(block.subarray(src, src + copy), ((y0 + r - rows.start) * width + x0) * bps)
        }
      }
      at += length
    }
    b = end
  }
}

const decodeBlock = async (
  path: string,
  page: TiffPage,
  kind: string,
  k: number,
  io: Uint8Array,
  at: number,
  length: number,
  needed: number,
  rows: number,
  scratch: BlockScratch
): Promise<Uint8Array> => {
  // Exactly the block's bytes; a short last strip may also hold a whole strip's rows (some writers pad it).
  const whole = page.blockHeight * page.blockWidth * page.bytesPerSample
  let decoded: Uint8Array
  try {
    decoded = await decompressBlock(page.compression, io.subarray(at, at + length), Math.max(needed, whole))
  } catch (cause) {
    throw new FormatError({
      path,
      position: `${page.label} ${kind} ${k} at byte ${page.offsets[k]}`,
      detail: `cannot decompress: ${cause instanceof Error ? cause.message : String(cause)}`,
      hint: "the file is corrupt"
    })
  }
  if (decoded.byteLength !== needed && decoded.byteLength !== whole) {
    throw new FormatError({
      path,
      position: `${page.label} ${kind} ${k} at byte ${page.offsets[k]}`,
      detail: `its ${length} bytes decompress to ${decoded.byteLength} bytes, expected ${needed}${whole !== needed ? ` (or ${whole}, a whole ${kind})` : ""}`,
      hint: "the file is corrupt or truncated"
    })
  }
  const block = decoded.subarray(0, needed)
  const bps = page.bytesPerSample
  // Rows to un-predict: a tile's rows all hold data (padding included); a strip's only its own.
  const predictedRows = page.tiled ? page.blockHeight : rows
  if (page.predictor === 3) {
    undoFloatPredictor(block, page.blockWidth, predictedRows, bps, scratch.rowOf(page.blockWidth * bps))
  } else {
    if (!page.littleEndian && bps > 1) swapBytes(block, bps)
    if (page.predictor === 2) undoHorizontalPredictor(block, page.blockWidth, predictedRows, bps)
  }
  return block
}
