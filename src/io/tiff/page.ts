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

/** The tags of one IFD being read as a page, and the errors that name `label` and the tag. */
interface PageTags {
  readonly t: TiffStructure
  readonly ifd: RawIfd
  readonly label: string
  /** `label` and a tag, as an error position. */
  readonly at: (tag: number) => string
  readonly format: (position: string, detail: string, hint?: string) => never
  readonly unsupported: (detail: string, hint?: string) => never
  /** The values of `tag`; a FormatError when it is missing. */
  readonly required: (tag: number) => Promise<Float64Array>
  /** The first value of `tag`, or `fallback`. */
  readonly number: (tag: number, fallback: number) => Promise<number>
}

const pageTags = (t: TiffStructure, ifd: RawIfd, label: string): PageTags => {
  const path = t.path
  const format = (position: string, detail: string, hint?: string): never => {
    throw new FormatError({ path, position, detail, ...(hint ? { hint } : {}) })
  }
  return {
    t,
    ifd,
    label,
    at: (tag) => `${label} tag ${tagLabel(tag)}`,
    format,
    unsupported: (detail, hint) => {
      throw new UnsupportedError({ path, detail, ...(hint ? { hint } : {}) })
    },
    required: async (tag) => {
      const v = await ifdNumbers(t, ifd, tag)
      return v !== undefined && v.length > 0 ? v : format(label, `required tag ${tagLabel(tag)} is missing`)
    },
    number: (tag, fallback) => ifdNumber(t, ifd, tag, fallback)
  }
}

/** ImageWidth and ImageLength, at least one pixel each. */
const pageSize = async (p: PageTags): Promise<{ readonly width: number; readonly height: number }> => {
  const width = (await p.required(Tag.ImageWidth))[0]!
  const height = (await p.required(Tag.ImageLength))[0]!
  if (!(width >= 1 && height >= 1)) p.format(p.label, `image is ${width}×${height}`, "an image needs at least one pixel")
  return { width, height }
}

/** The dtype of the page's one sample per pixel, stored most significant bit first. */
const sampleType = async (p: PageTags): Promise<DType> => {
  const spp = await p.number(Tag.SamplesPerPixel, 1)
  if (spp !== 1) {
    const photometric = await p.number(Tag.Photometric, 1)
    const planar = (await p.number(Tag.PlanarConfiguration, 1)) === 2 ? "separate planes" : "interleaved"
    const kind = photometric === 2 ? `RGB${spp > 3 ? " with alpha" : ""}` : photometric === 6 ? "YCbCr" : "several samples"
    p.unsupported(
      `${p.at(Tag.SamplesPerPixel)} = ${spp} (${kind}, ${planar}): only one sample per pixel (grayscale) is read`,
      "split the channels into grayscale pages or files first, e.g. with ImageJ's Image › Color › Split Channels or tifffile's photometric='minisblack'"
    )
  }
  const bits = await p.number(Tag.BitsPerSample, 1)
  const sampleFormat = await p.number(Tag.SampleFormat, 1)
  const dtype = dtypeOfSamples(bits, sampleFormat)
  if (dtype === undefined) {
    const kind = ["", "unsigned integer", "signed integer", "floating point", "untyped"][sampleFormat] ?? `SampleFormat ${sampleFormat}`
    return p.unsupported(
      `${p.at(Tag.BitsPerSample)} = ${bits} with ${kind} samples (SampleFormat ${sampleFormat})`,
      "supported: 8, 16, 32-bit integers and 32, 64-bit floats"
    )
  }
  if ((await p.number(Tag.FillOrder, 1)) === 2) {
    p.unsupported(`${p.at(Tag.FillOrder)} = 2 (bits stored least significant first)`)
  }
  return dtype
}

/** Compression and predictor, both ones slicewise decodes; the predictor is 1 where the codec ignores it. */
const coding = async (p: PageTags): Promise<{ readonly compression: number; readonly predictor: number }> => {
  const compression = await p.number(Tag.Compression, 1)
  if (!SUPPORTED_COMPRESSIONS.has(compression)) {
    p.unsupported(
      `${p.at(Tag.Compression)} = ${compression} (${compressionName(compression)})`,
      `supported: ${supportedCompressionText}; convert with e.g. "tiffcp -c none in.tif out.tif"`
    )
  }
  let predictor = await p.number(Tag.Predictor, 1)
  if (!PREDICTED.has(compression)) predictor = 1
  if (predictor !== 1 && predictor !== 2 && predictor !== 3) {
    p.unsupported(`${p.at(Tag.Predictor)} = ${predictor}`, "supported predictors: 1 (none), 2 (horizontal), 3 (floating point)")
  }
  return { compression, predictor }
}

/** How the page is cut into blocks (strips or tiles), and the tags that place them. */
interface BlockGrid {
  readonly tiled: boolean
  readonly blockWidth: number
  readonly blockHeight: number
  readonly blocksAcross: number
  readonly blocksDown: number
  /** "tile" or "strip", for messages. */
  readonly kind: string
  readonly offsets: Float64Array
  readonly counts: Float64Array
  readonly countsTag: number
}

/** Block size and the offsets and byte counts of every block, one per block at least. */
const blockGrid = async (p: PageTags, width: number, height: number, compression: number, bps: number): Promise<BlockGrid> => {
  const tiled = p.ifd.entries.has(Tag.TileWidth)
  let blockWidth: number
  let blockHeight: number
  let offsetsTag: number
  let countsTag: number
  if (tiled) {
    blockWidth = (await p.required(Tag.TileWidth))[0]!
    blockHeight = (await p.required(Tag.TileLength))[0]!
    if (!(blockWidth >= 1 && blockHeight >= 1)) p.format(p.at(Tag.TileWidth), `tile is ${blockWidth}×${blockHeight}`)
    offsetsTag = Tag.TileOffsets
    countsTag = Tag.TileByteCounts
  } else {
    const rps = await p.number(Tag.RowsPerStrip, height)
    blockWidth = width
    blockHeight = rps >= 1 ? Math.min(rps, height) : height
    offsetsTag = Tag.StripOffsets
    countsTag = Tag.StripByteCounts
  }
  const offsets = await p.required(offsetsTag)
  let counts = await ifdNumbers(p.t, p.ifd, countsTag)
  const blocksAcross = Math.ceil(width / blockWidth)
  const blocksDown = Math.ceil(height / blockHeight)
  const blocks = blocksAcross * blocksDown
  const kind = tiled ? "tile" : "strip"
  if (offsets.length < blocks) {
    p.format(p.at(offsetsTag), `holds ${offsets.length} offsets, expected ${blocks} (one per ${kind})`)
  }
  if (counts === undefined) {
    // libtiff infers the byte count of a lone uncompressed strip; so do we.
    if (compression === Compression.None && !tiled && blocks === 1) counts = new Float64Array([height * width * bps])
    else return p.format(p.label, `required tag ${tagLabel(countsTag)} is missing`)
  }
  if (counts.length < blocks) p.format(p.at(countsTag), `holds ${counts.length} byte counts, expected ${blocks}`)
  return { tiled, blockWidth, blockHeight, blocksAcross, blocksDown, kind, offsets, counts, countsTag }
}

/**
 * The bytes read for each block, checked against the file's end: what an uncompressed block
 * decodes to (at most its byte count), or a compressed block's byte count. `contiguous` when the
 * page is uncompressed strips stored back to back, which one read takes whole.
 */
const blockLengths = (p: PageTags, g: BlockGrid, height: number, compression: number, dtype: DType) => {
  const { tiled, blockWidth, blockHeight, kind, offsets, counts } = g
  const bps = bytesPerVoxel(dtype)
  const blocks = g.blocksAcross * g.blocksDown
  const lengths = new Float64Array(blocks)
  let readBytes = 0
  let contiguous = compression === Compression.None && !tiled
  for (let b = 0; b < blocks; b++) {
    const rows = tiled ? blockHeight : Math.min(blockHeight, height - b * blockHeight)
    const expected = rows * blockWidth * bps
    let length = counts[b]!
    const offset = offsets[b]!
    if (compression === Compression.None) {
      // Exactly its rows, or (a short last strip) a whole strip's: a byte count that says more or
      // less than the block holds means the tags or the file are damaged.
      const whole = blockHeight * blockWidth * bps
      if (length !== expected && length !== whole) {
        p.format(
          `${p.label} ${kind} ${b} at byte ${offset}`,
          `holds ${length} bytes (tag ${tagLabel(g.countsTag)}), expected ${expected} for ${rows} rows of ${blockWidth} ${dtype} samples`
        )
      }
      if (!(offset + length <= p.t.size)) {
        p.format(
          `${p.label} ${kind} ${b} at byte ${offset}`,
          `its ${length} bytes (tag ${tagLabel(g.countsTag)}) end at byte ${offset + length}, past the end of the file (${p.t.size} bytes)`,
          "the file is truncated"
        )
      }
      length = expected
    }
    if (!(offset + length <= p.t.size)) {
      p.format(
        `${p.label} ${kind} ${b} at byte ${offset}`,
        `its ${length} bytes end at byte ${offset + length}, past the end of the file (${p.t.size} bytes)`,
        "the file is truncated"
      )
    }
    if (b > 0 && offsets[b - 1]! + lengths[b - 1]! !== offset) contiguous = false
    lengths[b] = length
    readBytes += length
  }
  return { lengths, readBytes, contiguous }
}

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
  const p = pageTags(t, ifd, label)
  const { width, height } = await pageSize(p)
  const dtype = await sampleType(p)
  const { compression, predictor } = await coding(p)
  const photometric = await p.number(Tag.Photometric, 1)
  const bps = bytesPerVoxel(dtype)
  const grid = await blockGrid(p, width, height, compression, bps)
  const { lengths, readBytes, contiguous } = blockLengths(p, grid, height, compression, dtype)
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
    tiled: grid.tiled,
    blockWidth: grid.blockWidth,
    blockHeight: grid.blockHeight,
    blocksAcross: grid.blocksAcross,
    blocksDown: grid.blocksDown,
    offsets: contiguous ? empty : grid.offsets.subarray(0, lengths.length),
    lengths: contiguous ? empty : lengths,
    contiguousAt: contiguous ? grid.offsets[0]! : -1,
    readBytes
  }
}
