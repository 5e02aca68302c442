/**
 * The part of OME-XML (the first page's ImageDescription of an OME-TIFF) that says how planes map
 * to pages and where they are: each Image's Pixels (sizes, DimensionOrder, Type, physical sizes and
 * their units), its TiffData (which IFDs hold which planes, and in which file) and the positions of
 * its Planes. A small scanner of tags and attributes, not a general XML parser: OME-XML is
 * machine-written, and nothing else of it is needed.
 *
 * @example
 * ```ts
 * const ome = parseOmeXml('<OME><Image><Pixels DimensionOrder="XYZCT" SizeX="64" SizeY="64" SizeZ="16" SizeC="2" SizeT="1" Type="uint16"/></Image></OME>')
 * ome.images[0]!.order   // "XYZCT"
 * ome.images[0]!.size    // { X: 64, Y: 64, Z: 16, C: 2, T: 1 }
 * ```
 */

/** The six orders OME allows: X and Y first, then Z, C and T fastest to slowest. */
export const DIMENSION_ORDERS = ["XYZCT", "XYZTC", "XYCZT", "XYCTZ", "XYTCZ", "XYTZC"] as const
export type DimensionOrder = (typeof DIMENSION_ORDERS)[number]

/** A length as OME writes it: the number and the unit's symbol (absent: the schema's default). */
export interface OmeLength {
  readonly value: number
  readonly unit: string | undefined
}

/** One TiffData element: planes from (FirstZ, FirstC, FirstT) on are in IFD, IFD + 1, … */
export interface OmeTiffData {
  readonly ifd: number
  /** PlaneCount (or NumPlanes); absent: 1 when IFD is given, else every IFD of the file. */
  readonly planeCount: number | undefined
  readonly hasIfd: boolean
  readonly first: { readonly Z: number; readonly C: number; readonly T: number }
  /** The FileName of its UUID child: planes in another file of a multi-file OME-TIFF. */
  readonly fileName: string | undefined
  readonly hasUuid: boolean
}

export interface OmePlane {
  readonly Z: number
  readonly C: number
  readonly T: number
  readonly position: { readonly x?: OmeLength; readonly y?: OmeLength; readonly z?: OmeLength }
}

export interface OmeImage {
  readonly name: string | undefined
  readonly order: string
  readonly type: string | undefined
  readonly size: { readonly X: number; readonly Y: number; readonly Z: number; readonly C: number; readonly T: number }
  readonly physical: { readonly x?: OmeLength; readonly y?: OmeLength; readonly z?: OmeLength }
  /** SamplesPerPixel of the first Channel (1 when none says). */
  readonly samplesPerPixel: number
  readonly tiffData: ReadonlyArray<OmeTiffData>
  readonly planes: ReadonlyArray<OmePlane>
}

export interface OmeDocument {
  readonly images: ReadonlyArray<OmeImage>
  /** BinaryOnly: the metadata is in a companion file (MetadataFile). */
  readonly binaryOnly: string | undefined
}

/**
 * True when a description is OME-XML, as tifffile decides it (the text ends with "OME>").
 *
 * @example
 * ```ts
 * isOmeXml('<?xml version="1.0"?><OME xmlns="…">…</OME>\n')   // true
 * ```
 */
export const isOmeXml = (text: string): boolean => /OME>\s*$/.test(text.slice(-16))

const ENTITIES: Readonly<Record<string, string>> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" }

const decodeEntities = (s: string): string =>
  s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);/g, (all, e: string) =>
    e.startsWith("#x") ? String.fromCodePoint(parseInt(e.slice(2), 16)) : e.startsWith("#") ? String.fromCodePoint(parseInt(e.slice(1), 10)) : (ENTITIES[e] ?? all)
  )

const ATTRIBUTE = /([^\s=/>]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g

const attributesOf = (text: string): Map<string, string> => {
  const out = new Map<string, string>()
  for (const m of text.matchAll(ATTRIBUTE)) out.set(m[1]!.replace(/^.*:/, ""), decodeEntities(m[2] ?? m[3] ?? ""))
  return out
}

// A start, end or empty-element tag with an optional namespace prefix; comments, the XML
// declaration and processing instructions do not match (they start with "!" or "?").
const TAG = /<(\/?)(?:[A-Za-z_][\w.-]*:)?([A-Za-z_][\w.-]*)((?:\s+[^\s=/>]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>/g

const intOf = (a: Map<string, string>, key: string, fallback: number): number => {
  const v = a.get(key)
  const n = Number(v)
  return v !== undefined && Number.isInteger(n) ? n : fallback
}

const lengthOf = (a: Map<string, string>, key: string): OmeLength | undefined => {
  const v = a.get(key)
  const n = Number(v)
  return v === undefined || v === "" || !Number.isFinite(n) ? undefined : { value: n, unit: a.get(`${key}Unit`) }
}

const threeLengths = (a: Map<string, string>, prefix: string) => {
  const [x, y, z] = ["X", "Y", "Z"].map((axis) => lengthOf(a, `${prefix}${axis}`))
  return { ...(x && { x }), ...(y && { y }), ...(z && { z }) }
}

interface MutableImage {
  name: string | undefined
  pixels: Map<string, string> | undefined
  samplesPerPixel: number | undefined
  tiffData: OmeTiffData[]
  planes: OmePlane[]
}

/**
 * The Images of an OME-XML document. Throws an Error (with a message for a FormatError) when an
 * Image has no Pixels or a Pixels element lacks its sizes or order.
 *
 * @example
 * ```ts
 * parseOmeXml(text).images.length   // series in the file
 * ```
 */
export const parseOmeXml = (xml: string): OmeDocument => {
  const text = xml.replace(/<!--[\s\S]*?-->/g, "")
  const images: MutableImage[] = []
  const open: string[] = []
  let binaryOnly: string | undefined
  let image: MutableImage | undefined
  let tiffData: { attrs: Map<string, string>; fileName: string | undefined; hasUuid: boolean } | undefined
  const closeTiffData = () => {
    if (tiffData === undefined || image === undefined) return
    const a = tiffData.attrs
    const count = a.has("PlaneCount") ? intOf(a, "PlaneCount", 1) : a.has("NumPlanes") ? intOf(a, "NumPlanes", 1) : undefined
    image.tiffData.push({
      ifd: intOf(a, "IFD", 0),
      planeCount: count,
      hasIfd: a.has("IFD"),
      first: { Z: intOf(a, "FirstZ", 0), C: intOf(a, "FirstC", 0), T: intOf(a, "FirstT", 0) },
      fileName: tiffData.fileName,
      hasUuid: tiffData.hasUuid
    })
    tiffData = undefined
  }
  for (const m of text.matchAll(TAG)) {
    const [, closing, name, attrText, empty] = m as unknown as [string, string, string, string, string]
    if (closing) {
      if (name === "TiffData") closeTiffData()
      if (name === "Image") image = undefined
      // Pop to the matching element; malformed nesting only loses context, never throws.
      const at = open.lastIndexOf(name)
      if (at >= 0) open.length = at
      continue
    }
    const parent = open[open.length - 1]
    const a = attributesOf(attrText)
    if (name === "BinaryOnly") binaryOnly = a.get("MetadataFile") ?? ""
    else if (name === "Image" && parent === "OME") {
      image = { name: a.get("Name"), pixels: undefined, samplesPerPixel: undefined, tiffData: [], planes: [] }
      images.push(image)
    } else if (image !== undefined && name === "Pixels" && parent === "Image") image.pixels = a
    else if (image !== undefined && name === "Channel" && parent === "Pixels") image.samplesPerPixel ??= intOf(a, "SamplesPerPixel", 1)
    else if (image !== undefined && name === "TiffData" && parent === "Pixels") tiffData = { attrs: a, fileName: undefined, hasUuid: false }
    else if (tiffData !== undefined && name === "UUID" && parent === "TiffData") {
      tiffData.hasUuid = true
      tiffData.fileName = a.get("FileName")
    } else if (image !== undefined && name === "Plane" && parent === "Pixels") {
      image.planes.push({ Z: intOf(a, "TheZ", 0), C: intOf(a, "TheC", 0), T: intOf(a, "TheT", 0), position: threeLengths(a, "Position") })
    }
    if (empty) {
      if (name === "TiffData") closeTiffData()
      if (name === "Image") image = undefined
    } else open.push(name)
  }
  closeTiffData()
  return { images: images.map(finishImage), binaryOnly }
}

const finishImage = (m: MutableImage, index: number): OmeImage => {
  const p = m.pixels
  if (p === undefined) throw new Error(`OME-XML Image ${index} has no Pixels element`)
  const size = { X: intOf(p, "SizeX", 0), Y: intOf(p, "SizeY", 0), Z: intOf(p, "SizeZ", 0), C: intOf(p, "SizeC", 0), T: intOf(p, "SizeT", 0) }
  for (const [axis, n] of Object.entries(size)) {
    if (!(n >= 1)) throw new Error(`OME-XML Image ${index} Pixels Size${axis} is ${p.get(`Size${axis}`) ?? "missing"}`)
  }
  const order = (p.get("DimensionOrder") ?? "").toUpperCase()
  if (!(DIMENSION_ORDERS as ReadonlyArray<string>).includes(order)) {
    throw new Error(`OME-XML Image ${index} Pixels DimensionOrder is "${p.get("DimensionOrder") ?? ""}", not one of ${DIMENSION_ORDERS.join(", ")}`)
  }
  return {
    name: m.name,
    order,
    type: p.get("Type"),
    size,
    physical: threeLengths(p, "PhysicalSize"),
    samplesPerPixel: m.samplesPerPixel ?? 1,
    tiffData: m.tiffData,
    planes: m.planes
  }
}

/**
 * The slicewise dtype OME's Pixels Type names, for a check against the pages.
 *
 * @example
 * ```ts
 * omeDtype("float")   // "float32"
 * ```
 */
export const omeDtype = (type: string | undefined): string | undefined =>
  type === undefined ? undefined : ({ float: "float32", double: "float64" } as Record<string, string>)[type] ?? type
