/**
 * NRRD headers: finding the end of a header in the first bytes of a file, parsing its lines into
 * fields, key/value pairs and comments, interpreting the fields as a slicewise volume, and writing
 * a header for a volume. Pure functions over bytes and strings; the reader and writer do the I/O.
 *
 * The format is Teem's (NRRD0001 … NRRD0005): a magic line, then one `field: description`,
 * `key:=value` or `# comment` per line, ended by a blank line (attached data follows it) or by the
 * end of a detached header file.
 *
 * @example
 * ```ts
 * const text = formatNrrdHeader(volumeInfo("int16", [2, 3, 5], [2, 0.25, 0.5]), { endian: "big" })
 * // "NRRD0004\n# …\ntype: int16\ndimension: 3\n…\nsizes: 5 3 2\n…\nendian: big\nencoding: raw\n\n"
 * ```
 */
import * as Either from "effect/Either"
import { bytesPerVoxel, type DType } from "../../algebra/dtype.js"
import { volumeInfo, type Spacing, type VolumeInfo } from "../../algebra/volume.js"
import type { Geometry } from "../../algebra/geometry.js"
import { nrrdGeometry, spaceLines } from "./space.js"
import { FormatError, UnsupportedError } from "../../algebra/io-errors.js"

export type NrrdEndian = "little" | "big"

/** The encodings slicewise reads and writes. */
export type NrrdEncoding = "raw" | "gzip"

/** The encodings slicewise reads: those it writes, and bzip2 (read only). */
export type NrrdDataEncoding = NrrdEncoding | "bzip2"

/** What a reader may report about a file in `SliceSource.details`. */
export type Details = Record<string, string | number | boolean>

// ---------------------------------------------------------------------------------------------
// Types

/** NRRD type spellings (Teem's list), each mapped to a slicewise dtype or to a type we refuse. */
const TYPE_SPELLINGS: ReadonlyArray<readonly [DType | "int64" | "uint64" | "block", ReadonlyArray<string>]> = [
  ["int8", ["signed char", "int8", "int8_t"]],
  ["uint8", ["uchar", "unsigned char", "uint8", "uint8_t"]],
  ["int16", ["short", "short int", "signed short", "signed short int", "int16", "int16_t"]],
  ["uint16", ["ushort", "unsigned short", "unsigned short int", "uint16", "uint16_t"]],
  ["int32", ["int", "signed int", "int32", "int32_t"]],
  ["uint32", ["uint", "unsigned int", "uint32", "uint32_t"]],
  ["int64", ["longlong", "long long", "long long int", "signed long long", "signed long long int", "int64", "int64_t"]],
  ["uint64", ["ulonglong", "unsigned long long", "unsigned long long int", "uint64", "uint64_t"]],
  ["float32", ["float"]],
  ["float64", ["double"]],
  ["block", ["block"]]
]

const TYPE_BY_SPELLING: ReadonlyMap<string, DType | "int64" | "uint64" | "block"> = new Map(
  TYPE_SPELLINGS.flatMap(([t, names]) => names.map((n) => [n, t] as const))
)

/** The name the writer uses for each dtype: the unambiguous fixed-width spelling. */
const WRITE_TYPE: Record<DType, string> = {
  uint8: "uint8",
  int8: "int8",
  uint16: "uint16",
  int16: "int16",
  uint32: "uint32",
  int32: "int32",
  float32: "float",
  float64: "double"
}

/** Resolves an NRRD type spelling (case and spacing insensitive) to what it denotes, if anything. */
export const nrrdType = (spelling: string): DType | "int64" | "uint64" | "block" | undefined =>
  TYPE_BY_SPELLING.get(spelling.trim().toLowerCase().replace(/\s+/g, " "))

// ---------------------------------------------------------------------------------------------
// Fields

/**
 * Field identifiers by every accepted spelling (Teem accepts the run-together older forms too),
 * mapped to one canonical name.
 */
const FIELD_ALIASES: ReadonlyMap<string, string> = new Map(
  (
    [
      ["type"],
      ["dimension"],
      ["sizes"],
      ["encoding"],
      ["endian"],
      ["data file", "datafile"],
      ["byte skip", "byteskip"],
      ["line skip", "lineskip"],
      ["spacings"],
      ["space"],
      ["space dimension"],
      ["space directions"],
      ["space origin"],
      ["space units"],
      ["measurement frame"],
      ["content"],
      ["kinds"],
      ["labels"],
      ["units"],
      ["centers", "centerings"],
      ["thicknesses"],
      ["axis mins", "axismins"],
      ["axis maxs", "axismaxs"],
      ["old min", "oldmin"],
      ["old max", "oldmax"],
      ["min"],
      ["max"],
      ["number"],
      ["block size", "blocksize"],
      ["sample units", "sampleunits"]
    ] as ReadonlyArray<ReadonlyArray<string>>
  ).flatMap((names) => names.map((n) => [n, names[0]!] as const))
)

/** Dimension of each named `space:` (Teem's table, with its abbreviations). */
const SPACE_DIMENSIONS: ReadonlyMap<string, number> = new Map([
  ["right-anterior-superior", 3],
  ["ras", 3],
  ["left-anterior-superior", 3],
  ["las", 3],
  ["left-posterior-superior", 3],
  ["lps", 3],
  ["right-anterior-superior-time", 4],
  ["rast", 4],
  ["left-anterior-superior-time", 4],
  ["last", 4],
  ["left-posterior-superior-time", 4],
  ["lpst", 4],
  ["scanner-xyz", 3],
  ["scanner-xyz-time", 4],
  ["3d-right-handed", 3],
  ["3d-left-handed", 3],
  ["3d-right-handed-time", 4],
  ["3d-left-handed-time", 4]
])

/**
 * Axis kinds that are positions on a grid, or a single sample ("stub", "scalar": Teem's kinds for
 * size-1 axes); any other kind (RGB-color, 3-vector, list …) holds components.
 */
const DOMAIN_KINDS: ReadonlySet<string> = new Set(["domain", "space", "time", "none", "???", "", "stub", "scalar"])

// ---------------------------------------------------------------------------------------------
// Finding the header in the first bytes of a file

/** The NRRD versions this reader knows: NRRD0001 … NRRD0005. */
const MAGIC = /^NRRD000([1-5])\r?$/

/**
 * Checks the magic line at the start of `bytes` (the first few KiB of a file). Fails with a
 * FormatError when the file is not NRRD, an UnsupportedError for an unknown NRRD version.
 */
export const checkMagic = (
  bytes: Uint8Array,
  path: string
): Either.Either<number, FormatError | UnsupportedError> => {
  const nl = bytes.indexOf(0x0a)
  const first = Buffer.from(bytes.buffer, bytes.byteOffset, nl < 0 ? Math.min(bytes.length, 16) : Math.min(nl, 64)).toString("latin1")
  const m = MAGIC.exec(first)
  if (m) return Either.right(Number(m[1]))
  if (/^NRRD\d{4}\r?$/.test(first))
    return Either.left(
      new UnsupportedError({
        path,
        detail: `NRRD version "${first.trim()}" (this reader knows NRRD0001 to NRRD0005)`,
        hint: "rewrite it with `unu save -f nrrd -e raw`"
      })
    )
  return Either.left(
    new FormatError({
      path,
      position: "byte 0",
      detail: `not a NRRD file: it starts with ${JSON.stringify(first.slice(0, 16))} where "NRRD0004" (or NRRD0001…5) was expected`,
      hint: "NRRD files start with the magic line NRRDxxxx"
    })
  )
}

export interface HeaderText {
  /** Header lines, the magic line first, without their line ends. */
  readonly lines: ReadonlyArray<string>
  /** Byte offset just past the blank line that ends the header (or the file size at end of file). */
  readonly dataStart: number
  /** True when a blank line ended the header; false when the file ended first. */
  readonly blankLine: boolean
}

/**
 * Splits the header off the first `bytes` of a file. Returns undefined when the header continues
 * past `bytes` and the file does not end there (`atEof` false): the caller then reads more.
 */
export const scanHeader = (bytes: Uint8Array, atEof: boolean): HeaderText | undefined => {
  const lines: Array<string> = []
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  let start = 0
  for (;;) {
    const nl = buf.indexOf(0x0a, start)
    if (nl < 0) {
      if (!atEof) return undefined
      // A detached header may end without a final newline.
      const last = buf.toString("utf8", start, buf.length).replace(/\r$/, "")
      if (last.length > 0) lines.push(last)
      return { lines, dataStart: buf.length, blankLine: false }
    }
    const line = buf.toString("utf8", start, nl).replace(/\r$/, "")
    start = nl + 1
    if (line.length === 0) return { lines, dataStart: start, blankLine: true }
    lines.push(line)
  }
}

// ---------------------------------------------------------------------------------------------
// Parsing lines

export interface FieldLine {
  readonly value: string
  /** 1-based line number in the header file. */
  readonly line: number
}

export interface NrrdHeader {
  readonly version: number
  /** Fields by canonical name (unknown fields too, under their own name). */
  readonly fields: ReadonlyMap<string, FieldLine>
  readonly keyValues: ReadonlyArray<readonly [key: string, value: string]>
  readonly comments: ReadonlyArray<string>
  /** The line where the header ends: the blank line, or the last line when the file ends first. */
  readonly endLine: number
}

/** Key/value pairs escape newlines and backslashes; undo that. */
const unescapeKeyValue = (s: string): string => s.replace(/\\(\\|n)/g, (_, c: string) => (c === "n" ? "\n" : "\\"))

/** Parses header lines (magic line first) into fields, key/value pairs and comments. */
export const parseHeader = (
  text: HeaderText,
  version: number,
  path: string
): Either.Either<NrrdHeader, FormatError> => {
  const fields = new Map<string, FieldLine>()
  const keyValues: Array<readonly [string, string]> = []
  const comments: Array<string> = []
  for (let i = 1; i < text.lines.length; i++) {
    const raw = text.lines[i]!
    const lineNo = i + 1
    if (raw.startsWith("#")) {
      comments.push(raw.slice(1).trim())
      continue
    }
    const colon = raw.indexOf(":")
    if (colon < 0)
      return Either.left(
        new FormatError({
          path,
          position: `header line ${lineNo}`,
          detail: `${JSON.stringify(raw)} is not a "field: value" line, a "key:=value" pair or a "#" comment`,
          hint: "a blank line ends a NRRD header; data must not start before it"
        })
      )
    if (raw[colon + 1] === "=") {
      keyValues.push([unescapeKeyValue(raw.slice(0, colon)), unescapeKeyValue(raw.slice(colon + 2))])
      continue
    }
    const id = raw.slice(0, colon).trim().toLowerCase().replace(/\s+/g, " ")
    const name = FIELD_ALIASES.get(id) ?? id
    const previous = fields.get(name)
    if (previous)
      return Either.left(
        new FormatError({
          path,
          position: `header line ${lineNo}`,
          detail: `field "${name}" given a second time (first on line ${previous.line})`
        })
      )
    const value = raw.slice(colon + 1).trim()
    fields.set(name, { value, line: lineNo })
    // "data file: LIST" makes every remaining header line a data file name, not a field.
    if (name === "data file" && /^LIST(\s|$)/.test(value)) {
      fields.set(name, { value: [value, ...text.lines.slice(i + 1)].join(" "), line: lineNo })
      break
    }
  }
  return Either.right({ version, fields, keyValues, comments, endLine: text.blankLine ? text.lines.length + 1 : text.lines.length })
}

// ---------------------------------------------------------------------------------------------
// Interpreting fields as a volume

/** How to find and decode the voxels that a header describes. */
export interface NrrdLayout {
  readonly info: VolumeInfo
  /** The type as the header spells it. */
  readonly typeName: string
  /** Byte order of the data; "little" for 1-byte types, where it does not matter. */
  readonly endian: NrrdEndian
  /** The `data file:` description as written, or undefined for attached data. */
  readonly dataFile: string | undefined
  /** Bytes to skip after the line skip; -1 means the data are the last bytes of the file. */
  readonly byteSkip: number
  /** Lines to skip at the start of the data. */
  readonly lineSkip: number
  /**
   * How the data are stored: raw, or compressed by gzip or bzip2 (then `byteSkip` counts
   * decompressed bytes, as Teem reads it, and `lineSkip` lines of the file before the stream).
   */
  readonly encoding: NrrdDataEncoding
  /** Facts for `slicewise info`. */
  readonly details: Details
}

const INTEGER = /^[+-]?\d+$/
const REAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/

const parseReal = (token: string): number | undefined => {
  const t = token.trim()
  if (REAL.test(t)) return Number(t)
  const lower = t.toLowerCase()
  if (lower === "nan" || lower === "-nan" || lower === "+nan") return NaN
  if (lower === "inf" || lower === "+inf" || lower === "infinity") return Infinity
  if (lower === "-inf" || lower === "-infinity") return -Infinity
  return undefined
}

const words = (s: string): Array<string> => s.split(/\s+/).filter((w) => w.length > 0)

/**
 * Splits a per-axis field that may quote its entries ("labels" and "units" do: `"x" "y" "z"`)
 * into one entry per axis.
 */
const axisWords = (s: string): Array<string> => {
  const out: Array<string> = []
  const re = /"((?:[^"\\]|\\.)*)"|(\S+)/g
  for (let m = re.exec(s); m !== null; m = re.exec(s)) out.push(m[1] !== undefined ? m[1].replace(/\\"/g, '"') : m[2]!)
  return out
}

/** Parses `space directions:`: one `(a,b,c)` vector or `none` per axis. */
const parseDirections = (s: string): Array<Array<number> | null> | string => {
  const out: Array<Array<number> | null> = []
  let rest = s.trim()
  while (rest.length > 0) {
    if (/^none\b/i.test(rest)) {
      out.push(null)
      rest = rest.slice(4).trimStart()
      continue
    }
    if (!rest.startsWith("(")) return `expected "(" or "none" at ${JSON.stringify(rest.slice(0, 20))}`
    const close = rest.indexOf(")")
    if (close < 0) return `missing ")" in ${JSON.stringify(rest.slice(0, 40))}`
    const parts = rest.slice(1, close).split(",")
    const vec: Array<number> = []
    for (const p of parts) {
      const v = parseReal(p)
      if (v === undefined) return `${JSON.stringify(p.trim())} is not a number`
      vec.push(v)
    }
    out.push(vec)
    rest = rest.slice(close + 1).trimStart()
  }
  return out
}

/** Encoding names other than raw, with the encoding each stands for. */
const OTHER_ENCODINGS: ReadonlyMap<string, string> = new Map([
  ["txt", "ascii"],
  ["text", "ascii"],
  ["ascii", "ascii"],
  ["hex", "hex"],
  ["gz", "gzip"],
  ["gzip", "gzip"],
  ["bz2", "bzip2"],
  ["bzip2", "bzip2"],
  ["zrl", "zrl"]
])

/** Reports a problem with one header's fields, naming the header line it is about. */
interface FieldCheck {
  readonly fields: ReadonlyMap<string, FieldLine>
  readonly path: string
  /** A FormatError about the field on `line`. */
  readonly bad: (line: number, detail: string, hint?: string) => Either.Either<never, FormatError>
  /** The field `name`, or a FormatError at the header's end saying that it is missing. */
  readonly required: (name: string) => Either.Either<FieldLine, FormatError>
}

const fieldCheck = (header: NrrdHeader, path: string): FieldCheck => {
  const at = (line: number) => `header line ${line}`
  return {
    fields: header.fields,
    path,
    bad: (line, detail, hint) => Either.left(new FormatError({ path, position: at(line), detail, ...(hint ? { hint } : {}) })),
    required: (name) => {
      const v = header.fields.get(name)
      return v
        ? Either.right(v)
        : Either.left(
            new FormatError({
              path,
              position: at(header.endLine),
              detail: `required field "${name}:" is missing (the header ends here)`,
              hint: "a NRRD header needs type, dimension, sizes and encoding, and endian for multi-byte types"
            })
          )
    }
  }
}

/** `type:` as a slicewise dtype; 64-bit integers and blocks are refused. */
const voxelType = (c: FieldCheck): Either.Either<{ readonly dtype: DType; readonly typeName: string }, FormatError | UnsupportedError> =>
  Either.gen(function* () {
    const typeField = yield* c.required("type")
    const typed = nrrdType(typeField.value)
    if (typed === undefined)
      return yield* c.bad(
        typeField.line,
        `unknown type ${JSON.stringify(typeField.value)}`,
        "use one of uchar, signed char, short, ushort, int, uint, float, double (or int8 … uint32)"
      )
    if (typed === "int64" || typed === "uint64" || typed === "block")
      return yield* Either.left(
        new UnsupportedError({
          path: c.path,
          detail: `type "${typeField.value}" (${typed}): slicewise handles 8-, 16- and 32-bit integers, float and double`,
          hint: typed === "block" ? "block data have no voxel type" : "convert with `unu convert -t double` (or -t int32 if the values fit)"
        })
      )
    return { dtype: typed, typeName: typeField.value }
  })

/** `dimension:` and `sizes:`, fastest axis first, each a positive integer. */
const axisSizes = (
  c: FieldCheck
): Either.Either<{ readonly dimension: number; readonly sizes: ReadonlyArray<number>; readonly sizesLine: number }, FormatError> =>
  Either.gen(function* () {
    const dimField = yield* c.required("dimension")
    if (!INTEGER.test(dimField.value) || Number(dimField.value) < 1)
      return yield* c.bad(dimField.line, `dimension ${JSON.stringify(dimField.value)} is not a positive integer`)
    const dimension = Number(dimField.value)
    const sizesField = yield* c.required("sizes")
    const sizeWords = words(sizesField.value)
    if (sizeWords.length !== dimension)
      return yield* c.bad(sizesField.line, `sizes has ${sizeWords.length} entries but dimension is ${dimension}`)
    const sizes: Array<number> = []
    for (const w of sizeWords) {
      if (!INTEGER.test(w) || Number(w) < 1 || !Number.isSafeInteger(Number(w)))
        return yield* c.bad(sizesField.line, `size ${JSON.stringify(w)} is not a positive integer`)
      sizes.push(Number(w))
    }
    return { dimension, sizes, sizesLine: sizesField.line }
  })

/**
 * `encoding:` raw, gzip or bzip2 (each read as one stream, in z order); ascii, hex and zrl are
 * refused. A compressed stream cannot end where the file ends minus the data, so `byte skip: -1`
 * goes with raw only.
 */
const encodingOf = (c: FieldCheck): Either.Either<NrrdDataEncoding, FormatError | UnsupportedError> =>
  Either.gen(function* () {
    const encField = yield* c.required("encoding")
    const encoding = encField.value.toLowerCase()
    if (encoding === "raw") return "raw"
    const known = OTHER_ENCODINGS.get(encoding)
    if (known === undefined)
      return yield* c.bad(encField.line, `unknown encoding ${JSON.stringify(encField.value)}`, "NRRD encodings are raw, ascii, hex, gzip, bzip2")
    if (known === "gzip" || known === "bzip2") {
      const bs = c.fields.get("byte skip")
      if (bs && bs.value.trim() === "-1")
        return yield* c.bad(bs.line, `byte skip -1 with ${known} encoding: only raw data can be found from the end of the file`, "Teem allows byte skip -1 with raw encoding only")
      return known
    }
    return yield* Either.left(
      new UnsupportedError({
        path: c.path,
        detail: `encoding "${encField.value}": slicewise reads raw, gzip and bzip2 NRRD data only`,
        hint: "convert with `unu save -f nrrd -e gzip -i IN -o OUT` (or -e raw)"
      })
    )
  })

/** `endian:`, required for multi-byte types; "little" where it does not matter. */
const byteOrder = (c: FieldCheck, dtype: DType): Either.Either<NrrdEndian, FormatError> =>
  Either.gen(function* () {
    const endianField = c.fields.get("endian")
    if (endianField) {
      const e = endianField.value.toLowerCase()
      if (e !== "little" && e !== "big")
        return yield* c.bad(endianField.line, `endian ${JSON.stringify(endianField.value)} is neither "little" nor "big"`)
      return e
    }
    if (bytesPerVoxel(dtype) > 1) yield* c.required("endian")
    return "little"
  })

/** `byte skip:` (-1: the data end the file) and `line skip:`, 0 when absent. */
const skips = (c: FieldCheck): Either.Either<{ readonly byteSkip: number; readonly lineSkip: number }, FormatError> =>
  Either.gen(function* () {
    let byteSkip = 0
    const bs = c.fields.get("byte skip")
    if (bs) {
      if (!INTEGER.test(bs.value) || Number(bs.value) < -1)
        return yield* c.bad(bs.line, `byte skip ${JSON.stringify(bs.value)} is not an integer ≥ -1`)
      byteSkip = Number(bs.value)
    }
    let lineSkip = 0
    const ls = c.fields.get("line skip")
    if (ls) {
      if (!INTEGER.test(ls.value) || Number(ls.value) < 0)
        return yield* c.bad(ls.line, `line skip ${JSON.stringify(ls.value)} is not an integer ≥ 0`)
      lineSkip = Number(ls.value)
    }
    return { byteSkip, lineSkip }
  })

/** `data file:` as written (undefined: attached data); one file only, lists and numbered series are refused. */
const dataFileOf = (c: FieldCheck): Either.Either<string | undefined, FormatError | UnsupportedError> =>
  Either.gen(function* () {
    const df = c.fields.get("data file")
    if (!df) return undefined
    const v = df.value
    const w = words(v)
    if (w[0] === "LIST" || (w.length >= 4 && w[0]!.includes("%") && w.slice(1).every((t) => INTEGER.test(t))))
      return yield* Either.left(
        new UnsupportedError({
          path: c.path,
          detail: `data split over several files (data file: ${v})`,
          hint: "join them into one raw file with `unu save -f nrrd -e raw -i IN.nhdr -o OUT.nrrd`"
        })
      )
    if (v.length === 0) return yield* c.bad(df.line, "data file is empty")
    return v
  })

/** The per-axis fields that decide spacing and which axes are components, each checked against `dimension`. */
interface AxisFields {
  readonly directions: ReadonlyArray<ReadonlyArray<number> | null> | undefined
  readonly spacings: ReadonlyArray<number> | undefined
  readonly kinds: ReadonlyArray<string> | undefined
}

/** `space` or `space dimension:`: how many components a space direction has, if the header says. */
const spaceDimensionOf = (c: FieldCheck): Either.Either<number | undefined, FormatError> =>
  Either.gen(function* () {
    const sd = c.fields.get("space dimension")
    if (sd) {
      if (!INTEGER.test(sd.value) || Number(sd.value) < 1)
        return yield* c.bad(sd.line, `space dimension ${JSON.stringify(sd.value)} is not a positive integer`)
      return Number(sd.value)
    }
    const sp = c.fields.get("space")
    if (!sp) return undefined
    const named = SPACE_DIMENSIONS.get(sp.value.toLowerCase())
    if (named === undefined) return yield* c.bad(sp.line, `unknown space ${JSON.stringify(sp.value)}`, 'give "space dimension: N" instead')
    return named
  })

/** `space directions:`, `spacings:` and `kinds:`, when given. */
const axisFields = (c: FieldCheck, dimension: number): Either.Either<AxisFields, FormatError> =>
  Either.gen(function* () {
    const spaceDimension = yield* spaceDimensionOf(c)
    let directions: Array<Array<number> | null> | undefined
    const dirs = c.fields.get("space directions")
    if (dirs) {
      const parsed = parseDirections(dirs.value)
      if (typeof parsed === "string") return yield* c.bad(dirs.line, `space directions: ${parsed}`)
      if (parsed.length !== dimension)
        return yield* c.bad(dirs.line, `space directions has ${parsed.length} entries but dimension is ${dimension}`)
      for (const v of parsed)
        if (v && spaceDimension !== undefined && v.length !== spaceDimension)
          return yield* c.bad(dirs.line, `a space direction has ${v.length} components but the space dimension is ${spaceDimension}`)
      directions = parsed
    }
    let spacings: Array<number> | undefined
    const sps = c.fields.get("spacings")
    if (sps) {
      const w = words(sps.value)
      if (w.length !== dimension) return yield* c.bad(sps.line, `spacings has ${w.length} entries but dimension is ${dimension}`)
      spacings = []
      for (const t of w) {
        const v = parseReal(t)
        if (v === undefined) return yield* c.bad(sps.line, `spacing ${JSON.stringify(t)} is not a number`)
        spacings.push(v)
      }
    }
    let kinds: Array<string> | undefined
    const kf = c.fields.get("kinds")
    if (kf) {
      kinds = axisWords(kf.value).map((k) => k.toLowerCase())
      if (kinds.length !== dimension) return yield* c.bad(kf.line, `kinds has ${kinds.length} entries but dimension is ${dimension}`)
    }
    return { directions, spacings, kinds }
  })

/** The image's (z, y, x) shape and spacing, and the size-1 axes dropped to get there. */
interface ImageGrid {
  readonly shape: readonly [number, number, number]
  readonly spacing: Spacing
  readonly dropped: ReadonlyArray<number>
  /** The header axes that are the image's x, y and (for 3-D) z. */
  readonly imageAxes: readonly [number, number, number | undefined]
}

/** Spacing of axis `a`: the norm of its space direction, else its `spacings` entry, else 1. */
const axisSpacing = (axes: AxisFields, a: number): number => {
  const d = axes.directions?.[a]
  if (d) {
    const n = Math.hypot(...d)
    if (Number.isFinite(n) && n > 0) return n
  }
  const s = axes.spacings?.[a]
  if (s !== undefined && Number.isFinite(s) && s !== 0) return Math.abs(s)
  return 1
}

/** Picks the x, y (and z) axes out of `sizes` (see `interpretHeader`) and sizes the image. */
const imageGrid = (
  c: FieldCheck,
  dtype: DType,
  sizes: ReadonlyArray<number>,
  sizesLine: number,
  fields: AxisFields
): Either.Either<ImageGrid, FormatError | UnsupportedError> =>
  Either.gen(function* () {
    const axes = sizes.map((_, i) => i)
    const dropped: Array<number> = []
    if (axes.length > 3 && sizes[0] === 1) dropped.push(axes.shift()!)
    while (axes.length > 3 && sizes[axes[axes.length - 1]!] === 1) dropped.unshift(axes.pop()!)
    const kinds = fields.kinds
    const component = axes.find((a) => kinds !== undefined && !DOMAIN_KINDS.has(kinds[a]!))
    if (axes.length < 2 || axes.length > 3 || component !== undefined)
      return yield* Either.left(
        new UnsupportedError({
          path: c.path,
          detail:
            component !== undefined
              ? `axis ${component} has kind "${kinds![component]}" (${sizes[component]} components): slicewise handles scalar images`
              : `dimension ${sizes.length} with sizes ${sizes.join(" ")}: slicewise handles 2-D and 3-D scalar images`,
          hint:
            axes.length < 2
              ? "a 1-D array is not an image"
              : "take one component or time point with `unu slice -a AXIS -p INDEX`"
        })
      )
    const [ax, ay, az] = axes as [number, number, number | undefined]
    const shape = [az === undefined ? 1 : sizes[az]!, sizes[ay]!, sizes[ax]!] as const
    const spacing: Spacing = [az === undefined ? 1 : axisSpacing(fields, az), axisSpacing(fields, ay), axisSpacing(fields, ax)]
    if (!Number.isSafeInteger(shape[0] * shape[1] * shape[2] * bytesPerVoxel(dtype)))
      return yield* c.bad(sizesLine, `sizes ${sizes.join(" ")} describe more bytes than this reader can address`)
    return { shape, spacing, dropped, imageAxes: [ax, ay, az] }
  })

/** The header's physical space for the image axes (see space.ts); spacing from directions wins. */
const imageGeometry = (
  c: FieldCheck,
  fields: AxisFields,
  grid: ImageGrid
): Either.Either<{ readonly spacing: Spacing; readonly geometry?: Geometry }, FormatError> =>
  Either.gen(function* () {
    const axes = grid.imageAxes.filter((a): a is number => a !== undefined)
    let origin: ReadonlyArray<number> | undefined
    const o = c.fields.get("space origin")
    if (o) {
      const parsed = parseDirections(o.value)
      if (typeof parsed === "string" || parsed.length !== 1 || parsed[0] === null)
        return yield* c.bad(o.line, `space origin ${JSON.stringify(o.value)} is not one vector (x,y,z)`)
      origin = parsed[0]
    }
    const dirs = fields.directions === undefined ? undefined : axes.map((a) => fields.directions![a])
    const perAxis = c.fields.get("units")
    const units = c.fields.get("space units")
      ? axisWords(c.fields.get("space units")!.value)
      : perAxis
        ? axes.map((a) => axisWords(perAxis.value)[a] ?? "")
        : undefined
    const stated = nrrdGeometry({
      space: c.fields.get("space")?.value,
      directions: dirs?.every((d) => d !== null) ? (dirs as ReadonlyArray<ReadonlyArray<number>>) : undefined,
      origin,
      units
    })
    const spacing = stated?.spacing ?? grid.spacing
    return stated?.geometry === undefined ? { spacing } : { spacing, geometry: stated.geometry }
  })

/** Fields reported by `slicewise info` as the header gives them. */
const REPORTED_FIELDS = ["space", "space dimension", "space directions", "space origin", "space units", "spacings", "kinds", "labels", "units", "content", "measurement frame", "centers", "thicknesses", "old min", "old max", "sample units"]

/** Facts for `slicewise info`: the interpreted fields, then everything else the header holds. */
const layoutDetails = (
  header: NrrdHeader,
  layout: Omit<NrrdLayout, "details" | "dataFile">,
  sizes: ReadonlyArray<number>,
  dropped: ReadonlyArray<number>
): Details => {
  const details: Details = {
    version: `NRRD000${header.version}`,
    type: layout.typeName,
    encoding: layout.encoding,
    endian: bytesPerVoxel(layout.info.dtype) === 1 ? "n/a (1 byte)" : layout.endian,
    sizes: sizes.join(" ")
  }
  if (dropped.length > 0) details["dropped axes"] = dropped.map((a) => `${a} (size 1)`).join(", ")
  if (layout.byteSkip !== 0) details["byte skip"] = layout.byteSkip
  if (layout.lineSkip !== 0) details["line skip"] = layout.lineSkip
  for (const name of REPORTED_FIELDS) {
    const v = header.fields.get(name)
    if (v) details[name] = v.value
  }
  for (const [name, v] of header.fields) if (!FIELD_ALIASES.has(name)) details[`field ${name}`] = v.value
  if (header.comments.length > 0) details.comments = header.comments.join(" | ")
  for (const [k, v] of header.keyValues) details[`kv:${k}`] = v
  return details
}

/**
 * Interprets a parsed header as a slicewise volume: dtype, shape (z, y, x), spacing, and where and
 * how the data are stored.
 *
 * Axis rules: `sizes` lists the fastest axis first, so sizes `x y z` give shape [z, y, x], and a
 * 2-D header gives depth 1. A leading axis of size 1 (a single component) and trailing axes of
 * size 1 beyond the third (a single time point) are dropped; any other axis with more than one
 * sample, or a component axis (kind RGB-color, vector …), is unsupported. Spacing comes from the
 * norms of `space directions`, else from `spacings`, else 1.
 *
 * Fields are checked in a fixed order (type, sizes, encoding, endian, skips, data file, per-axis
 * geometry), so a header with several problems always reports the same one.
 */
export const interpretHeader = (
  header: NrrdHeader,
  path: string
): Either.Either<NrrdLayout, FormatError | UnsupportedError> =>
  Either.gen(function* () {
    const c = fieldCheck(header, path)
    const { dtype, typeName } = yield* voxelType(c)
    const { dimension, sizes, sizesLine } = yield* axisSizes(c)
    const encoding = yield* encodingOf(c)
    const endian = yield* byteOrder(c, dtype)
    const { byteSkip, lineSkip } = yield* skips(c)
    const dataFile = yield* dataFileOf(c)
    const fields = yield* axisFields(c, dimension)
    const grid = yield* imageGrid(c, dtype, sizes, sizesLine, fields)
    const { shape, dropped } = grid
    const { spacing, geometry } = yield* imageGeometry(c, fields, grid)
    const info = volumeInfo(dtype, shape, spacing, geometry)
    const details = layoutDetails(header, { info, typeName, endian, byteSkip, lineSkip, encoding }, sizes, dropped)
    return { info, typeName, endian, dataFile, byteSkip, lineSkip, encoding, details }
  })

// ---------------------------------------------------------------------------------------------
// Writing

export interface FormatOptions {
  readonly endian: NrrdEndian
  /** raw (default) or gzip. */
  readonly encoding?: NrrdEncoding
  /** For a detached header: the data file name as it should appear in the header. */
  readonly dataFile?: string
}

/**
 * The NRRD0004 header for a volume `info` (raw or gzip-encoded data), ending with the blank line that separates it from
 * attached data (a detached header ends after its last field instead). ASCII except perhaps the
 * data file name, so measure it with `Buffer.byteLength`. Geometry is written as space.ts says: the
 * space (LPS, RAS, or `space dimension: 3`), `space directions` whose norms are the spacing (what ITK
 * and 3D Slicer read as voxel size), `space origin` and `space units`.
 */
export const formatNrrdHeader = (info: VolumeInfo, options: FormatOptions): string => {
  const [nz, ny, nx] = info.shape
  const lines = [
    "NRRD0004",
    "# Complete NRRD file format specification at:",
    "# http://teem.sourceforge.net/nrrd/format.html",
    "# written by slicewise",
    `type: ${WRITE_TYPE[info.dtype]}`,
    "dimension: 3",
    `sizes: ${nx} ${ny} ${nz}`,
    ...spaceLines(info.spacing, info.geometry),
    "kinds: domain domain domain",
    // Byte order means nothing for 1-byte voxels; Teem omits the field there too.
    ...(bytesPerVoxel(info.dtype) > 1 ? [`endian: ${options.endian}`] : []),
    `encoding: ${options.encoding ?? "raw"}`,
    ...(options.dataFile !== undefined ? [`data file: ${options.dataFile}`] : [])
  ]
  return lines.join("\n") + (options.dataFile !== undefined ? "\n" : "\n\n")
}
