/**
 * One TIFF page as slicewise reads it: size, dtype, compression and where its strips or tiles lie.
 * Everything a later slice read needs is decided here, once, with every check that can be made
 * without reading pixel data (block counts, byte counts, blocks past the end of the file).
 *
 * @example
 * ```ts
 * const tiff = await parseTiffStructure(fd, path, size)
 * if (!(await isReducedPage(tiff, tiff.ifds[0]!))) {
 *   const page = await readPage(tiff, tiff.ifds[0]!, "page 0 (IFD 0)")
 *   page.width, page.height, page.dtype, page.readBytes
 * }
 * ```
 */
import { bytesPerVoxel, type DType } from "../../algebra/dtype.js"
import { FormatError, UnsupportedError } from "../../algebra/io-errors.js"
import { ifdNumber, ifdNumbers, type RawIfd, type TiffStructure } from "./ifd.js"
import {
  Compression,
  compressionName,
  dtypeOfSamples,
  SUPPORTED_COMPRESSIONS,
  supportedCompressionText,
  Tag,
  tagLabel
} from "./tags.js"

export interface TiffPage {
  readonly ifdIndex: number
  /** "page 3 (IFD 5)", for messages. */
  readonly label: string
  readonly width: number
  readonly height: number
  readonly dtype: DType
  readonly bytesPerSample: number
  readonly littleEndian: boolean
  readonly compression: number
  /** 1 none, 2 horizontal, 3 floating point; already 1 where the codec ignores it (none, PackBits). */
  readonly predictor: number
  readonly photometric: number
  readonly tiled: boolean
  /** Strip: image width × rows per strip. Tile: tile width × tile length. */
  readonly blockWidth: number
  readonly blockHeight: number
  readonly blocksAcross: number
  readonly blocksDown: number
  /** Block offsets and the bytes read for each block (empty when `contiguousAt` ≥ 0). */
  readonly offsets: Float64Array
  readonly lengths: Float64Array
  /** Uncompressed strips stored back to back: the file offset of the first; else -1. */
  readonly contiguousAt: number
  /** Exactly the bytes a slice read of this page reads. */
  readonly readBytes: number
}

/**
 * True for pages that are not full-resolution images: reduced-resolution copies (NewSubfileType
 * bit 0, or the old SubfileType 2) and transparency masks (bit 2).
 *
 * @example
 * ```ts
 * const full = []
 * for (const ifd of t.ifds) if (!(await isReducedPage(t, ifd))) full.push(ifd)
 * ```
 */
export const isReducedPage = async (t: TiffStructure, ifd: RawIfd): Promise<boolean> => {
  const kind = await ifdNumber(t, ifd, Tag.NewSubfileType, 0)
  if ((kind & 1) !== 0 || (kind & 4) !== 0) return true
  return (await ifdNumber(t, ifd, Tag.SubfileType, 1)) === 2
}

// Codecs for which libtiff applies the Predictor tag; for the others it is ignored.
const PREDICTED = new Set<number>([Compression.LZW, Compression.Deflate, Compression.AdobeDeflate, Compression.Zstd])

/**
 * Validates a full-resolution IFD and computes its block layout. Throws FormatError or
 * UnsupportedError naming `label` and the tag.
 *
 * @example
 * ```ts
 * const page = await readPage(t, t.ifds[4]!, "page 2 (IFD 4)")
 * page.readBytes   // bytes a read of this page costs
 * ```
 */
export const readPage = async (t: TiffStructure, ifd: RawIfd, label: string): Promise<TiffPage> => {
  const path = t.path
  const at = (tag: number) => `${label} tag ${tagLabel(tag)}`
  const format = (position: string, detail: string, hint?: string): never => {
    throw new FormatError({ path, position, detail, ...(hint ? { hint } : {}) })
  }
  const unsupported = (detail: string, hint?: string): never => {
    throw new UnsupportedError({ path, detail, ...(hint ? { hint } : {}) })
  }
  const required = async (tag: number): Promise<Float64Array> => {
    const v = await ifdNumbers(t, ifd, tag)
    return v !== undefined && v.length > 0 ? v : format(label, `required tag ${tagLabel(tag)} is missing`)
  }

  const width = (await required(Tag.ImageWidth))[0]!
  const height = (await required(Tag.ImageLength))[0]!
  if (!(width >= 1 && height >= 1)) format(label, `image is ${width}×${height}`, "an image needs at least one pixel")

  const spp = await ifdNumber(t, ifd, Tag.SamplesPerPixel, 1)
  if (spp !== 1) {
    unsupported(
      `${at(Tag.SamplesPerPixel)} = ${spp}: only one sample per pixel (grayscale) is supported`,
      "split the channels into separate files first"
    )
  }
  const bits = await ifdNumber(t, ifd, Tag.BitsPerSample, 1)
  const sampleFormat = await ifdNumber(t, ifd, Tag.SampleFormat, 1)
  const dtype = dtypeOfSamples(bits, sampleFormat)
  if (dtype === undefined) {
    const kind = ["", "unsigned integer", "signed integer", "floating point", "untyped"][sampleFormat] ?? `SampleFormat ${sampleFormat}`
    return unsupported(
      `${at(Tag.BitsPerSample)} = ${bits} with ${kind} samples (SampleFormat ${sampleFormat})`,
      "supported: 8, 16, 32-bit integers and 32, 64-bit floats"
    )
  }
  if ((await ifdNumber(t, ifd, Tag.FillOrder, 1)) === 2) {
    unsupported(`${at(Tag.FillOrder)} = 2 (bits stored least significant first)`)
  }
  const compression = await ifdNumber(t, ifd, Tag.Compression, 1)
  if (!SUPPORTED_COMPRESSIONS.has(compression)) {
    unsupported(
      `${at(Tag.Compression)} = ${compression} (${compressionName(compression)})`,
      `supported: ${supportedCompressionText}; convert with e.g. "tiffcp -c none in.tif out.tif"`
    )
  }
  let predictor = await ifdNumber(t, ifd, Tag.Predictor, 1)
  if (!PREDICTED.has(compression)) predictor = 1
  if (predictor !== 1 && predictor !== 2 && predictor !== 3) {
    unsupported(`${at(Tag.Predictor)} = ${predictor}`, "supported predictors: 1 (none), 2 (horizontal), 3 (floating point)")
  }
  const photometric = await ifdNumber(t, ifd, Tag.Photometric, 1)
  const bps = bytesPerVoxel(dtype)

  const tiled = ifd.entries.has(Tag.TileWidth)
  let blockWidth: number
  let blockHeight: number
  let offsets: Float64Array
  let counts: Float64Array | undefined
  let offsetsTag: number
  let countsTag: number
  if (tiled) {
    blockWidth = (await required(Tag.TileWidth))[0]!
    blockHeight = (await required(Tag.TileLength))[0]!
    if (!(blockWidth >= 1 && blockHeight >= 1)) format(at(Tag.TileWidth), `tile is ${blockWidth}×${blockHeight}`)
    offsetsTag = Tag.TileOffsets
    countsTag = Tag.TileByteCounts
  } else {
    const rps = await ifdNumber(t, ifd, Tag.RowsPerStrip, height)
    blockWidth = width
    blockHeight = rps >= 1 ? Math.min(rps, height) : height
    offsetsTag = Tag.StripOffsets
    countsTag = Tag.StripByteCounts
  }
  offsets = await required(offsetsTag)
  counts = await ifdNumbers(t, ifd, countsTag)
  const blocksAcross = Math.ceil(width / blockWidth)
  const blocksDown = Math.ceil(height / blockHeight)
  const blocks = blocksAcross * blocksDown
  const kind = tiled ? "tile" : "strip"
  if (offsets.length < blocks) {
    format(at(offsetsTag), `holds ${offsets.length} offsets, expected ${blocks} (one per ${kind})`)
  }
  if (counts === undefined) {
    // libtiff infers the byte count of a lone uncompressed strip; so do we.
    if (compression === Compression.None && !tiled && blocks === 1) counts = new Float64Array([height * width * bps])
    else return format(label, `required tag ${tagLabel(countsTag)} is missing`)
  }
  if (counts.length < blocks) format(at(countsTag), `holds ${counts.length} byte counts, expected ${blocks}`)

  // What one block decodes to; uncompressed blocks are read for exactly this many bytes.
  const lengths = new Float64Array(blocks)
  let readBytes = 0
  let contiguous = compression === Compression.None && !tiled
  for (let b = 0; b < blocks; b++) {
    const rows = tiled ? blockHeight : Math.min(blockHeight, height - b * blockHeight)
    const expected = rows * blockWidth * bps
    let length = counts[b]!
    if (compression === Compression.None) {
      if (length < expected) {
        format(
          `${label} ${kind} ${b}`,
          `holds ${length} bytes (tag ${tagLabel(countsTag)}), expected ${expected} for ${rows} rows of ${blockWidth} ${dtype} samples`
        )
      }
      length = expected
    }
    const offset = offsets[b]!
    if (!(offset + length <= t.size)) {
      format(
        `${label} ${kind} ${b} at byte ${offset}`,
        `its ${length} bytes end at byte ${offset + length}, past the end of the file (${t.size} bytes)`,
        "the file is truncated"
      )
    }
    if (b > 0 && offsets[b - 1]! + lengths[b - 1]! !== offset) contiguous = false
    lengths[b] = length
    readBytes += length
  }
  const empty = new Float64Array(0)
  return {
    ifdIndex: ifd.index,
    label,
    width,
    height,
    dtype,
    bytesPerSample: bps,
    littleEndian: t.header.littleEndian,
    compression,
    predictor,
    photometric,
    tiled,
    blockWidth,
    blockHeight,
    blocksAcross,
    blocksDown,
    offsets: contiguous ? empty : offsets.subarray(0, blocks),
    lengths: contiguous ? empty : lengths,
    contiguousAt: contiguous ? offsets[0]! : -1,
    readBytes
  }
}
