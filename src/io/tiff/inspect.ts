/**
 * Everything slicewise learns from a TIFF file's metadata, read once when a source is opened: the
 * full-resolution pages (reduced-resolution ones skipped), voxel spacing and descriptive details.
 *
 * @example
 * ```ts
 * const tiff = await inspectTiff(fd, "/data/stack.tif", size)
 * tiff.pages.length     // slices
 * tiff.spacing          // [z, y, x] from ImageJ "spacing=" and X/YResolution
 * ```
 */
import type { Spacing } from "../../algebra/volume.js"
import { FormatError } from "../../algebra/io-errors.js"
import { readFullySync } from "../files.js"
import { ifdNumber, ifdNumbers, ifdText, metadataRanges, parseTiffStructure, type TiffHeader, type TiffStructure } from "./ifd.js"
import { isReducedPage, readPage, type TiffPage } from "./page.js"
import { compressionName, photometricName, resolutionUnitName, Tag } from "./tags.js"

/** Bytes of a file's metadata at `offset` (see metadataRanges). */
export interface MetadataBytes {
  readonly offset: number
  readonly bytes: Uint8Array
}

export interface InspectedTiff {
  readonly path: string
  readonly size: number
  readonly header: TiffHeader
  readonly pages: ReadonlyArray<TiffPage>
  /** IFDs in the file, reduced-resolution ones included. */
  readonly ifdCount: number
  readonly spacing: Spacing
  readonly resolutionUnit: number
  /** Unit named by an ImageJ or slicewise description ("µm"), if any. */
  readonly unit: string | undefined
  /** "imagej", "slicewise", "other" or "none". */
  readonly descriptionKind: string
  /** The file's metadata bytes, when inspected with `keepMetadata` (see inspectTiffLike). */
  readonly metadata?: ReadonlyArray<MetadataBytes>
}

/** key=value lines of an ImageJ-style description. */
const descriptionFields = (text: string): Map<string, string> => {
  const fields = new Map<string, string>()
  for (const line of text.split("\n")) {
    const eq = line.indexOf("=")
    if (eq > 0) fields.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim())
  }
  return fields
}

// ImageJ and tifffile escape non-ASCII units ("\u00B5m").
const unescapeUnit = (s: string): string =>
  s.replace(/\\u([0-9a-fA-F]{4})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)))

const spacingOf = (pair: Float64Array | undefined): number => {
  // Resolution is pixels per unit, so spacing is denominator / numerator.
  if (pair === undefined || pair.length < 2) return 1
  const [num, den] = [pair[0]!, pair[1]!]
  return num > 0 && den > 0 ? den / num : 1
}

/**
 * ImageJ writes stacks past 4 GiB with one IFD only: the description's `images=` counts the slices,
 * stored back to back after the first. Such a file yields one page per image; other files keep
 * their pages.
 */
const imagejPages = (path: string, size: number, pages: TiffPage[], images: number): TiffPage[] => {
  const first = pages[0]!
  if (pages.length !== 1 || !(Number.isInteger(images) && images > 1) || first.contiguousAt < 0) return pages
  const end = first.contiguousAt + images * first.readBytes
  if (end > size) {
    throw new FormatError({
      path,
      position: `IFD ${first.ifdIndex} tag 270 (ImageDescription)`,
      detail: `ImageJ's images=${images} would end at byte ${end}, past the end of the file (${size} bytes)`,
      hint: "the file is truncated"
    })
  }
  return Array.from({ length: images }, (_, k) => ({
    ...first,
    label: `page ${k} (IFD ${first.ifdIndex}, ImageJ image ${k})`,
    contiguousAt: first.contiguousAt + k * first.readBytes
  }))
}

/**
 * Parses a TIFF's IFDs and pages. `maxChunk` bounds the metadata read size (large for multi-page
 * files, small for the 2D files of a stack); `keepMetadata` keeps the metadata's bytes (up to
 * 64 KiB of them), making the result a template for inspectTiffLike.
 * Throws FormatError / UnsupportedError.
 *
 * @example
 * ```ts
 * const tiff = await inspectTiff(fd, "a.tif", size)
 * tiff.pages.length, tiff.spacing
 * ```
 */
export const inspectTiff = async (
  fd: number,
  path: string,
  size: number,
  maxChunk = 1024 * 1024,
  keepMetadata = false
): Promise<InspectedTiff> => {
  const t = await parseTiffStructure(fd, path, size, maxChunk)
  let pages: TiffPage[] = []
  for (const ifd of t.ifds) {
    if (await isReducedPage(t, ifd)) continue
    const page = await readPage(t, ifd, `page ${pages.length} (IFD ${ifd.index})`)
    const first = pages[0]
    if (first !== undefined && (page.width !== first.width || page.height !== first.height || page.dtype !== first.dtype)) {
      throw new FormatError({
        path,
        position: page.label,
        detail: `is ${page.height}×${page.width} ${page.dtype}, but page 0 is ${first.height}×${first.width} ${first.dtype}`,
        hint: "every page of a multi-page TIFF must have the same size and dtype"
      })
    }
    pages.push(page)
  }
  if (pages.length === 0) {
    throw new FormatError({
      path,
      position: `IFD 0 at byte ${t.header.firstIfdOffset}`,
      detail: `none of the ${t.ifds.length} IFDs is a full-resolution image`,
      hint: "the file holds only reduced-resolution images or masks"
    })
  }
  const firstIfd = t.ifds[pages[0]!.ifdIndex]!
  const x = spacingOf(await ifdNumbers(t, firstIfd, Tag.XResolution))
  const y = firstIfd.entries.has(Tag.YResolution) ? spacingOf(await ifdNumbers(t, firstIfd, Tag.YResolution)) : x
  const resolutionUnit = await ifdNumber(t, firstIfd, Tag.ResolutionUnit, 2)
  const description = await ifdText(t, firstIfd, Tag.ImageDescription)
  let z = 1
  let unit: string | undefined
  let descriptionKind = description === undefined ? "none" : "other"
  if (description !== undefined && (description.startsWith("ImageJ=") || description.startsWith("slicewise="))) {
    descriptionKind = description.startsWith("ImageJ=") ? "imagej" : "slicewise"
    const fields = descriptionFields(description)
    const s = Number(fields.get("spacing"))
    if (fields.has("spacing") && Number.isFinite(s) && s > 0) z = s
    const u = fields.get("unit")
    if (u !== undefined && u !== "") unit = unescapeUnit(u)
    if (descriptionKind === "imagej") pages = imagejPages(t.path, size, pages, Number(fields.get("images")))
  }
  return {
    path,
    size,
    header: t.header,
    pages,
    ifdCount: t.ifds.length,
    spacing: [z, y, x],
    resolutionUnit,
    unit,
    descriptionKind,
    ...(keepMetadata ? await metadataBytes(t) : {})
  }
}

/** Past this many bytes of metadata a comparison costs as much as a parse (large descriptions). */
const TEMPLATE_BYTES = 64 * 1024

const metadataBytes = async (t: TiffStructure): Promise<{ metadata?: ReadonlyArray<MetadataBytes> }> => {
  const ranges = metadataRanges(t)
  if (ranges.reduce((sum, [, length]) => sum + length, 0) > TEMPLATE_BYTES) return {}
  const metadata: MetadataBytes[] = []
  for (const [offset, length] of ranges) {
    if (!(await t.window.ensure(offset, length))) return {}
    metadata.push({ offset, bytes: t.window.bytes(offset, length) })
  }
  return { metadata }
}

/**
 * Inspects a file that is probably laid out like `template` (inspected with `keepMetadata`), as
 * the files of a stack written by one program are. A parse depends only on the file's size and
 * its metadata bytes, so when both are the template's, so is the result: `template` for `path`,
 * for a small read and a comparison. Otherwise the file is parsed in full.
 *
 * @example
 * ```ts
 * const head = await inspectTiff(fd0, files[0], size0, 16 * 1024, true)
 * const next = await inspectTiffLike(head, fd1, files[1], size1, 16 * 1024)
 * ```
 */
export const inspectTiffLike = async (
  template: InspectedTiff,
  fd: number,
  path: string,
  size: number,
  maxChunk = 1024 * 1024
): Promise<InspectedTiff> => {
  if (isLaidOutLike(template, fd, size)) return { ...template, path }
  return inspectTiff(fd, path, size, maxChunk)
}

/**
 * Whether the open file `fd` of `size` bytes has `template`'s size and metadata bytes, so that it
 * parses as `template` does. Synchronous: the reads are of a few KiB.
 *
 * @example
 * ```ts
 * if (isLaidOutLike(head, fd, size)) pages = head.pages
 * ```
 */
export const isLaidOutLike = (template: InspectedTiff, fd: number, size: number): boolean => {
  const reads = template.metadata
  if (reads === undefined || size !== template.size) return false
  for (const { offset, bytes } of reads) {
    const got = new Uint8Array(bytes.length)
    if (readFullySync(fd, got, offset) !== bytes.length) return false
    if (Buffer.compare(got, bytes) !== 0) return false
  }
  return true
}

/**
 * `slicewise info` facts shared by files and stacks.
 *
 * @example
 * ```ts
 * pageDetails(tiff)   // { compression: "lzw", predictor: 2, byteOrder: "little-endian", … }
 * ```
 */
export const pageDetails = (t: InspectedTiff): Record<string, string | number | boolean> => {
  const p = t.pages[0]!
  const compressions = new Set(t.pages.map((q) => compressionName(q.compression)))
  const details: Record<string, string | number | boolean> = {
    compression: compressions.size === 1 ? [...compressions][0]! : [...compressions].join("+"),
    predictor: p.predictor,
    byteOrder: t.header.littleEndian ? "little-endian" : "big-endian",
    bigtiff: t.header.bigTiff,
    layout: p.tiled ? "tiles" : "strips",
    photometric: photometricName(p.photometric),
    resolutionUnit: resolutionUnitName(t.resolutionUnit),
    description: t.descriptionKind
  }
  if (p.tiled) {
    details.tileSize = `${p.blockWidth}×${p.blockHeight}`
    details.tilesPerPage = p.blocksAcross * p.blocksDown
  } else {
    details.rowsPerStrip = p.blockHeight
    details.stripsPerPage = p.blocksDown
  }
  if (t.unit !== undefined) details.unit = t.unit
  return details
}
