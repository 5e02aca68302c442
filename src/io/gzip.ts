/**
 * Streaming gzip-compressed volumes (NIfTI `.nii.gz`, NRRD `encoding: gzip`) slice by slice.
 *
 * `GzCursor` is a forward cursor over the decompressed bytes of a gzip file, driven block by block so that the
 * compressed bytes read before any decompressed position are a deterministic function of the
 * file: the scan that a NIfTI source does at open and the reads its reader does later agree, byte
 * for byte, on how many compressed bytes each slice costs.
 *
 * fflate's Gunzip is synchronous and incremental (Node's zlib streams are neither), and hands out
 * fresh arrays; it does not check the gzip CRC, so this cursor does (per member, with node:zlib's
 * native crc32 where Node has it, a table loop in JavaScript elsewhere). fflate is loaded by the
 * first cursor opened (`openGzCursor`): importing it loads node:worker_threads (for its async API),
 * which a run that reads no gzip stream should not pay for.
 *
 * @example
 * ```ts
 * const cursor = await openGzCursor(fd, "brain.nii.gz", fileSize)
 * await cursor.fill(header)            // the first 352 decompressed bytes
 * cursor.compressedRead                // compressed bytes read so far (whole blocks)
 * ```
 */
import type { Gunzip } from "fflate"
import * as fs from "node:fs"
import * as nodePath from "node:path"
import * as zlib from "node:zlib"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { FormatError, type IoError } from "../algebra/io-errors.js"
import { crcTable, crcWith } from "../util/crc.js"
import { removeQuietly, temporarySuffix } from "./atomic.js"
import { attempt, openScoped, readFully, writeFully } from "./files.js"
import { spillDirectory } from "./spill.js"

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

const CRC_TABLE = crcTable(0xedb88320)

/** CRC-32 by table, for Node versions without zlib.crc32 (exported for its test). */
export const crcByTable = (crc: number, bytes: Uint8Array): number => crcWith(CRC_TABLE, crc, bytes)

/** CRC-32 of `bytes` continuing `crc`: node:zlib's native one where Node has it (20.15, 22.2 on). */
const crcUpdate: (crc: number, bytes: Uint8Array) => number =
  typeof zlib.crc32 === "function" ? (crc, bytes) => zlib.crc32(bytes, crc) : crcByTable

/** fflate's Gunzip, once the first cursor has been opened. */
let GunzipClass: typeof Gunzip | undefined
const loadGunzip = async (): Promise<void> => {
  GunzipClass ??= (await import("fflate")).Gunzip
}

/**
 * A forward cursor over the decompressed bytes of a compressed stream: what the slice machinery
 * below (`scanSliceCosts`, `openStreamSlices`) needs of a decompressor. `GzCursor` is one, and
 * `Bz2Cursor` (./bzip2.ts) another. Its compressed reads must be a function of the file and of how
 * far it has been read, so that a scan and the readers after it agree on each slice's cost.
 *
 * @example
 * ```ts
 * await cursor.skip(352, scratch, "the header")   // decompressed bytes skipped
 * await cursor.fill(slice, "slice 0")
 * await cursor.finish()                           // to the end of the file, with its checks
 * ```
 */
export interface SliceCursor {
  /** Compressed bytes read from the file so far. */
  readonly compressedRead: number
  /** Decompressed bytes handed out (or skipped) so far. */
  readonly position: number
  /** Fills `target` with the next decompressed bytes; a FormatError naming `what` if they end first. */
  fill(target: Uint8Array, what: string): Promise<void>
  /** Skips `n` decompressed bytes, decompressing them into `scratch`-sized pieces. */
  skip(n: number, scratch: Uint8Array, what: string): Promise<void>
  /** Reads to the end of the file and checks the stream's end. */
  finish(): Promise<void>
  /** Drops the cursor's large buffers (it is not read again), so a fresh cursor does not double them. */
  release?(): void
}

export class GzCursor implements SliceCursor {
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
    blockBytes: number = GZ_BLOCK,
    /** Where the gzip stream starts in the file (an attached NRRD header comes before it); it ends with the file. */
    private readonly start: number = 0
  ) {
    this.block = new Uint8Array(blockBytes)
    if (GunzipClass === undefined) throw new Error("internal: a GzCursor made before openGzCursor loaded fflate")
    this.gunzip = new GunzipClass((chunk, final) => {
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

  /** Compressed bytes read per step. */
  get blockBytes(): number {
    return this.block.length
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
      position: `compressed byte ${this.start + this.compressedRead} (decompressed byte ${this.position + this.buffered})`,
      detail,
      hint: "the .gz file is damaged or truncated"
    })
  }

  /** Reads and decompresses one more block; false at the end of the file. */
  private async step(): Promise<boolean> {
    const at = this.start + this.compressedRead
    if (at >= this.fileSize) return false
    const n = await readFully(this.fd, this.block.subarray(0, Math.min(this.block.length, this.fileSize - at)), at)
    if (n === 0) throw this.corrupt(`the file ends at byte ${at}, shorter than when it was opened`)
    this.compressedRead += n
    const before = this.buffered
    try {
      this.gunzip.push(this.block.subarray(0, n), this.start + this.compressedRead >= this.fileSize)
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

/** A cursor over the gzip stream from `start` to the end of the file, at the block size chosen for the file (`gzBlockBytes`). */
export const openGzCursor = async (fd: number, path: string, fileSize: number, start: number = 0): Promise<GzCursor> => {
  await loadGunzip()
  return new GzCursor(fd, path, fileSize, gzBlockBytes(fileSize - start, await gzStatedSize(fd, fileSize)), start)
}

// ---------------------------------------------------------------------------------------------
// Slices of a gzip stream: a scan at open, then readers that stream forward

/**
 * Where a volume's slices are in a compressed stream (gzip, bzip2), and what reading them forward
 * costs.
 */
export interface StreamSlices {
  readonly path: string
  readonly fileSize: number
  /** File offset at which the compressed stream starts. */
  readonly start: number
  /** Decompressed bytes before slice 0. */
  readonly skip: number
  readonly sliceBytes: number
  readonly depth: number
  /** Compressed bytes a forward reader reads before slice z is complete (the stream's end with the last). */
  readonly sliceCost: ReadonlyArray<number>
}

/** Where a volume's slices are in a gzip stream, and what reading them forward costs. */
export interface GzSlices extends StreamSlices {
  /** The block size chosen for the file (`gzBlockBytes`), used by every cursor over it. */
  readonly blockBytes: number
  /** The most decompressed bytes one block yielded: what a cursor holds at most. */
  readonly largestBlockOutput: number
}

/** The scratch a skip decompresses into: a slice, at least a block and at most 4 MiB. */
const skipScratchBytes = (sliceBytes: number) => Math.max(GZ_BLOCK, Math.min(sliceBytes, 1 << 22))

/**
 * Reads `cursor` from where it is to the end of the file: past the bytes before slice 0, through
 * every slice and the stream's end (`finish`). Returns the compressed bytes a forward reader needs
 * before each slice is complete; the compressed bytes the cursor had read already count toward
 * slice 0. A stream that ends early is the cursor's FormatError naming the part (`what`).
 *
 * @example
 * ```ts
 * const cost = await scanSliceCosts(cursor, { skip: 0, sliceBytes: 4096, depth: 8 }, what, scratch)
 * cost.reduce((a, b) => a + b)   // the compressed stream's length
 * ```
 */
export const scanSliceCosts = async (
  cursor: SliceCursor,
  layout: { readonly skip: number; readonly sliceBytes: number; readonly depth: number },
  what: { readonly skip: string; readonly slice: (z: number) => string },
  scratch: Uint8Array
): Promise<Array<number>> => {
  const { skip, sliceBytes, depth } = layout
  await cursor.skip(skip - cursor.position, scratch, what.skip)
  const sliceCost = new Array<number>(depth)
  let before = 0
  for (let z = 0; z < depth; z++) {
    await cursor.skip(sliceBytes, scratch, what.slice(z))
    if (z === depth - 1) await cursor.finish()
    sliceCost[z] = cursor.compressedRead - before
    before = cursor.compressedRead
  }
  return sliceCost
}

/**
 * Decompresses the stream from `start` to the end of the file once: checks the data and the gzip
 * trailer, and records the compressed bytes a forward reader needs before each slice is complete.
 * A stream shorter than `skip + depth · sliceBytes` decompressed bytes is a FormatError naming the
 * slice it ends in (`what(z)`). `from` continues a cursor (`openGzCursor` at `layout.start`) that has
 * already read part of the bytes before slice 0 (NIfTI parses its header from it first); the
 * compressed bytes it has read count toward slice 0.
 */
export const scanGzSlices = async (
  fd: number,
  path: string,
  fileSize: number,
  layout: { readonly start: number; readonly skip: number; readonly sliceBytes: number; readonly depth: number },
  what: { readonly skip: string; readonly slice: (z: number) => string } = { skip: "the bytes before the data", slice: (z) => `slice ${z}` },
  from?: GzCursor
): Promise<GzSlices> => {
  const { start, skip, sliceBytes, depth } = layout
  const cursor = from ?? (await openGzCursor(fd, path, fileSize, start))
  const sliceCost = await scanSliceCosts(cursor, layout, what, new Uint8Array(skipScratchBytes(sliceBytes)))
  return { path, fileSize, start, skip, sliceBytes, depth, blockBytes: cursor.blockBytes, sliceCost, largestBlockOutput: cursor.largestBlockOutput }
}

/**
 * What a reader of `s` holds: the block, the decompressor's window, a block's output twice (fflate
 * decodes into a buffer of its own and hands out a copy) and the skip scratch.
 */
export const gzReaderBufferBytes = (s: GzSlices): number => s.blockBytes + 32 * 1024 + 2 * s.largestBlockOutput + skipScratchBytes(s.sliceBytes)

/** A reader of the slices of a compressed stream, as raw bytes in the file's order. */
export interface StreamSliceReader {
  /** Fills `target` (sliceBytes long) with slice z. */
  readonly read: (z: number, target: Uint8Array) => Promise<void>
  /** Compressed bytes read so far (the raw copy's own reads not included: they are not the file's). */
  readonly bytesRead: () => number
}

/** A reader of the slices of a gzip stream (`openGzSlices`). */
export type GzSliceReader = StreamSliceReader

/**
 * Opens a reader of `s` in the scope. Slices in z order are decompressed as they come; the first
 * slice asked for out of order (a backward pass starts at the last slice) makes a raw copy of the
 * whole volume in the spill directory (removed with the scope), which serves that slice and every
 * later one: a pass in either direction reads the compressed file once, one that turns back
 * midway at most twice. `label` names the temporary (`slicewise-<label>…raw`); `skipWhat` names the
 * bytes before slice 0 in an error.
 */
export const openGzSlices = (
  s: GzSlices,
  label: string,
  skipWhat: string = "the bytes before the data"
): Effect.Effect<GzSliceReader, IoError, Scope.Scope> =>
  openStreamSlices(s, (fd) => new GzCursor(fd, s.path, s.fileSize, s.blockBytes, s.start), skipScratchBytes(s.sliceBytes), label, skipWhat)

/**
 * `openGzSlices` for any decompressor: `cursor(fd)` makes a fresh cursor at the start of the
 * stream in the open data file (each must read the same compressed bytes for the same decompressed
 * ones as the cursor of the scan that made `s`); `scratchBytes` is the skip scratch.
 *
 * @example
 * ```ts
 * const reader = yield* openStreamSlices(s, (fd) => new Bz2Cursor(fd, s.path, s.fileSize, s.start), 1 << 20, "nrrd")
 * ```
 */
export const openStreamSlices = (
  s: StreamSlices,
  cursor: (fd: number) => SliceCursor,
  scratchBytes: number,
  label: string,
  skipWhat: string = "the bytes before the data"
): Effect.Effect<StreamSliceReader, IoError, Scope.Scope> =>
  Effect.gen(function* () {
    const { path, sliceBytes, depth } = s
    const fd = yield* openScoped(path, "r")
    const forwardCursor = cursor(fd)
    const scratch = new Uint8Array(scratchBytes)
    let next = 0 // the slice the cursor is at
    let started = false
    let spill: { readonly path: string; readonly fd: number } | undefined
    const spillPath = nodePath.join(spillDirectory(), `slicewise-${label}${temporarySuffix()}.raw`)
    yield* Effect.addFinalizer(() =>
      spill === undefined ? Effect.void : Effect.zipRight(Effect.sync(() => fs.closeSync(spill!.fd)), removeQuietly(spill.path))
    )
    const forward = async (z: number, target: Uint8Array) => {
      if (!started) {
        started = true
        await forwardCursor.skip(s.skip, scratch, skipWhat)
      }
      await forwardCursor.fill(target, `slice ${z}`)
      next++
      if (next === depth) await forwardCursor.finish()
    }
    // Decompresses the whole volume from a fresh cursor into the raw copy, slice z at z · sliceBytes.
    const materialise = async (): Promise<number> => {
      forwardCursor.release?.()
      const fdOut = fs.openSync(spillPath, "wx+")
      spill = { path: spillPath, fd: fdOut }
      const fresh = cursor(fd)
      const buf = new Uint8Array(sliceBytes)
      await fresh.skip(s.skip, scratch, skipWhat)
      for (let z = 0; z < depth; z++) {
        await fresh.fill(buf, `slice ${z}`)
        await writeFully(fdOut, buf, z * sliceBytes)
      }
      await fresh.finish()
      return fresh.compressedRead
    }
    let extra = 0
    const read = async (z: number, target: Uint8Array) => {
      if (spill === undefined && z === next) return forward(z, target)
      if (spill === undefined) extra += await materialise()
      const got = await readFully(spill!.fd, target, z * sliceBytes)
      if (got < sliceBytes) throw new FormatError({ path: spill!.path, position: `slice ${z}`, detail: "the temporary raw copy is shorter than written" })
    }
    return { read, bytesRead: () => forwardCursor.compressedRead + extra }
  })

// ---------------------------------------------------------------------------------------------
// Writing one gzip stream in z order

/** zlib's deflate state at the default memLevel/windowBits plus its output chunk, for the plan. */
export const DEFLATE_STATE_BYTES = 256 * 1024 + 16 * 1024

/** A gzip stream being written; see `gzSliceStream`. */
export interface GzSliceStream {
  /** Compresses slice z (in any order: slices ahead of their turn wait in the side file). */
  readonly write: (z: number, data: Uint8Array) => Promise<void>
  /** Slices written so far (in the stream or waiting), 1 per slice. */
  readonly written: Uint8Array
  /** Ends the stream (every slice must have been written). */
  readonly end: () => Promise<void>
  /** Compressed bytes written to the file so far. */
  readonly bytesWritten: () => number
}

/**
 * One gzip stream at `level` into the open file `fd` from byte `offset` on, fed slice by slice in z
 * order: a slice that arrives ahead of its turn waits in a raw side file (`sidePath`, created on
 * first need and removed with the scope), so a backward pass costs one extra write and read of
 * the volume, not memory. The deflater is destroyed when the scope closes. `head` is compressed
 * first, at the start of the stream (NIfTI's header, which `.nii.gz` compresses with the voxels).
 */
export const gzSliceStream = (
  fd: number,
  offset: number,
  options: {
    readonly level: number
    readonly sliceBytes: number
    readonly depth: number
    readonly sidePath: string
    readonly path: string
    readonly head?: Uint8Array
  }
): Effect.Effect<GzSliceStream, IoError, Scope.Scope> =>
  Effect.gen(function* () {
    const { sliceBytes, depth, sidePath, path } = options
    const gzip = zlib.createGzip({ level: options.level })
    const side = { fd: -1 }
    yield* Effect.addFinalizer(() =>
      Effect.zipRight(
        Effect.sync(() => {
          gzip.destroy()
          if (side.fd >= 0) fs.closeSync(side.fd)
          side.fd = -1
        }),
        removeQuietly(sidePath)
      )
    )
    const out: Array<Buffer> = []
    let failure: Error | undefined
    gzip.on("data", (c: Buffer) => out.push(c))
    gzip.on("error", (e) => {
      failure = e
    })
    let fileOffset = offset
    let bytesWritten = 0
    const flushOut = async () => {
      while (out.length > 0) {
        const c = out.shift()!
        await writeFully(fd, c, fileOffset)
        fileOffset += c.length
        bytesWritten += c.length
      }
    }
    const compress = async (data: Uint8Array) => {
      await new Promise<void>((resolve, reject) => gzip.write(data, (e) => (e ? reject(e) : resolve())))
      if (failure) throw failure
      await flushOut()
    }
    if (options.head !== undefined) {
      const head = options.head
      yield* attempt(path, "write", () => compress(head))
    }
    const written = new Uint8Array(depth)
    let drainBuf = new Uint8Array(0)
    let next = 0
    const write = async (z: number, data: Uint8Array) => {
      written[z] = 1
      if (z !== next) {
        if (side.fd < 0) side.fd = fs.openSync(sidePath, "wx+")
        await writeFully(side.fd, data, z * sliceBytes)
        return
      }
      await compress(data)
      next++
      while (next < depth && written[next]) {
        if (drainBuf.length !== sliceBytes) drainBuf = new Uint8Array(sliceBytes)
        const got = await readFully(side.fd, drainBuf, next * sliceBytes)
        if (got !== sliceBytes) throw new FormatError({ path, position: `slice ${next}`, detail: `the side file ${sidePath} is shorter than written` })
        await compress(drainBuf)
        next++
      }
    }
    const end = async () => {
      await new Promise<void>((resolve, reject) => {
        gzip.once("end", resolve)
        gzip.once("error", reject)
        gzip.end()
      })
      await flushOut()
    }
    return { write, written, end, bytesWritten: () => bytesWritten }
  })
