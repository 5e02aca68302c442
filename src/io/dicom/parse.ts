/**
 * A DICOM Part 10 header parser that reads only what a slice stack needs: the file meta group, the
 * few attributes that place a slice in its series and describe its pixels, and where PixelData
 * (7FE0,0010) starts. It stops there, so scanning a series of a thousand files reads a few KiB of
 * each; the pixels are read later at the recorded offset.
 *
 * Transfer syntaxes: Implicit VR Little Endian, Explicit VR Little and Big Endian, and Deflated
 * Explicit VR Little Endian (the dataset after the meta group is raw deflate: such a file is
 * inflated whole, here and when its slice is read). Encapsulated syntaxes (JPEG, JPEG-LS,
 * JPEG 2000, RLE …) are parsed as far as PixelData, so that their series can be listed; RLE Lossless
 * is decoded (rle.ts), the others are refused by name when their pixels would be read (see
 * `compressedSyntaxName`).
 *
 * Sequences and items of defined or undefined length are skipped, nested ones included; a value
 * of undefined length with VR UN holds implicit VR little endian items, as PS3.5 6.2.2 says. Files
 * without the 128-byte preamble (a bare dataset starting with group 0002 or 0008) are read too.
 *
 * @example
 * ```ts
 * const parsed = parseDicom(memoryBytes(fs.readFileSync("IM0001")), "IM0001")
 * if (parsed !== undefined) parsed.rows   // 512
 * parsed?.pixelData                       // { offset: 1480, length: 524288 }
 * ```
 */
import { FormatError } from "../../algebra/io-errors.js"

/** Transfer syntax UIDs this module names. */
export const IMPLICIT_LE = "1.2.840.10008.1.2"
export const EXPLICIT_LE = "1.2.840.10008.1.2.1"
export const DEFLATED_LE = "1.2.840.10008.1.2.1.99"
export const EXPLICIT_BE = "1.2.840.10008.1.2.2"

/** RLE Lossless: encapsulated, decoded by rle.ts. */
export const RLE_LOSSLESS = "1.2.840.10008.1.2.5"

/** The transfer syntaxes whose pixels are stored as they are (after inflating, for deflate). */
export const NATIVE_SYNTAXES: ReadonlySet<string> = new Set([IMPLICIT_LE, EXPLICIT_LE, DEFLATED_LE, EXPLICIT_BE])

/** Names of the encapsulated (compressed) transfer syntaxes, for refusals a user can act on. */
const COMPRESSED: Readonly<Record<string, string>> = {
  "1.2.840.10008.1.2.4.50": "JPEG Baseline (Process 1)",
  "1.2.840.10008.1.2.4.51": "JPEG Extended (Process 2 & 4)",
  "1.2.840.10008.1.2.4.57": "JPEG Lossless, Non-Hierarchical (Process 14)",
  "1.2.840.10008.1.2.4.70": "JPEG Lossless, Non-Hierarchical, First-Order Prediction (Process 14 [Selection Value 1])",
  "1.2.840.10008.1.2.4.80": "JPEG-LS Lossless",
  "1.2.840.10008.1.2.4.81": "JPEG-LS Lossy (Near-Lossless)",
  "1.2.840.10008.1.2.4.90": "JPEG 2000 Image Compression (Lossless Only)",
  "1.2.840.10008.1.2.4.91": "JPEG 2000 Image Compression",
  "1.2.840.10008.1.2.4.92": "JPEG 2000 Part 2 Multi-component Image Compression (Lossless Only)",
  "1.2.840.10008.1.2.4.93": "JPEG 2000 Part 2 Multi-component Image Compression",
  "1.2.840.10008.1.2.4.100": "MPEG2 Main Profile / Main Level",
  "1.2.840.10008.1.2.4.102": "MPEG-4 AVC/H.264 High Profile / Level 4.1",
  "1.2.840.10008.1.2.4.201": "High-Throughput JPEG 2000 Image Compression (Lossless Only)",
  "1.2.840.10008.1.2.4.203": "High-Throughput JPEG 2000 Image Compression",
  "1.2.840.10008.1.2.5": "RLE Lossless"
}

/**
 * The name of an encapsulated transfer syntax ("JPEG 2000 Image Compression (Lossless Only)"),
 * "an unknown transfer syntax" for a UID this module does not know, undefined for a native one.
 *
 * @example
 * ```ts
 * compressedSyntaxName("1.2.840.10008.1.2.5")   // "RLE Lossless"
 * compressedSyntaxName("1.2.840.10008.1.2.1")   // undefined
 * ```
 */
export const compressedSyntaxName = (uid: string): string | undefined =>
  NATIVE_SYNTAXES.has(uid) ? undefined : (COMPRESSED[uid] ?? `an unknown transfer syntax`)

const NATIVE_NAMES: Readonly<Record<string, string>> = {
  [IMPLICIT_LE]: "Implicit VR Little Endian",
  [EXPLICIT_LE]: "Explicit VR Little Endian",
  [DEFLATED_LE]: "Deflated Explicit VR Little Endian",
  [EXPLICIT_BE]: "Explicit VR Big Endian"
}

/**
 * A transfer syntax by name and UID, for `details`: "Explicit VR Little Endian (1.2.840.10008.1.2.1)".
 *
 * @example
 * ```ts
 * syntaxText("1.2.840.10008.1.2.5")   // "RLE Lossless (1.2.840.10008.1.2.5)"
 * ```
 */
export const syntaxText = (uid: string): string => `${NATIVE_NAMES[uid] ?? COMPRESSED[uid] ?? "unknown"} (${uid})`

/** Bytes the parser reads, by offset; a file read on demand, or bytes in memory. */
export interface ByteSource {
  readonly size: number
  /** `length` bytes from `offset`, valid until the next call; `offset + length` ≤ `size`. */
  get(offset: number, length: number): Uint8Array
}

/**
 * Bytes in memory as a ByteSource.
 *
 * @example
 * ```ts
 * memoryBytes(new Uint8Array([1, 2, 3])).get(1, 2)   // [2, 3]
 * ```
 */
export const memoryBytes = (bytes: Uint8Array): ByteSource => ({ size: bytes.length, get: (o, n) => bytes.subarray(o, o + n) })

/** What a slice stack needs from one file; everything else is skipped. */
export interface DicomHeader {
  readonly transferSyntax: string
  /** True when the dataset is deflated: the pixel offset is one in the inflated dataset. */
  readonly deflated: boolean
  /** Where the dataset starts in the file (after the meta group): what a deflated file inflates. */
  readonly datasetOffset: number
  readonly littleEndian: boolean
  readonly mediaStorageSopClass?: string
  readonly sopClass?: string
  readonly modality?: string
  readonly seriesUid?: string
  readonly seriesNumber?: number
  readonly seriesDescription?: string
  readonly instanceNumber?: number
  readonly echoNumber?: number
  readonly temporalPosition?: number
  /** ImagePositionPatient (x, y, z) in mm, LPS. */
  readonly position?: readonly [number, number, number]
  /** ImageOrientationPatient: row cosine (x, y, z) then column cosine. */
  readonly orientation?: ReadonlyArray<number>
  /** PixelSpacing: [between rows (y), between columns (x)]. */
  readonly pixelSpacing?: ReadonlyArray<number>
  readonly sliceThickness?: number
  readonly spacingBetweenSlices?: number
  readonly samplesPerPixel?: number
  readonly photometric?: string
  readonly frames?: number
  readonly rows?: number
  readonly columns?: number
  readonly bitsAllocated?: number
  readonly bitsStored?: number
  readonly highBit?: number
  readonly pixelRepresentation?: number
  readonly slope?: number
  readonly intercept?: number
  /** True when a Modality LUT Sequence is present (not applied: slicewise applies slope and intercept only). */
  readonly modalityLut: boolean
  /** True for a DICOMDIR (a Directory Record Sequence): an index, not an image. */
  readonly isDirectory: boolean
  /** PixelData's value: offset (in the file, or in the inflated dataset) and length (undefined: encapsulated). */
  readonly pixelData?: { readonly offset: number; readonly length: number | undefined }
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

const tagText = (group: number, element: number) =>
  `tag (${group.toString(16).toUpperCase().padStart(4, "0")},${element.toString(16).toUpperCase().padStart(4, "0")})`

/** VRs whose length is 4 bytes after 2 reserved ones in explicit VR (PS3.5 7.1.2). */
const LONG_VRS = new Set(["OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"])

const UNDEFINED = 0xffffffff

/** The attributes read, by (group << 16 | element), with their VR for implicit VR files. */
const WANTED: ReadonlyMap<number, { readonly vr: string; readonly set: (h: Mutable<DicomHeader>, v: Value) => void }> = new Map([
  [0x00020002, { vr: "UI", set: (h, v) => (h.mediaStorageSopClass = v.text()) }],
  [0x00020010, { vr: "UI", set: (h, v) => (h.transferSyntax = v.text()) }],
  [0x00080016, { vr: "UI", set: (h, v) => (h.sopClass = v.text()) }],
  [0x00080060, { vr: "CS", set: (h, v) => (h.modality = v.text()) }],
  [0x0008103e, { vr: "LO", set: (h, v) => (h.seriesDescription = v.text()) }],
  [0x00180050, { vr: "DS", set: (h, v) => (h.sliceThickness = v.number()) }],
  [0x00180086, { vr: "IS", set: (h, v) => (h.echoNumber = v.number()) }],
  [0x00180088, { vr: "DS", set: (h, v) => (h.spacingBetweenSlices = v.number()) }],
  [0x0020000e, { vr: "UI", set: (h, v) => (h.seriesUid = v.text()) }],
  [0x00200011, { vr: "IS", set: (h, v) => (h.seriesNumber = v.number()) }],
  [0x00200013, { vr: "IS", set: (h, v) => (h.instanceNumber = v.number()) }],
  [0x00200032, { vr: "DS", set: (h, v) => (h.position = v.numbers(3) as unknown as readonly [number, number, number]) }],
  [0x00200037, { vr: "DS", set: (h, v) => (h.orientation = v.numbers(6)) }],
  [0x00200100, { vr: "IS", set: (h, v) => (h.temporalPosition = v.number()) }],
  [0x00280002, { vr: "US", set: (h, v) => (h.samplesPerPixel = v.number()) }],
  [0x00280004, { vr: "CS", set: (h, v) => (h.photometric = v.text()) }],
  [0x00280008, { vr: "IS", set: (h, v) => (h.frames = v.number()) }],
  [0x00280010, { vr: "US", set: (h, v) => (h.rows = v.number()) }],
  [0x00280011, { vr: "US", set: (h, v) => (h.columns = v.number()) }],
  [0x00280030, { vr: "DS", set: (h, v) => (h.pixelSpacing = v.numbers(2)) }],
  [0x00280100, { vr: "US", set: (h, v) => (h.bitsAllocated = v.number()) }],
  [0x00280101, { vr: "US", set: (h, v) => (h.bitsStored = v.number()) }],
  [0x00280102, { vr: "US", set: (h, v) => (h.highBit = v.number()) }],
  [0x00280103, { vr: "US", set: (h, v) => (h.pixelRepresentation = v.number()) }],
  [0x00281052, { vr: "DS", set: (h, v) => (h.intercept = v.number()) }],
  [0x00281053, { vr: "DS", set: (h, v) => (h.slope = v.number()) }]
])
const MODALITY_LUT_SEQUENCE = 0x00283000
const DIRECTORY_RECORD_SEQUENCE = 0x00041220
const PIXEL_DATA = 0x7fe00010
/** Media Storage Directory Storage: a DICOMDIR. */
const MEDIA_DIRECTORY = "1.2.840.10008.1.3.10"

/** A value being decoded: its VR (stated, or from WANTED), bytes and byte order; throws a FormatError when malformed. */
class Value {
  constructor(
    readonly vr: string,
    readonly bytes: Uint8Array,
    readonly littleEndian: boolean,
    readonly path: string,
    readonly where: string
  ) {}

  text(): string {
    // Values are padded to even length with a space (text) or NUL (UI).
    return Buffer.from(this.bytes.buffer, this.bytes.byteOffset, this.bytes.length).toString("latin1").replace(/[\0 ]+$/, "").replace(/^ +/, "")
  }

  /** The value's numbers: binary for US/SS/UL/SL/FL/FD, decimal strings (DS, IS) otherwise. */
  numbers(count?: number): ReadonlyArray<number> {
    const b = this.bytes
    const dv = new DataView(b.buffer, b.byteOffset, b.length)
    const le = this.littleEndian
    const binary = (width: number, get: (o: number) => number) => Array.from({ length: Math.floor(b.length / width) }, (_, i) => get(i * width))
    let out: ReadonlyArray<number>
    switch (this.vr) {
      case "US":
        out = binary(2, (o) => dv.getUint16(o, le))
        break
      case "SS":
        out = binary(2, (o) => dv.getInt16(o, le))
        break
      case "UL":
        out = binary(4, (o) => dv.getUint32(o, le))
        break
      case "SL":
        out = binary(4, (o) => dv.getInt32(o, le))
        break
      case "FL":
        out = binary(4, (o) => dv.getFloat32(o, le))
        break
      case "FD":
        out = binary(8, (o) => dv.getFloat64(o, le))
        break
      default: {
        const t = this.text()
        out = t === "" ? [] : t.split("\\").map((s) => Number(s.trim()))
      }
    }
    if (out.some((v) => !Number.isFinite(v)) || (count !== undefined && out.length < count))
      throw new FormatError({
        path: this.path,
        position: this.where,
        detail: `${count !== undefined ? `${count} numbers` : "a number"} expected, found ${JSON.stringify(this.vr === "DS" || this.vr === "IS" ? this.text() : out)}`
      })
    return count !== undefined ? out.slice(0, count) : out
  }

  number(): number | undefined {
    const n = this.numbers()
    return n.length === 0 ? undefined : n[0]
  }
}

/** One element's header: where its value starts and how long it is (UNDEFINED: delimited). */
interface ElementHeader {
  readonly tag: number
  readonly vr: string
  readonly length: number
  readonly valueOffset: number
}

/** Thrown (and caught by `parseDicom`, which names the file) when the bytes end or are malformed at `offset`. */
class Malformed extends Error {
  constructor(
    readonly offset: number,
    readonly detail = "the file ends inside this element",
    readonly tag?: number
  ) {
    super(detail)
  }
}

const isVrChar = (c: number) => c >= 0x41 && c <= 0x5a

/** Reads elements of one syntax from a ByteSource. */
class Cursor {
  constructor(
    readonly src: ByteSource,
    readonly explicit: boolean,
    readonly littleEndian: boolean
  ) {}

  bytes(offset: number, length: number, tag?: number): Uint8Array {
    if (offset + length > this.src.size) throw new Malformed(offset, `the file ends inside this element (at byte ${this.src.size})`, tag)
    return this.src.get(offset, length)
  }

  u16(b: Uint8Array, o: number, le = this.littleEndian) {
    return le ? b[o]! | (b[o + 1]! << 8) : (b[o]! << 8) | b[o + 1]!
  }

  u32(b: Uint8Array, o: number, le = this.littleEndian) {
    return le ? (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0 : ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0
  }

  /** The element at `offset`; `implicit` forces implicit VR (inside an undefined-length UN). */
  element(offset: number, implicit = !this.explicit): ElementHeader {
    const head = this.bytes(offset, 8)
    const tag = ((this.u16(head, 0) << 16) | this.u16(head, 2)) >>> 0
    const group = tag >>> 16
    // Item and delimitation tags have no VR in any syntax.
    if (implicit || group === 0xfffe) return { tag, vr: WANTED.get(tag)?.vr ?? "", length: this.u32(head, 4), valueOffset: offset + 8 }
    const vr = String.fromCharCode(head[4]!, head[5]!)
    if (!isVrChar(head[4]!) || !isVrChar(head[5]!)) throw new Malformed(offset, "no valid VR where the transfer syntax says explicit VR", tag)
    if (LONG_VRS.has(vr)) {
      const long = this.bytes(offset + 8, 4, tag)
      return { tag, vr, length: this.u32(long, 0), valueOffset: offset + 12 }
    }
    return { tag, vr, length: this.u16(head, 6), valueOffset: offset + 8 }
  }

  /**
   * The offset after a value of undefined length starting at `offset`: items up to the sequence
   * delimitation (FFFE,E0DD); an item of undefined length holds elements up to (FFFE,E00D).
   */
  skipUndefined(offset: number, implicit: boolean, depth = 0): number {
    if (depth > 64) throw new Malformed(offset, "sequences nested more than 64 deep")
    let pos = offset
    for (;;) {
      const head = this.bytes(pos, 8)
      const tag = ((this.u16(head, 0) << 16) | this.u16(head, 2)) >>> 0
      const length = this.u32(head, 4)
      if (tag === 0xfffee0dd) return pos + 8
      if (tag !== 0xfffee000) throw new Malformed(pos, "an item (FFFE,E000) expected inside a sequence of undefined length")
      if (length !== UNDEFINED) {
        pos += 8 + length
        continue
      }
      pos += 8
      for (;;) {
        const e = this.element(pos, implicit)
        if (e.tag === 0xfffee00d) {
          pos = e.valueOffset
          break
        }
        pos = e.length === UNDEFINED ? this.skipUndefined(e.valueOffset, implicit || e.vr === "UN", depth + 1) : e.valueOffset + e.length
      }
    }
  }
}

/** Where the dataset starts and in what syntax, or undefined when the bytes are not DICOM. */
const framing = (src: ByteSource): { start: number; preamble: boolean } | { start: number; bare: "explicit" | "implicit" } | undefined => {
  if (src.size >= 132) {
    const magic = src.get(128, 4)
    if (magic[0] === 0x44 && magic[1] === 0x49 && magic[2] === 0x43 && magic[3] === 0x4d) return { start: 132, preamble: true }
  }
  if (src.size < 8) return undefined
  // No preamble: a dataset (or meta group) right at byte 0, little endian, in a low group.
  const h = src.get(0, 8)
  const group = h[0]! | (h[1]! << 8)
  const element = h[2]! | (h[3]! << 8)
  if (group === 0x0002 && isVrChar(h[4]!) && isVrChar(h[5]!)) return { start: 0, preamble: false }
  if (group !== 0x0008 || element > 0x1fff) return undefined
  if (isVrChar(h[4]!) && isVrChar(h[5]!)) return { start: 0, bare: "explicit" }
  // Implicit VR: the first value must fit in the file.
  const length = (h[4]! | (h[5]! << 8) | (h[6]! << 16) | (h[7]! << 24)) >>> 0
  return length <= src.size - 8 ? { start: 0, bare: "implicit" } : undefined
}

/**
 * Parses the header of one DICOM file up to PixelData; undefined when the bytes are not DICOM (no
 * "DICM" at byte 128 and no bare dataset at byte 0 that parses). A malformed or truncated header is a
 * FormatError naming `path` and the tag or byte. A deflated dataset is inflated with `inflate`
 * (node:zlib's inflateRawSync, passed in so that only deflated files load zlib).
 *
 * @example
 * ```ts
 * const h = parseDicom(memoryBytes(bytes), "IM0001", zlib.inflateRawSync)
 * h?.transferSyntax   // "1.2.840.10008.1.2.1"
 * ```
 */
export const parseDicom = (src: ByteSource, path: string, inflate?: (data: Uint8Array) => Uint8Array): DicomHeader | undefined => {
  const frame = framing(src)
  if (frame === undefined) return undefined
  const h: Mutable<DicomHeader> = { transferSyntax: "", deflated: false, datasetOffset: 0, littleEndian: true, modalityLut: false, isDirectory: false }
  try {
    let pos = frame.start
    if ("preamble" in frame) {
      // The meta group: explicit VR little endian, whatever the dataset's syntax.
      const meta = new Cursor(src, true, true)
      while (pos + 8 <= src.size) {
        const peek = src.get(pos, 2)
        if ((peek[0]! | (peek[1]! << 8)) !== 0x0002) break
        const e = meta.element(pos)
        if (e.length === UNDEFINED) throw new Malformed(pos, "a meta element of undefined length", e.tag)
        WANTED.get(e.tag)?.set(h, new Value(e.vr, meta.bytes(e.valueOffset, e.length, e.tag), true, path, tagText(e.tag >>> 16, e.tag & 0xffff)))
        pos = e.valueOffset + e.length
      }
      if (h.transferSyntax === "") {
        // pydicom's meta_missing_tsyntax.dcm: guess from the first dataset element, as readers do.
        const h8 = pos + 8 <= src.size ? src.get(pos, 8) : new Uint8Array(8)
        h.transferSyntax = isVrChar(h8[4]!) && isVrChar(h8[5]!) ? EXPLICIT_LE : IMPLICIT_LE
      }
    } else {
      h.transferSyntax = frame.bare === "explicit" ? EXPLICIT_LE : IMPLICIT_LE
    }
    h.datasetOffset = pos
    // A DICOMDIR's record sequence can be megabytes long; its meta group already says what it is.
    if (h.mediaStorageSopClass === MEDIA_DIRECTORY) {
      h.isDirectory = true
      return h
    }
    let data = src
    if (h.transferSyntax === DEFLATED_LE) {
      if (inflate === undefined) throw new Error("parseDicom: a deflated dataset needs `inflate`")
      try {
        data = memoryBytes(inflate(src.get(pos, src.size - pos)))
      } catch (e) {
        throw new Malformed(pos, `the deflated dataset does not inflate: ${(e as Error).message}`)
      }
      h.deflated = true
      pos = 0
    }
    h.littleEndian = h.transferSyntax !== EXPLICIT_BE
    const cursor = new Cursor(data, h.transferSyntax !== IMPLICIT_LE, h.littleEndian)
    while (pos < data.size) {
      const e = cursor.element(pos)
      const where = tagText(e.tag >>> 16, e.tag & 0xffff)
      if (e.tag === PIXEL_DATA) {
        h.pixelData = { offset: e.valueOffset, length: e.length === UNDEFINED ? undefined : e.length }
        break
      }
      if (e.tag === MODALITY_LUT_SEQUENCE) h.modalityLut = true
      if (e.tag === DIRECTORY_RECORD_SEQUENCE) h.isDirectory = true
      const wanted = WANTED.get(e.tag)
      if (e.length === UNDEFINED) {
        pos = cursor.skipUndefined(e.valueOffset, !cursor.explicit || e.vr === "UN")
        continue
      }
      if (wanted !== undefined) {
        // A VR of UN (an explicit file that did not know the attribute) holds little-endian bytes.
        const vr = e.vr === "UN" || e.vr === "" ? wanted.vr : e.vr
        wanted.set(h, new Value(vr, cursor.bytes(e.valueOffset, e.length, e.tag), e.vr === "UN" ? true : h.littleEndian, path, where))
      }
      pos = e.valueOffset + e.length
      if (pos > data.size) throw new Malformed(e.valueOffset, `the file ends inside this element (at byte ${data.size})`, e.tag)
    }
  } catch (e) {
    if (!(e instanceof Malformed)) throw e
    // Without "DICM" the file was only a guess: one that does not parse is not DICOM.
    if ("bare" in frame) return undefined
    const at = e.tag
    const place = at === undefined ? `byte ${e.offset}` : `${tagText(at >>> 16, at & 0xffff)}, byte ${e.offset}${h.deflated ? " of the inflated dataset" : ""}`
    throw new FormatError({ path, position: place, detail: e.detail, hint: "the file is truncated or not DICOM Part 10" })
  }
  return h
}
