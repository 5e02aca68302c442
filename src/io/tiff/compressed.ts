/**
 * Compressed TIFF output: strips of a slice run through a predictor (2, horizontal differencing,
 * for integer dtypes; 3, floating point, for float32 and float64) into a scratch copy, then
 * deflate (compression 8, node:zlib on its thread pool, strips in parallel) or LZW (compression 5,
 * ./lzw.ts). The size of a compressed page is known only once it is compressed, so a multi-page
 * file is laid out as header, then pages' strips in the order slices arrive, then every IFD,
 * written at commit; a stack file is header, IFD, strips.
 *
 * @example
 * ```ts
 * const c = sliceCompressor(info, { compression: "lzw" }, 65536)
 * const page = await c.compress(bytesOfSlice)   // { parts, counts, total }
 * const ifd = encodeIfd(pageEntries(c, page, offsets, description), false, at, 0)
 * ```
 */
import * as zlib from "node:zlib"
import { bytesPerVoxel, type DType } from "../../algebra/dtype.js"
import type { VolumeInfo } from "../../algebra/volume.js"
import { writtenPhysical } from "./description.js"
import { toRational } from "./layout.js"
import { LzwEncoder, lzwBound } from "./lzw.js"
import { FieldType, samplesOfDtype, SampleFormat, Tag } from "./tags.js"

/** The strip codecs slicewise writes. */
export type TiffCompression = "raw" | "deflate" | "lzw"

export interface CompressionOptions {
  readonly compression: "deflate" | "lzw"
  /** deflate level 1…9 (default 6, as libtiff and tifffile). */
  readonly level?: number
}

/** TIFF's codes for the codecs written (8 is "Adobe deflate", what libtiff writes for deflate). */
export const COMPRESSION_CODE = { deflate: 8, lzw: 5 } as const

const isFloat = (d: DType) => d === "float32" || d === "float64"

/** The predictor written for a dtype: 3 for floats, 2 for integers. */
export const predictorFor = (dtype: DType): 2 | 3 => (isFloat(dtype) ? 3 : 2)

/**
 * Applies predictor 2 to `rows` rows of `width` samples in `dst` (a copy of the strip), in place:
 * each sample minus its left neighbour, modulo 2^bits (the inverse of bytes.ts's
 * undoHorizontalPredictor). Host order is little-endian (the TIFF writer checks).
 */
export const applyHorizontalPredictor = (dst: Uint8Array, width: number, rows: number, bytesPerSample: number): void => {
  const buffer = dst.buffer
  const base = dst.byteOffset
  if (bytesPerSample === 1) {
    for (let r = 0; r < rows; r++) {
      const start = r * width
      for (let i = start + width - 1; i > start; i--) dst[i] = dst[i]! - dst[i - 1]!
    }
  } else if (bytesPerSample === 2) {
    const w = new Uint16Array(buffer, base, width * rows)
    for (let r = 0; r < rows; r++) {
      const start = r * width
      for (let i = start + width - 1; i > start; i--) w[i] = w[i]! - w[i - 1]!
    }
  } else {
    const w = new Uint32Array(buffer, base, width * rows)
    for (let r = 0; r < rows; r++) {
      const start = r * width
      for (let i = start + width - 1; i > start; i--) w[i] = w[i]! - w[i - 1]!
    }
  }
}

/**
 * Applies predictor 3 to `rows` rows of `width` little-endian floats of `bytesPerSample` bytes,
 * from `src` into `dst`: each row's bytes as planes, most significant first, then each byte minus
 * the one before it in the row (libtiff's fpDiff; the inverse of bytes.ts's undoFloatPredictor).
 */
export const applyFloatPredictor = (src: Uint8Array, dst: Uint8Array, width: number, rows: number, bytesPerSample: number): void => {
  const rowBytes = width * bytesPerSample
  for (let r = 0; r < rows; r++) {
    const start = r * rowBytes
    for (let plane = 0; plane < bytesPerSample; plane++) {
      const to = start + plane * width
      const from = start + (bytesPerSample - 1 - plane)
      for (let i = 0; i < width; i++) dst[to + i] = src[from + i * bytesPerSample]!
    }
    for (let i = start + rowBytes - 1; i > start; i--) dst[i] = dst[i]! - dst[i - 1]!
  }
}

/** One compressed page: its strips' bytes, in order, and their sizes. */
export interface CompressedPage {
  readonly parts: ReadonlyArray<Uint8Array>
  readonly counts: ReadonlyArray<number>
  readonly total: number
}

/** Compresses slices of one volume strip by strip; reuses its buffers from slice to slice. */
export interface SliceCompressor {
  readonly dtype: DType
  readonly width: number
  readonly height: number
  readonly rowsPerStrip: number
  readonly stripsPerPage: number
  readonly compression: "deflate" | "lzw"
  readonly predictor: 2 | 3
  /** Compresses one slice (its raw bytes, host order). The result's parts stay valid until `release`. */
  readonly compress: (slice: Uint8Array) => Promise<CompressedPage>
  /** Gives back the buffers of a page once it is written. */
  readonly release: (page: CompressedPage) => void
  /** The most bytes one compressed page can take (for choosing BigTIFF). */
  readonly pageBound: number
  /** Buffers held while one slice is compressed: the predicted copy and the output. */
  readonly bufferBytes: number
}

/** zlib's deflateBound for `n` bytes (default windowBits and memLevel) plus the zlib wrapper. */
const deflateBound = (n: number) => n + (n >> 12) + (n >> 14) + (n >> 25) + 13 + 6

export const sliceCompressor = (info: VolumeInfo, options: CompressionOptions, rowsPerStrip: number): SliceCompressor => {
  const [, height, width] = info.shape
  const bps = bytesPerVoxel(info.dtype)
  const rowBytes = width * bps
  const sliceBytes = height * rowBytes
  const stripsPerPage = Math.ceil(height / rowsPerStrip)
  const predictor = predictorFor(info.dtype)
  const level = options.level ?? 6
  const stripBytes = (s: number) => Math.min(rowsPerStrip, height - s * rowsPerStrip) * rowBytes
  let pageBound = 0
  for (let s = 0; s < stripsPerPage; s++) pageBound += options.compression === "lzw" ? lzwBound(stripBytes(s)) : deflateBound(stripBytes(s))
  // The predicted copy of a slice, and for LZW the page's output: reused unless a page is still
  // being written when the next is compressed (then that one gets buffers of its own).
  const spares: Array<{ readonly predicted: Uint8Array; readonly out: Uint8Array | undefined }> = []
  const owner = new Map<CompressedPage, { readonly predicted: Uint8Array; readonly out: Uint8Array | undefined }>()
  const lzw = options.compression === "lzw" ? new LzwEncoder() : undefined
  const predict = (slice: Uint8Array, predicted: Uint8Array) => {
    if (predictor === 3) applyFloatPredictor(slice, predicted, width, height, bps)
    else {
      predicted.set(slice)
      applyHorizontalPredictor(predicted, width, height, bps)
    }
  }
  const compress = async (slice: Uint8Array): Promise<CompressedPage> => {
    const buffers = spares.pop() ?? { predicted: new Uint8Array(sliceBytes), out: lzw ? new Uint8Array(pageBound) : undefined }
    predict(slice, buffers.predicted)
    const parts: Array<Uint8Array> = []
    const counts: Array<number> = []
    let total = 0
    if (lzw) {
      const out = buffers.out!
      for (let s = 0; s < stripsPerPage; s++) {
        const from = s * rowsPerStrip * rowBytes
        const n = lzw.encode(buffers.predicted.subarray(from, from + stripBytes(s)), out, total)
        parts.push(out.subarray(total, total + n))
        counts.push(n)
        total += n
      }
    } else {
      const strips = await Promise.all(
        Array.from({ length: stripsPerPage }, (_, s) => {
          const from = s * rowsPerStrip * rowBytes
          const strip = buffers.predicted.subarray(from, from + stripBytes(s))
          return new Promise<Uint8Array>((resolve, reject) => zlib.deflate(strip, { level }, (e, r) => (e ? reject(e) : resolve(r))))
        })
      )
      for (const b of strips) {
        parts.push(b)
        counts.push(b.length)
        total += b.length
      }
    }
    const page = { parts, counts, total }
    owner.set(page, buffers)
    return page
  }
  const release = (page: CompressedPage) => {
    const buffers = owner.get(page)
    owner.delete(page)
    if (buffers !== undefined && spares.length === 0) spares.push(buffers)
  }
  return {
    dtype: info.dtype,
    width,
    height,
    rowsPerStrip,
    stripsPerPage,
    compression: options.compression,
    predictor,
    compress,
    release,
    pageBound,
    bufferBytes: sliceBytes + (lzw ? pageBound : sliceBytes)
  }
}

// ---------------------------------------------------------------------------------------------
// IFDs of compressed pages

interface Entry {
  readonly tag: number
  readonly type: number
  readonly values: ReadonlyArray<number>
  readonly text?: string
}

/**
 * The IFD entries of one compressed page, by tag: the same fields as the uncompressed writer's
 * (layout.ts), with Compression, Predictor and the strips' own offsets and sizes.
 */
export const pageEntries = (
  c: SliceCompressor,
  info: VolumeInfo,
  stripOffsets: ReadonlyArray<number>,
  stripCounts: ReadonlyArray<number>,
  bigTiff: boolean,
  description: string | undefined
): ReadonlyArray<Entry> => {
  const { bits, format } = samplesOfDtype(info.dtype)
  const { spacing } = writtenPhysical(info)
  const [xp, xq] = toRational(spacing[2])
  const [yp, yq] = toRational(spacing[1])
  const big = bigTiff
  const e: Array<Entry> = [
    { tag: Tag.NewSubfileType, type: FieldType.LONG, values: [0] },
    { tag: Tag.ImageWidth, type: FieldType.LONG, values: [c.width] },
    { tag: Tag.ImageLength, type: FieldType.LONG, values: [c.height] },
    { tag: Tag.BitsPerSample, type: FieldType.SHORT, values: [bits] },
    { tag: Tag.Compression, type: FieldType.SHORT, values: [COMPRESSION_CODE[c.compression]] },
    { tag: Tag.Photometric, type: FieldType.SHORT, values: [1] }
  ]
  if (description !== undefined) e.push({ tag: Tag.ImageDescription, type: FieldType.ASCII, values: [], text: description })
  e.push(
    { tag: Tag.StripOffsets, type: big ? FieldType.LONG8 : FieldType.LONG, values: stripOffsets },
    { tag: Tag.SamplesPerPixel, type: FieldType.SHORT, values: [1] },
    { tag: Tag.RowsPerStrip, type: FieldType.LONG, values: [c.rowsPerStrip] },
    { tag: Tag.StripByteCounts, type: FieldType.LONG, values: stripCounts },
    // Written as resolution q/p for spacing p/q, as layout.ts does.
    { tag: Tag.XResolution, type: FieldType.RATIONAL, values: [xq, xp] },
    { tag: Tag.YResolution, type: FieldType.RATIONAL, values: [yq, yp] },
    { tag: Tag.ResolutionUnit, type: FieldType.SHORT, values: [1] },
    { tag: Tag.Predictor, type: FieldType.SHORT, values: [c.predictor] }
  )
  if (format !== SampleFormat.Uint) e.push({ tag: Tag.SampleFormat, type: FieldType.SHORT, values: [format] })
  return e
}

const typeSize = (type: number): number =>
  type === FieldType.LONG8 || type === FieldType.RATIONAL ? 8 : type === FieldType.LONG ? 4 : type === FieldType.SHORT ? 2 : 1

const countOf = (e: Entry) => (e.text !== undefined ? e.text.length + 1 : e.type === FieldType.RATIONAL ? e.values.length / 2 : e.values.length)

/** The bytes `encodeIfd` takes for `entries` (entry table and out-of-line values, 2-aligned). */
export const ifdBytes = (entries: ReadonlyArray<Entry>, bigTiff: boolean): number => {
  let n = (bigTiff ? 8 : 2) + entries.length * (bigTiff ? 20 : 12) + (bigTiff ? 8 : 4)
  for (const e of entries) {
    const bytes = countOf(e) * typeSize(e.type)
    if (bytes > (bigTiff ? 8 : 4)) n += bytes + (bytes & 1)
  }
  return n
}

const putUint = (view: DataView, at: number, bytes: number, v: number): void => {
  if (bytes === 2) view.setUint16(at, v, true)
  else if (bytes === 4) view.setUint32(at, v, true)
  else {
    view.setUint32(at, v % 0x100000000, true)
    view.setUint32(at + 4, Math.floor(v / 0x100000000), true)
  }
}

/** Encodes an IFD that will sit at file offset `at`, pointing to the next IFD at `next` (0: last). */
export const encodeIfd = (entries: ReadonlyArray<Entry>, bigTiff: boolean, at: number, next: number): Uint8Array => {
  const out = new Uint8Array(ifdBytes(entries, bigTiff))
  const view = new DataView(out.buffer)
  const inline = bigTiff ? 8 : 4
  const entryBytes = bigTiff ? 20 : 12
  putUint(view, 0, bigTiff ? 8 : 2, entries.length)
  let p = bigTiff ? 8 : 2
  let extra = p + entries.length * entryBytes + (bigTiff ? 8 : 4)
  for (const e of entries) {
    const size = typeSize(e.type)
    const count = countOf(e)
    const bytes = count * size
    view.setUint16(p, e.tag, true)
    view.setUint16(p + 2, e.type, true)
    putUint(view, p + 4, bigTiff ? 8 : 4, count)
    let target = p + (bigTiff ? 12 : 8)
    if (bytes > inline) {
      putUint(view, target, bigTiff ? 8 : 4, at + extra)
      target = extra
      extra += bytes + (bytes & 1)
    }
    if (e.text !== undefined) {
      for (let i = 0; i < e.text.length; i++) out[target + i] = e.text.charCodeAt(i) & 0x7f
    } else {
      const word = e.type === FieldType.RATIONAL ? 4 : size
      for (let i = 0; i < e.values.length; i++) putUint(view, target + i * word, word, e.values[i]!)
    }
    p += entryBytes
  }
  putUint(view, p, bigTiff ? 8 : 4, next)
  return out
}

/** The file header, classic (8 bytes) or BigTIFF (16), pointing to the first IFD at `firstIfd`. */
export const encodeHeader = (bigTiff: boolean, firstIfd: number): Uint8Array => {
  const out = new Uint8Array(bigTiff ? 16 : 8)
  const view = new DataView(out.buffer)
  out[0] = 0x49
  out[1] = 0x49
  view.setUint16(2, bigTiff ? 43 : 42, true)
  if (bigTiff) {
    view.setUint16(4, 8, true)
    putUint(view, 8, 8, firstIfd)
  } else putUint(view, 4, 4, firstIfd)
  return out
}
