/**
 * The byte layout of a TIFF slicewise writes, computed in full from the volume info before any
 * byte is written: header, then every IFD, then the pixel data of each page in z order, each page
 * as uncompressed strips of about `stripBytes`. Because every offset is known in advance, slices
 * can be written in any order, and the file size (`totalBytes`) is exact.
 *
 * @example
 * ```ts
 * const layout = planTiffLayout(volumeInfo("uint16", [64, 512, 512]), { bigtiff: "auto" })
 * layout.totalBytes          // exact file size
 * layout.dataOffset(3)       // where slice 3's pixels go
 * const meta = new Uint8Array(layout.metadataBytes)
 * encodeMetadata(layout, meta, 0, layout.depth)   // header + all IFDs (+ padding)
 * ```
 */
import { bytesPerVoxel, type DType } from "../../algebra/dtype.js"
import type { VolumeInfo } from "../../algebra/volume.js"
import { describeVolume, writtenPhysical } from "./description.js"
import { FieldType, samplesOfDtype, SampleFormat, Tag } from "./tags.js"

export interface LayoutOptions {
  /** BigTIFF: true, false, or "auto" (only when the file would pass 4 GiB). Default "auto". */
  readonly bigtiff?: boolean | "auto"
  /** Target strip size in bytes (default 64 KiB); a strip holds at least one row. */
  readonly stripBytes?: number
  /** Write an ImageJ-style description with the z spacing, unit and origin (default true; see description.ts). */
  readonly description?: boolean
  /**
   * Offset of the pixel data within a 4 KiB page, for slices of 64 KiB or more (default 16: reads
   * into freshly allocated large buffers, which start 16 bytes into a page, then copy at full
   * speed; see bench/tiff-read.ts). Negative: no alignment padding.
   */
  readonly dataPhase?: number
}

interface Entry {
  readonly tag: number
  readonly type: number
  readonly count: number
  /** Inline values, or the values stored out of line. */
  readonly values: (z: number) => ReadonlyArray<number>
  /** Text for ASCII entries. */
  readonly text?: string
}

export interface TiffLayout {
  readonly dtype: DType
  readonly depth: number
  readonly height: number
  readonly width: number
  readonly bigTiff: boolean
  readonly rowsPerStrip: number
  readonly stripsPerPage: number
  readonly sliceBytes: number
  /** Header + IFDs + padding: everything before the first slice's pixels. */
  readonly metadataBytes: number
  readonly totalBytes: number
  readonly dataOffset: (z: number) => number
  readonly ifdOffset: (z: number) => number
  /** IFD bytes of page z (out-of-line values included). */
  readonly ifdBytes: (z: number) => number
  readonly description: string | undefined
  /** @internal */
  readonly entries: (z: number) => ReadonlyArray<Entry>
}

const MAX_CLASSIC = 0xffffffff

/**
 * Best rational p/q ≈ x with p, q ≤ 2^32 − 1 (continued fractions), for RATIONAL tags.
 *
 * @example
 * ```ts
 * toRational(0.3)   // [3, 10]
 * ```
 */
export const toRational = (x: number): readonly [number, number] => {
  if (!(x > 0 && Number.isFinite(x))) return [1, 1]
  let [p0, q0, p1, q1] = [0, 1, 1, 0]
  let v = x
  for (let i = 0; i < 64; i++) {
    const a = Math.floor(v)
    const p2 = a * p1 + p0
    const q2 = a * q1 + q0
    if (p2 > MAX_CLASSIC || q2 > MAX_CLASSIC) break
    ;[p0, q0, p1, q1] = [p1, q1, p2, q2]
    const frac = v - a
    if (p1 / q1 === x || frac < 1e-300) break
    v = 1 / frac
  }
  if (q1 === 0 || p1 === 0) return x >= 1 ? [MAX_CLASSIC, 1] : [1, MAX_CLASSIC]
  return [p1, q1]
}

const align = (n: number, to: number): number => Math.ceil(n / to) * to

/**
 * Plans the file for `info` (depth pages). Throws RangeError for shapes TIFF cannot hold; the sink
 * turns that into an UnsupportedError.
 *
 * @example
 * ```ts
 * planTiffLayout(volumeInfo("uint32", [1024, 1024, 1024])).bigTiff   // true: 4 GiB of pixels
 * ```
 */
export const planTiffLayout = (info: VolumeInfo, options: LayoutOptions = {}): TiffLayout => {
  const [depth, height, width] = info.shape
  for (const [name, n] of [["depth", depth], ["height", height], ["width", width]] as const) {
    if (!(Number.isInteger(n) && n >= 1)) throw new RangeError(`${name} is ${n}; a TIFF needs at least 1`)
  }
  if (width > MAX_CLASSIC || height > MAX_CLASSIC) throw new RangeError(`${width}×${height} exceeds TIFF's 2^32−1 limit`)
  const bps = bytesPerVoxel(info.dtype)
  const rowBytes = width * bps
  const rowsPerStrip = Math.min(height, Math.max(1, Math.floor((options.stripBytes ?? 65536) / rowBytes)))
  const stripsPerPage = Math.ceil(height / rowsPerStrip)
  const sliceBytes = height * rowBytes
  const description = options.description === false ? undefined : describeVolume(info, depth)
  const classic = build(info, false, rowsPerStrip, stripsPerPage, sliceBytes, description, options.dataPhase)
  const want = options.bigtiff ?? "auto"
  if (want === false && classic.totalBytes > MAX_CLASSIC) {
    throw new RangeError(`the file would be ${classic.totalBytes} bytes, past classic TIFF's 4 GiB limit; allow BigTIFF`)
  }
  if (want === true || (want === "auto" && classic.totalBytes > MAX_CLASSIC)) {
    return build(info, true, rowsPerStrip, stripsPerPage, sliceBytes, description, options.dataPhase)
  }
  return classic
}

const build = (
  info: VolumeInfo,
  bigTiff: boolean,
  rowsPerStrip: number,
  stripsPerPage: number,
  sliceBytes: number,
  description: string | undefined,
  dataPhase = 16
): TiffLayout => {
  const [depth, height, width] = info.shape
  const rowBytes = width * bytesPerVoxel(info.dtype)
  const stripBytes = rowsPerStrip * rowBytes
  const { bits, format } = samplesOfDtype(info.dtype)
  const headerBytes = bigTiff ? 16 : 8
  const inline = bigTiff ? 8 : 4
  const entryBytes = bigTiff ? 20 : 12
  const countBytes = bigTiff ? 8 : 2
  const offsetType = bigTiff ? FieldType.LONG8 : FieldType.LONG
  // Written as resolution q/p for spacing p/q, so that readers computing den/num get p/q back
  // exactly; in the unit the description names (see writtenPhysical).
  const { spacing } = writtenPhysical(info)
  const [xp, xq] = toRational(spacing[2])
  const [yp, yq] = toRational(spacing[1])

  // Filled in below once the data offset is known.
  let dataStart = 0
  const stripOffsets = (z: number): number[] => {
    const base = dataStart + z * sliceBytes
    const out = new Array<number>(stripsPerPage)
    for (let s = 0; s < stripsPerPage; s++) out[s] = base + s * stripBytes
    return out
  }
  const stripCounts = new Array<number>(stripsPerPage)
  for (let s = 0; s < stripsPerPage; s++) stripCounts[s] = Math.min(rowsPerStrip, height - s * rowsPerStrip) * rowBytes

  const entriesOf = (z: number): Entry[] => {
    const e: Entry[] = [
      { tag: Tag.NewSubfileType, type: FieldType.LONG, count: 1, values: () => [0] },
      { tag: Tag.ImageWidth, type: FieldType.LONG, count: 1, values: () => [width] },
      { tag: Tag.ImageLength, type: FieldType.LONG, count: 1, values: () => [height] },
      { tag: Tag.BitsPerSample, type: FieldType.SHORT, count: 1, values: () => [bits] },
      { tag: Tag.Compression, type: FieldType.SHORT, count: 1, values: () => [1] },
      { tag: Tag.Photometric, type: FieldType.SHORT, count: 1, values: () => [1] }
    ]
    if (z === 0 && description !== undefined) {
      e.push({ tag: Tag.ImageDescription, type: FieldType.ASCII, count: description.length + 1, values: () => [], text: description })
    }
    e.push(
      { tag: Tag.StripOffsets, type: offsetType, count: stripsPerPage, values: stripOffsets },
      { tag: Tag.SamplesPerPixel, type: FieldType.SHORT, count: 1, values: () => [1] },
      { tag: Tag.RowsPerStrip, type: FieldType.LONG, count: 1, values: () => [rowsPerStrip] },
      { tag: Tag.StripByteCounts, type: FieldType.LONG, count: stripsPerPage, values: () => stripCounts },
      { tag: Tag.XResolution, type: FieldType.RATIONAL, count: 1, values: () => [xq, xp] },
      { tag: Tag.YResolution, type: FieldType.RATIONAL, count: 1, values: () => [yq, yp] },
      { tag: Tag.ResolutionUnit, type: FieldType.SHORT, count: 1, values: () => [1] }
    )
    if (format !== SampleFormat.Uint) e.push({ tag: Tag.SampleFormat, type: FieldType.SHORT, count: 1, values: () => [format] })
    return e
  }
  const sizeOf = (type: number): number =>
    type === FieldType.LONG8 || type === FieldType.RATIONAL ? 8 : type === FieldType.LONG ? 4 : type === FieldType.SHORT ? 2 : 1
  const ifdBytesOf = (z: number): number => {
    const entries = entriesOf(z)
    let n = countBytes + entries.length * entryBytes + (bigTiff ? 8 : 4)
    for (const e of entries) {
      const bytes = e.count * sizeOf(e.type)
      if (bytes > inline) n += align(bytes, 2)
    }
    return align(n, 8)
  }
  const firstIfdBytes = ifdBytesOf(0)
  const otherIfdBytes = depth > 1 ? ifdBytesOf(1) : 0
  const ifdOffset = (z: number): number => (z === 0 ? headerBytes : headerBytes + firstIfdBytes + (z - 1) * otherIfdBytes)
  const ifdEnd = headerBytes + firstIfdBytes + (depth - 1) * otherIfdBytes
  // Large slices get their data start placed at `dataPhase` within a page (see LayoutOptions).
  dataStart = dataPhase >= 0 && sliceBytes >= 65536 ? ifdEnd + ((dataPhase - (ifdEnd % 4096) + 4096) % 4096) : ifdEnd
  return {
    dtype: info.dtype,
    depth,
    height,
    width,
    bigTiff,
    rowsPerStrip,
    stripsPerPage,
    sliceBytes,
    metadataBytes: dataStart,
    totalBytes: dataStart + depth * sliceBytes,
    dataOffset: (z) => dataStart + z * sliceBytes,
    ifdOffset,
    ifdBytes: (z) => (z === 0 ? firstIfdBytes : otherIfdBytes),
    description,
    entries: entriesOf
  }
}

/** Writes `v` as an unsigned integer of `bytes` bytes, little-endian. */
const putUint = (view: DataView, at: number, bytes: number, v: number): void => {
  if (bytes === 1) view.setUint8(at, v)
  else if (bytes === 2) view.setUint16(at, v, true)
  else if (bytes === 4) view.setUint32(at, v, true)
  else {
    view.setUint32(at, v % 0x100000000, true)
    view.setUint32(at + 4, Math.floor(v / 0x100000000), true)
  }
}

/**
 * The file header (8 or 16 bytes) into `out` at `at`; returns its length.
 *
 * @example
 * ```ts
 * encodeHeader(layout, buffer, 0)   // 8 (classic) or 16 (BigTIFF)
 * ```
 */
export const encodeHeader = (layout: TiffLayout, out: Uint8Array, at: number): number => {
  const view = new DataView(out.buffer, out.byteOffset)
  out[at] = 0x49
  out[at + 1] = 0x49
  if (layout.bigTiff) {
    view.setUint16(at + 2, 43, true)
    view.setUint16(at + 4, 8, true)
    view.setUint16(at + 6, 0, true)
    putUint(view, at + 8, 8, layout.ifdOffset(0))
    return 16
  }
  view.setUint16(at + 2, 42, true)
  putUint(view, at + 4, 4, layout.ifdOffset(0))
  return 8
}

/**
 * IFD z (with its out-of-line values) into `out` at `at`, which stands for file offset
 * ifdOffset(z); returns its length, `layout.ifdBytes(z)`.
 *
 * @example
 * ```ts
 * encodeIfd(layout, 0, buffer, layout.ifdOffset(0))
 * ```
 */
export const encodeIfd = (layout: TiffLayout, z: number, out: Uint8Array, at: number): number => {
  const view = new DataView(out.buffer, out.byteOffset)
  const big = layout.bigTiff
  const entries = layout.entries(z)
  const base = layout.ifdOffset(z)
  const inline = big ? 8 : 4
  const entryBytes = big ? 20 : 12
  const tableEnd = (big ? 8 : 2) + entries.length * entryBytes + (big ? 8 : 4)
  let extra = tableEnd
  putUint(view, at, big ? 8 : 2, entries.length)
  let p = at + (big ? 8 : 2)
  for (const e of entries) {
    const size = e.type === FieldType.LONG8 || e.type === FieldType.RATIONAL ? 8 : e.type === FieldType.LONG ? 4 : e.type === FieldType.SHORT ? 2 : 1
    const wordSize = e.type === FieldType.RATIONAL ? 4 : size
    const bytes = e.count * size
    view.setUint16(p, e.tag, true)
    view.setUint16(p + 2, e.type, true)
    putUint(view, p + 4, big ? 8 : 4, e.count)
    const valueField = p + (big ? 12 : 8)
    let target = valueField
    if (bytes > inline) {
      putUint(view, valueField, big ? 8 : 4, base + extra)
      target = at + extra
      extra += align(bytes, 2)
    }
    if (e.text !== undefined) {
      for (let i = 0; i < e.text.length; i++) out[target + i] = e.text.charCodeAt(i) & 0x7f
      out[target + e.text.length] = 0
    } else {
      const values = e.values(z)
      for (let i = 0; i < values.length; i++) putUint(view, target + i * wordSize, wordSize, values[i]!)
    }
    p += entryBytes
  }
  const next = z + 1 < layout.depth ? layout.ifdOffset(z + 1) : 0
  putUint(view, p, big ? 8 : 4, next)
  return layout.ifdBytes(z)
}

/**
 * Header (when `from` is 0) and IFDs from..to−1 into `out` at 0, followed, when `to` is the depth, by
 * the zero padding up to the data. `out` must be zeroed and large enough. Returns the bytes encoded.
 *
 * @example
 * ```ts
 * const meta = new Uint8Array(layout.metadataBytes)
 * encodeMetadata(layout, meta, 0, layout.depth)   // === layout.metadataBytes
 * ```
 */
export const encodeMetadata = (layout: TiffLayout, out: Uint8Array, from: number, to: number): number => {
  let at = 0
  if (from === 0) at += encodeHeader(layout, out, 0)
  for (let z = from; z < to; z++) at += encodeIfd(layout, z, out, at)
  if (to === layout.depth) at = layout.metadataBytes - (from === 0 ? 0 : layout.ifdOffset(from))
  return at
}
