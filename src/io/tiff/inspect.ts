/**
 * Everything slicewise learns from a TIFF file's metadata, read once when a source is opened: the
 * full-resolution pages (reduced-resolution ones skipped), how they stack into z, channels and time
 * points (ImageJ hyperstack, OME-TIFF, tifffile's shaped description, or one page per z), the
 * voxel spacing and the geometry the file states, and descriptive details.
 *
 * @example
 * ```ts
 * const tiff = await inspectTiff(fd, "/data/stack.tif", size)
 * tiff.axes.letters     // "TZCYX" for an ImageJ hyperstack, "ZYX" for a plain multi-page file
 * tiff.spacing          // [z, y, x] from ImageJ "spacing=", OME PhysicalSize* or X/YResolution
 * ```
 */
import type { Spacing } from "../../algebra/volume.js"
import type { Geometry } from "../../algebra/geometry.js"
import { FormatError, UnsupportedError } from "../../algebra/io-errors.js"
import { readFullySync } from "../files.js"
import { imagejAxes, omeAxes, planeIndex, plainAxes, shapedAxes, type PageAxes, type ShapedFacts } from "./axes.js"
import { descriptionFields, imagejFacts } from "./description.js"
import { ifdNumber, ifdNumbers, ifdText, metadataRanges, parseTiffStructure, type RawIfd, type TiffHeader, type TiffStructure } from "./ifd.js"
import { isOmeXml, omeDtype, parseOmeXml, type OmeImage } from "./ome.js"
import { isReducedPage, readPage, type TiffPage } from "./page.js"
import { imagejPhysical, omePhysical, resolutionPhysical, type Physical, type Resolution } from "./physical.js"
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
  /** The file's planes: full-resolution pages in the order `axes.planeIndex` counts them. */
  readonly pages: ReadonlyArray<TiffPage>
  /** How the planes stack into z, channels and time points. */
  readonly axes: PageAxes
  /** IFDs in the file, reduced-resolution ones included. */
  readonly ifdCount: number
  /** Spacing of channel 0, time 0 (the same for every channel and time point). */
  readonly spacing: Spacing
  /** Geometry of channel 0, time 0; undefined when the file states no unit and no origin. */
  readonly geometry: Geometry | undefined
  /** What spacing and geometry come from (see physicalOf); plain data, so inspections compare equal. */
  readonly physicalFacts: PhysicalFacts
  readonly resolutionUnit: number
  /** Unit named by an ImageJ or slicewise description ("µm"), if any. */
  readonly unit: string | undefined
  /** "imagej", "slicewise", "ome", "shaped", "other" or "none". */
  readonly descriptionKind: string
  /** Facts of the description for `slicewise info` (the OME series chosen, …). */
  readonly descriptionDetails: Readonly<Record<string, string | number>>
  /** The file's metadata bytes, when inspected with `keepMetadata` (see inspectTiffLike). */
  readonly metadata?: ReadonlyArray<MetadataBytes>
}

const spacingOf = (pair: Float64Array | undefined): number => {
  // Resolution is pixels per unit, so spacing is denominator / numerator.
  if (pair === undefined || pair.length < 2) return 1
  const [num, den] = [pair[0]!, pair[1]!]
  return num > 0 && den > 0 ? den / num : 1
}

const resolutionOf = async (t: TiffStructure, ifd: RawIfd): Promise<Resolution> => {
  const xPair = await ifdNumbers(t, ifd, Tag.XResolution)
  const x = spacingOf(xPair)
  const y = ifd.entries.has(Tag.YResolution) ? spacingOf(await ifdNumbers(t, ifd, Tag.YResolution)) : x
  const unit = ifd.entries.has(Tag.ResolutionUnit) ? await ifdNumber(t, ifd, Tag.ResolutionUnit, 2) : undefined
  return { x, y, unit, stated: xPair !== undefined }
}

const UTF8 = new TextDecoder("utf-8", { fatal: true })

/** The description as text: UTF-8 (OME-XML, JSON) when it decodes as such, else Latin-1. */
const decodeDescription = (latin1: string | undefined): string | undefined => {
  if (latin1 === undefined || !/[\x80-\xff]/.test(latin1)) return latin1
  try {
    return UTF8.decode(Buffer.from(latin1, "latin1"))
  } catch {
    return latin1
  }
}

const DESCRIPTION_AT = (ifd: RawIfd) => `IFD ${ifd.index} tag 270 (ImageDescription)`

/**
 * Reads `ifds` as pages labelled `page k (IFD i)`; every page must have the first's size and dtype.
 */
const readUniformPages = async (t: TiffStructure, ifds: ReadonlyArray<RawIfd>): Promise<TiffPage[]> => {
  const pages: TiffPage[] = []
  for (const ifd of ifds) {
    const page = await readPage(t, ifd, `page ${pages.length} (IFD ${ifd.index})`)
    const first = pages[0]
    if (first !== undefined && (page.width !== first.width || page.height !== first.height || page.dtype !== first.dtype)) {
      throw new FormatError({
        path: t.path,
        position: page.label,
        detail: `is ${page.height}×${page.width} ${page.dtype}, but page 0 is ${first.height}×${first.width} ${first.dtype}`,
        hint: "every page of a multi-page TIFF must have the same size and dtype"
      })
    }
    pages.push(page)
  }
  return pages
}

/**
 * ImageJ writes stacks past 4 GiB with one IFD only, and tifffile does with `truncate=True`: the
 * description counts the images, stored back to back after the first. Such a file yields one page
 * per image; other files keep their pages.
 */
const contiguousPages = (path: string, size: number, pages: TiffPage[], images: number, what: string): TiffPage[] => {
  const first = pages[0]!
  if (pages.length !== 1 || !(Number.isInteger(images) && images > 1) || first.contiguousAt < 0) return pages
  const end = first.contiguousAt + images * first.readBytes
  if (end > size) {
    throw new FormatError({
      path,
      position: `IFD ${first.ifdIndex} tag 270 (ImageDescription)`,
      detail: `${what} would end at byte ${end}, past the end of the file (${size} bytes)`,
      hint: "the file is truncated"
    })
  }
  return Array.from({ length: images }, (_, k) => ({
    ...first,
    label: `page ${k} (IFD ${first.ifdIndex}, image ${k})`,
    contiguousAt: first.contiguousAt + k * first.readBytes
  }))
}

/** Spacing and geometry as stated once for the file, or per OME plane (their positions differ). */
export type PhysicalFacts = { readonly fixed: Physical } | { readonly ome: OmeImage; readonly resolution: Resolution }

/**
 * Spacing and geometry of channel `c` at time `t`.
 *
 * @example
 * ```ts
 * physicalOf(tiff, 1, 0).geometry?.origin   // the position of channel 1's first plane, for OME
 * ```
 */
export const physicalOf = (tiff: InspectedTiff, c: number, t: number): Physical =>
  "fixed" in tiff.physicalFacts ? tiff.physicalFacts.fixed : omePhysical(tiff.physicalFacts.ome, tiff.physicalFacts.resolution, c, t)

/** Pages, axes and physical facts, as the description (or its absence) says. */
interface PlaneLayout {
  readonly pages: ReadonlyArray<TiffPage>
  readonly axes: PageAxes
  readonly physical: PhysicalFacts
  readonly kind: string
  readonly unit?: string
  readonly details?: Record<string, string | number>
}

const plainLayout = async (t: TiffStructure, full: ReadonlyArray<RawIfd>, r: Resolution, kind: string): Promise<PlaneLayout> => {
  const pages = await readUniformPages(t, full)
  const p = pages[0]!
  return { pages, axes: plainAxes(pages.length, p.height, p.width), physical: { fixed: resolutionPhysical(r) }, kind }
}

const imagejLayout = async (t: TiffStructure, full: ReadonlyArray<RawIfd>, r: Resolution, description: string, kind: string, describe: boolean): Promise<PlaneLayout> => {
  const facts = imagejFacts(descriptionFields(description))
  let pages = await readUniformPages(t, full)
  if (kind === "imagej") pages = contiguousPages(t.path, t.size, pages, facts.images ?? 0, `ImageJ's images=${facts.images}`)
  const p = pages[0]!
  return {
    pages,
    axes: imagejAxes(t.path, facts, pages.length, p.height, p.width, describe),
    physical: { fixed: imagejPhysical(facts, r) },
    kind,
    ...(facts.unit !== undefined && { unit: facts.unit })
  }
}

/** tifffile's JSON description (`{"shape": [16, 64, 64]}`) or its old `shape=(16, 64, 64)`. */
const shapedFacts = (description: string): ShapedFacts | undefined => {
  try {
    if (description.startsWith("shape=(")) {
      const shape = description.slice(7, description.indexOf(")")).split(",").filter((s) => s.trim() !== "").map(Number)
      return shape.every((n) => Number.isInteger(n) && n >= 0) ? { shape, axes: undefined, truncated: false } : undefined
    }
    const json = JSON.parse(description) as { shape?: unknown; axes?: unknown; truncated?: unknown }
    const shape = json.shape
    if (!Array.isArray(shape) || !shape.every((n) => Number.isInteger(n) && n >= 0)) return undefined
    return { shape: shape as number[], axes: typeof json.axes === "string" ? json.axes : undefined, truncated: json.truncated === true }
  } catch {
    return undefined
  }
}

const shapedLayout = async (t: TiffStructure, full: ReadonlyArray<RawIfd>, r: Resolution, facts: ShapedFacts, describe: boolean): Promise<PlaneLayout> => {
  const first = await readPage(t, full[0]!, `page 0 (IFD ${full[0]!.index})`)
  const axes = shapedAxes(t.path, facts, first.height, first.width, describe)
  if (axes === undefined) {
    // tifffile ignores a shape that does not fit the pages, and reads them as a sequence.
    const plain = await plainLayout(t, full, r, "shaped")
    return { ...plain, details: { shapedDescription: `shape [${facts.shape.join(", ")}] does not fit the pages: ignored, as tifffile does` } }
  }
  // The leading dimensions' product: trailing ones are 1 (see shapedAxes).
  const planes = facts.shape.reduce((n, k) => n * k, 1) / (first.height * first.width)
  if (planes === 0) throw new FormatError({ path: t.path, position: DESCRIPTION_AT(full[0]!), detail: `tifffile's shape [${facts.shape.join(", ")}] holds no image` })
  // tifffile writes each `write` call as a series of its own: files written one 2D page at a time
  // are a sequence of 2D series, which slicewise stacks along z as it does plain pages.
  if (planes === 1 && !facts.truncated && full.length > 1) return plainLayout(t, full, r, "shaped")
  let pages = await readUniformPages(t, full.slice(0, planes))
  if (facts.truncated) pages = contiguousPages(t.path, t.size, pages, planes, `tifffile's shape [${facts.shape.join(", ")}]`)
  if (pages.length < planes) {
    throw new FormatError({
      path: t.path,
      position: DESCRIPTION_AT(full[0]!),
      detail: `tifffile's shape [${facts.shape.join(", ")}] needs ${planes} pages, the file holds ${pages.length}`,
      hint: "the file is truncated"
    })
  }
  const rest = full.length - planes
  return { pages, axes, physical: { fixed: resolutionPhysical(r) }, kind: "shaped", ...(rest > 0 && { details: { series: `0 (pages 0…${planes - 1}; ${rest} more pages not read)` } }) }
}

/** Which IFD holds each plane of `image` (−1: none), from its TiffData, or IFD p for plane p. */
const planeIfds = (image: OmeImage, axes: PageAxes, ifdCount: number): Int32Array => {
  const { Z, C, T } = image.size
  const n = Z * C * T
  const out = new Int32Array(n).fill(-1)
  if (image.tiffData.length === 0) {
    for (let p = 0; p < Math.min(n, ifdCount); p++) out[p] = p
    return out
  }
  for (const d of image.tiffData) {
    const start = planeIndex(axes, d.first.T, d.first.C, d.first.Z)
    const count = d.planeCount ?? (d.hasIfd ? 1 : ifdCount - d.ifd)
    for (let i = 0; i < count && start + i < n; i++) out[start + i] = d.ifd + i
  }
  return out
}

const omeLayout = async (t: TiffStructure, r: Resolution, description: string): Promise<PlaneLayout> => {
  const at = DESCRIPTION_AT(t.ifds[0]!)
  let doc
  try {
    doc = parseOmeXml(description)
  } catch (e) {
    throw new FormatError({ path: t.path, position: at, detail: e instanceof Error ? e.message : String(e) })
  }
  if (doc.binaryOnly !== undefined) {
    throw new UnsupportedError({
      path: t.path,
      detail: `OME-TIFF whose metadata is in a companion file (BinaryOnly${doc.binaryOnly ? `, MetadataFile="${doc.binaryOnly}"` : ""})`,
      hint: "open the file the metadata names, or convert to a single-file OME-TIFF"
    })
  }
  const image = doc.images[0]
  if (image === undefined) throw new FormatError({ path: t.path, position: at, detail: "the OME-XML holds no Image" })
  if (image.samplesPerPixel > 1) {
    throw new UnsupportedError({ path: t.path, detail: `OME-TIFF with ${image.samplesPerPixel} samples per pixel (RGB): only one sample per pixel is read`, hint: "split the channels into separate files first" })
  }
  const elsewhere = image.tiffData.find((d) => d.fileName !== undefined && d.fileName !== baseName(t.path))
  if (elsewhere !== undefined) {
    throw new UnsupportedError({
      path: t.path,
      detail: `multi-file OME-TIFF: planes of Image 0 are in ${elsewhere.fileName}`,
      hint: "slicewise reads OME-TIFFs whose planes are all in one file"
    })
  }
  const ifdOfPlane = planeIfds(image, omeAxes(image), t.ifds.length)
  const pageOfIfd = new Map<number, number>()
  const ifds: RawIfd[] = []
  for (const i of ifdOfPlane) {
    const ifd = t.ifds[i]
    if (ifd === undefined || pageOfIfd.has(i) || (await isReducedPage(t, ifd))) continue
    pageOfIfd.set(i, ifds.length)
    ifds.push(ifd)
  }
  if (ifds.length === 0) throw new FormatError({ path: t.path, position: at, detail: "no plane of OME Image 0 is in a full-resolution IFD of the file" })
  const pages = await readUniformPages(t, ifds)
  checkOmePages(t.path, at, image, pages[0]!)
  const planeToPage = ifdOfPlane.map((i) => pageOfIfd.get(i) ?? -1)
  return {
    pages,
    axes: omeAxes(image, planeToPage),
    physical: { ome: image, resolution: r },
    kind: "ome",
    ...(doc.images.length > 1 && { details: { series: `0 of ${doc.images.length}${image.name ? ` (${image.name})` : ""}` } })
  }
}

const baseName = (path: string): string => path.slice(Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\")) + 1)

/** OME's SizeX, SizeY and Type must be the pages'. */
const checkOmePages = (path: string, at: string, image: OmeImage, page: TiffPage) => {
  const type = omeDtype(image.type)
  if (image.size.X !== page.width || image.size.Y !== page.height || (type !== undefined && type !== page.dtype)) {
    throw new FormatError({
      path,
      position: at,
      detail: `OME-XML says SizeX=${image.size.X} SizeY=${image.size.Y} Type=${image.type ?? "(none)"}, but ${page.label} is ${page.width}×${page.height} ${page.dtype}`
    })
  }
}

/**
 * Parses a TIFF's IFDs and pages. `maxChunk` bounds the metadata read size (large for multi-page
 * files, small for the 2D files of a stack); `keepMetadata` keeps the metadata's bytes (up to
 * 64 KiB of them), making the result a template for inspectTiffLike; `describe` takes a file whose
 * axes are ambiguous for describing, reading the unnamed ones at 0 (see PageAxes.note).
 * Throws FormatError / UnsupportedError.
 *
 * @example
 * ```ts
 * const tiff = await inspectTiff(fd, "a.tif", size)
 * tiff.pages.length, tiff.axes, tiff.spacing
 * ```
 */
export const inspectTiff = async (
  fd: number,
  path: string,
  size: number,
  maxChunk = 1024 * 1024,
  keepMetadata = false,
  describe = false
): Promise<InspectedTiff> => {
  const t = await parseTiffStructure(fd, path, size, maxChunk)
  const full: RawIfd[] = []
  for (const ifd of t.ifds) if (!(await isReducedPage(t, ifd))) full.push(ifd)
  if (full.length === 0) {
    throw new FormatError({
      path,
      position: `IFD 0 at byte ${t.header.firstIfdOffset}`,
      detail: `none of the ${t.ifds.length} IFDs is a full-resolution image`,
      hint: "the file holds only reduced-resolution images or masks"
    })
  }
  const firstIfd = full[0]!
  const resolution = await resolutionOf(t, firstIfd)
  const description = decodeDescription(await ifdText(t, firstIfd, Tag.ImageDescription))
  const layout = await layoutOf(t, full, resolution, description, describe)
  const physical = "fixed" in layout.physical ? layout.physical.fixed : omePhysical(layout.physical.ome, layout.physical.resolution, 0, 0)
  return {
    path,
    size,
    header: t.header,
    pages: layout.pages,
    axes: layout.axes,
    ifdCount: t.ifds.length,
    spacing: physical.spacing,
    geometry: physical.geometry,
    physicalFacts: layout.physical,
    resolutionUnit: resolution.unit ?? 2,
    unit: layout.unit,
    descriptionKind: layout.kind,
    descriptionDetails: layout.details ?? {},
    ...(keepMetadata ? await metadataBytes(t) : {})
  }
}

/** The layout the description names, in tifffile's order of precedence: shaped, OME, ImageJ. */
const layoutOf = (t: TiffStructure, full: ReadonlyArray<RawIfd>, r: Resolution, description: string | undefined, describe: boolean): Promise<PlaneLayout> => {
  if (description === undefined) return plainLayout(t, full, r, "none")
  const shaped = description.startsWith("{") || description.startsWith("shape=") ? shapedFacts(description) : undefined
  if (shaped !== undefined) return shapedLayout(t, full, r, shaped, describe)
  if (isOmeXml(description)) return omeLayout(t, r, description)
  // SCIFIO writes ImageJ's description under its own name (tifffile reads both alike).
  if (description.startsWith("ImageJ=") || description.startsWith("SCIFIO=")) return imagejLayout(t, full, r, description, "imagej", describe)
  if (description.startsWith("slicewise=")) return imagejLayout(t, full, r, description, "slicewise", describe)
  return plainLayout(t, full, r, "other")
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
  return { ...details, ...t.descriptionDetails }
}
