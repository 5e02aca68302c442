/**
 * TIFF vocabulary shared by the reader and the writer: tag numbers, field types, compression
 * codes and the mapping between (BitsPerSample, SampleFormat) and slicewise dtypes.
 *
 * @example
 * ```ts
 * dtypeOfSamples(16, 2)        // "int16"
 * samplesOfDtype("float32")    // { bits: 32, format: 3 }
 * compressionName(8)           // "deflate"
 * ```
 */
import type { DType } from "../../algebra/dtype.js"

export const Tag = {
  NewSubfileType: 254,
  SubfileType: 255,
  ImageWidth: 256,
  ImageLength: 257,
  BitsPerSample: 258,
  Compression: 259,
  Photometric: 262,
  FillOrder: 266,
  ImageDescription: 270,
  StripOffsets: 273,
  SamplesPerPixel: 277,
  RowsPerStrip: 278,
  StripByteCounts: 279,
  XResolution: 282,
  YResolution: 283,
  PlanarConfiguration: 284,
  ResolutionUnit: 296,
  Predictor: 317,
  TileWidth: 322,
  TileLength: 323,
  TileOffsets: 324,
  TileByteCounts: 325,
  SampleFormat: 339
} as const

const TAG_NAMES: Record<number, string> = Object.fromEntries(Object.entries(Tag).map(([k, v]) => [v, k]))

/**
 * A tag number with its name, for error positions.
 *
 * @example
 * ```ts
 * tagLabel(273)   // "273 (StripOffsets)"
 * ```
 */
export const tagLabel = (tag: number): string => (TAG_NAMES[tag] ? `${tag} (${TAG_NAMES[tag]})` : `${tag}`)

/** TIFF field types. */
export const FieldType = {
  BYTE: 1,
  ASCII: 2,
  SHORT: 3,
  LONG: 4,
  RATIONAL: 5,
  SBYTE: 6,
  UNDEFINED: 7,
  SSHORT: 8,
  SLONG: 9,
  SRATIONAL: 10,
  FLOAT: 11,
  DOUBLE: 12,
  IFD: 13,
  LONG8: 16,
  SLONG8: 17,
  IFD8: 18
} as const

const FIELD_SIZES = [0, 1, 1, 2, 4, 8, 1, 1, 2, 4, 8, 4, 8, 4, 0, 0, 8, 8, 8]

/**
 * Bytes of one value of a field type (0 for unknown types).
 *
 * @example
 * ```ts
 * fieldTypeSize(FieldType.RATIONAL)   // 8
 * ```
 */
export const fieldTypeSize = (type: number): number => FIELD_SIZES[type] ?? 0

/** Compression codes slicewise decodes (1 directly, the others through geotiff's decoders). */
export const Compression = {
  None: 1,
  LZW: 5,
  Deflate: 8,
  PackBits: 32773,
  AdobeDeflate: 32946,
  Zstd: 50000
} as const

const COMPRESSION_NAMES: Record<number, string> = {
  1: "none",
  2: "ccitt-rle",
  3: "ccitt-g3",
  4: "ccitt-g4",
  5: "lzw",
  6: "old-jpeg",
  7: "jpeg",
  8: "deflate",
  32773: "packbits",
  32946: "deflate",
  34712: "jpeg2000",
  34887: "lerc",
  34925: "lzma",
  50000: "zstd",
  50001: "webp"
}

/**
 * A compression code's name.
 *
 * @example
 * ```ts
 * compressionName(32946)   // "deflate"
 * ```
 */
export const compressionName = (code: number): string => COMPRESSION_NAMES[code] ?? `code ${code}`

export const SUPPORTED_COMPRESSIONS: ReadonlySet<number> = new Set(Object.values(Compression))

export const supportedCompressionText = "none, LZW, Deflate, Adobe Deflate, PackBits, Zstd (with predictor 1, 2 or 3)"

export const SampleFormat = { Uint: 1, Int: 2, Float: 3, Void: 4 } as const

/**
 * The dtype of samples with `bits` bits in `format` (SampleFormat), or undefined if slicewise has none.
 *
 * @example
 * ```ts
 * dtypeOfSamples(16, 3)   // undefined (float16)
 * ```
 */
export const dtypeOfSamples = (bits: number, format: number): DType | undefined => {
  // SampleFormat 4 ("undefined") is read as unsigned, as libtiff does.
  if (format === SampleFormat.Uint || format === SampleFormat.Void) {
    return bits === 8 ? "uint8" : bits === 16 ? "uint16" : bits === 32 ? "uint32" : undefined
  }
  if (format === SampleFormat.Int) {
    return bits === 8 ? "int8" : bits === 16 ? "int16" : bits === 32 ? "int32" : undefined
  }
  if (format === SampleFormat.Float) {
    return bits === 32 ? "float32" : bits === 64 ? "float64" : undefined
  }
  return undefined
}

/**
 * BitsPerSample and SampleFormat of a dtype.
 *
 * @example
 * ```ts
 * samplesOfDtype("int8")   // { bits: 8, format: 2 }
 * ```
 */
export const samplesOfDtype = (d: DType): { readonly bits: number; readonly format: number } => {
  switch (d) {
    case "uint8":
      return { bits: 8, format: SampleFormat.Uint }
    case "int8":
      return { bits: 8, format: SampleFormat.Int }
    case "uint16":
      return { bits: 16, format: SampleFormat.Uint }
    case "int16":
      return { bits: 16, format: SampleFormat.Int }
    case "uint32":
      return { bits: 32, format: SampleFormat.Uint }
    case "int32":
      return { bits: 32, format: SampleFormat.Int }
    case "float32":
      return { bits: 32, format: SampleFormat.Float }
    case "float64":
      return { bits: 64, format: SampleFormat.Float }
  }
}

/**
 * PhotometricInterpretation's name.
 *
 * @example
 * ```ts
 * photometricName(1)   // "min-is-black"
 * ```
 */
export const photometricName = (code: number): string =>
  ["min-is-white", "min-is-black", "rgb", "palette", "mask"][code] ?? `code ${code}`

/**
 * ResolutionUnit's name.
 *
 * @example
 * ```ts
 * resolutionUnitName(3)   // "centimeter"
 * ```
 */
export const resolutionUnitName = (code: number): string => ["", "none", "inch", "centimeter"][code] || `code ${code}`
