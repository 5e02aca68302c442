/**
 * TIFF structure: the header (classic or BigTIFF, "II" or "MM") and the chain of image file
 * directories (IFDs). Entries are indexed, not decoded; a tag's values are read on demand, so large
 * private tags are never loaded.
 *
 * @example
 * ```ts
 * const tiff = await parseTiffStructure(fd, "/data/a.tif", size)
 * tiff.ifds.length                                          // pages, reduced ones included
 * await ifdNumbers(tiff, tiff.ifds[0]!, Tag.ImageWidth)     // Float64Array [512]
 * ```
 */
import { FormatError } from "../../algebra/io-errors.js"
import { fieldTypeSize, FieldType, tagLabel } from "./tags.js"
import { FileWindow } from "./window.js"

export interface TiffHeader {
  readonly littleEndian: boolean
  readonly bigTiff: boolean
  readonly firstIfdOffset: number
}

export interface IfdEntry {
  readonly tag: number
  readonly type: number
  readonly count: number
  /** File offset of the value: inside the entry when it fits, else where the entry points. */
  readonly valueAt: number
}

export interface RawIfd {
  /** Position in the chain, counting from 0 (reduced-resolution IFDs included). */
  readonly index: number
  /** File offset of the IFD. */
  readonly offset: number
  /** Entries in the table (a tag that repeats is in `entries` once, its last entry). */
  readonly entryCount: number
  readonly entries: ReadonlyMap<number, IfdEntry>
}

export interface TiffStructure {
  readonly path: string
  readonly size: number
  readonly header: TiffHeader
  readonly ifds: ReadonlyArray<RawIfd>
  /** The window the IFDs were read through; tag values are read through it too. */
  readonly window: FileWindow
}

const hex = (b: number): string => `0x${b.toString(16).padStart(2, "0")}`

/**
 * Reads the header and walks the IFD chain. Throws FormatError (bad magic, offsets past the end of
 * the file, loops in the chain); file system errors propagate as they are.
 *
 * @example
 * ```ts
 * const t = await parseTiffStructure(fd, "a.tif", fs.fstatSync(fd).size)
 * t.header.bigTiff, t.ifds.length
 * ```
 */
export const parseTiffStructure = async (
  fd: number,
  path: string,
  size: number,
  maxChunk = 1024 * 1024
): Promise<TiffStructure> => {
  const fail = failer(path)
  if (size < 8) fail("byte 0", `file is ${size} bytes, too short for a TIFF header`, "is it a TIFF file?")
  const w = new FileWindow(fd, size, maxChunk, true)
  const { bigTiff, firstIfdOffset } = await readHeader(w, size, fail)
  const ifds = await readIfdChain(w, size, bigTiff, firstIfdOffset, fail)
  return { path, size, header: { littleEndian: w.littleEndian, bigTiff, firstIfdOffset }, ifds, window: w }
}

type Fail = (position: string, detail: string, hint?: string) => never

const failer =
  (path: string): Fail =>
  (position, detail, hint) => {
    throw new FormatError({ path, position, detail, ...(hint ? { hint } : {}) })
  }

/** Reads the byte order (set on `w`), the TIFF or BigTIFF version and the first IFD's offset. */
const readHeader = async (w: FileWindow, size: number, fail: Fail): Promise<{ readonly bigTiff: boolean; readonly firstIfdOffset: number }> => {
  await w.ensure(0, Math.min(size, 16))
  const b0 = w.u8(0)
  const b1 = w.u8(1)
  if (!((b0 === 0x49 && b1 === 0x49) || (b0 === 0x4d && b1 === 0x4d))) {
    fail(
      "byte 0",
      `not a TIFF file: starts with ${hex(b0)} ${hex(b1)}, expected "II" or "MM"`,
      "check the path, or convert the image to TIFF"
    )
  }
  w.littleEndian = b0 === 0x49
  const version = w.u16(2)
  let bigTiff = false
  let firstIfdOffset: number
  if (version === 42) {
    firstIfdOffset = w.u32(4)
  } else if (version === 43) {
    bigTiff = true
    if (size < 16) fail("byte 0", `file is ${size} bytes, too short for a BigTIFF header`)
    if (w.u16(4) !== 8) fail("byte 4", `BigTIFF offset size is ${w.u16(4)}, expected 8`)
    firstIfdOffset = w.u64(8)
  } else {
    return fail("byte 2", `TIFF version is ${version}, expected 42 (TIFF) or 43 (BigTIFF)`)
  }
  if (firstIfdOffset === 0) fail(bigTiff ? "byte 8" : "byte 4", "the file holds no image (first IFD offset is 0)")
  return { bigTiff, firstIfdOffset }
}

/** Walks the chain of IFDs from `firstIfdOffset`, refusing offsets past the end and loops. */
const readIfdChain = async (w: FileWindow, size: number, bigTiff: boolean, firstIfdOffset: number, fail: Fail): Promise<RawIfd[]> => {
  const countSize = bigTiff ? 8 : 2
  const entrySize = bigTiff ? 20 : 12
  const ifds: RawIfd[] = []
  const seen = new Set<number>()
  let offset = firstIfdOffset
  let pointerAt = bigTiff ? 8 : 4
  while (offset !== 0) {
    const index = ifds.length
    if (!Number.isFinite(offset) || !(await w.ensure(offset, countSize))) {
      fail(
        `byte ${pointerAt}`,
        `IFD ${index} offset ${offset} lies past the end of the file (${size} bytes)`,
        "the file is truncated or corrupt"
      )
    }
    if (seen.has(offset)) fail(`byte ${pointerAt}`, `IFD ${index} points back to the IFD at byte ${offset} (a loop)`)
    seen.add(offset)
    const n = bigTiff ? w.u64(offset) : w.u16(offset)
    const tableBytes = n * entrySize + (bigTiff ? 8 : 4)
    if (!Number.isFinite(n) || !(await w.ensure(offset + countSize, tableBytes))) {
      fail(
        `IFD ${index} at byte ${offset}`,
        `its ${n} entries run past the end of the file (${size} bytes)`,
        "the file is truncated"
      )
    }
    ifds.push({ index, offset, entryCount: n, entries: readEntries(w, offset + countSize, n, bigTiff) })
    pointerAt = offset + countSize + n * entrySize
    offset = bigTiff ? w.u64(pointerAt) : w.u32(pointerAt)
  }
  return ifds
}

/** Indexes the `n` entries of an IFD table at `start` (already in the window) by tag. */
const readEntries = (w: FileWindow, start: number, n: number, bigTiff: boolean): Map<number, IfdEntry> => {
  const entrySize = bigTiff ? 20 : 12
  const inlineSize = bigTiff ? 8 : 4
  const entries = new Map<number, IfdEntry>()
  for (let i = 0; i < n; i++) {
    const at = start + i * entrySize
    const tag = w.u16(at)
    const type = w.u16(at + 2)
    const count = bigTiff ? w.u64(at + 4) : w.u32(at + 4)
    const valueField = at + (bigTiff ? 12 : 8)
    const bytes = count * fieldTypeSize(type)
    // Entries of unknown types are kept (valueAt = -1) so that a needed one fails with a clear message.
    const valueAt =
      fieldTypeSize(type) === 0 || !Number.isFinite(count)
        ? -1
        : bytes <= inlineSize
          ? valueField
          : bigTiff
            ? w.u64(valueField)
            : w.u32(valueField)
    entries.set(tag, { tag, type, count, valueAt })
  }
  return entries
}

/**
 * The byte ranges of `t`'s metadata, sorted and merged: the header, every IFD's table and every
 * out-of-line tag value (clipped to the file). A parse reads nothing else, so two files of the same
 * size with the same bytes in these ranges parse the same.
 *
 * @example
 * ```ts
 * metadataRanges(t)   // [[0, 8], [8, 318]] for a one-page file with its values after its IFD
 * ```
 */
export const metadataRanges = (t: TiffStructure): Array<[offset: number, length: number]> => {
  const big = t.header.bigTiff
  const spans: Array<[number, number]> = [[0, big ? 16 : 8]]
  const [countSize, entrySize, pointerSize] = big ? [8, 20, 8] : [2, 12, 4]
  for (const ifd of t.ifds) {
    spans.push([ifd.offset, ifd.offset + countSize + ifd.entryCount * entrySize + pointerSize])
    for (const e of ifd.entries.values()) {
      const bytes = e.count * fieldTypeSize(e.type)
      if (e.valueAt >= 0 && bytes > (big ? 8 : 4)) spans.push([e.valueAt, Math.min(e.valueAt + bytes, t.size)])
    }
  }
  spans.sort((a, b) => a[0] - b[0])
  const merged: Array<[number, number]> = []
  for (const [from, to] of spans) {
    const last = merged[merged.length - 1]
    if (last !== undefined && from <= last[1]) last[1] = Math.max(last[1], to)
    else if (to > from) merged.push([from, to])
  }
  return merged.map(([from, to]) => [from, to - from])
}

const ensureValue = async (t: TiffStructure, ifd: RawIfd, e: IfdEntry): Promise<void> => {
  const position = `IFD ${ifd.index} tag ${tagLabel(e.tag)}`
  if (e.valueAt < 0) {
    throw new FormatError({ path: t.path, position, detail: `unknown field type ${e.type}` })
  }
  const bytes = e.count * fieldTypeSize(e.type)
  if (!(await t.window.ensure(e.valueAt, bytes))) {
    throw new FormatError({
      path: t.path,
      position,
      detail: `its ${bytes} value bytes at byte ${e.valueAt} lie past the end of the file (${t.size} bytes)`,
      hint: "the file is truncated or corrupt"
    })
  }
}

/**
 * The numeric values of `tag` in `ifd` (undefined when absent). RATIONAL and SRATIONAL values come
 * as numerator, denominator pairs, so the array is twice `count` long.
 *
 * @example
 * ```ts
 * await ifdNumbers(t, t.ifds[0]!, Tag.XResolution)   // Float64Array [72, 1]
 * ```
 */
export const ifdNumbers = async (t: TiffStructure, ifd: RawIfd, tag: number): Promise<Float64Array | undefined> => {
  const e = ifd.entries.get(tag)
  if (e === undefined) return undefined
  await ensureValue(t, ifd, e)
  const w = t.window
  const rational = e.type === FieldType.RATIONAL || e.type === FieldType.SRATIONAL
  const out = new Float64Array(rational ? e.count * 2 : e.count)
  const at = e.valueAt
  switch (e.type) {
    case FieldType.BYTE:
    case FieldType.UNDEFINED:
    case FieldType.ASCII:
      for (let i = 0; i < e.count; i++) out[i] = w.u8(at + i)
      break
    case FieldType.SBYTE:
      for (let i = 0; i < e.count; i++) out[i] = w.i8(at + i)
      break
    case FieldType.SHORT:
      for (let i = 0; i < e.count; i++) out[i] = w.u16(at + 2 * i)
      break
    case FieldType.SSHORT:
      for (let i = 0; i < e.count; i++) out[i] = w.i16(at + 2 * i)
      break
    case FieldType.LONG:
    case FieldType.IFD:
      for (let i = 0; i < e.count; i++) out[i] = w.u32(at + 4 * i)
      break
    case FieldType.SLONG:
      for (let i = 0; i < e.count; i++) out[i] = w.i32(at + 4 * i)
      break
    case FieldType.RATIONAL:
      for (let i = 0; i < 2 * e.count; i++) out[i] = w.u32(at + 4 * i)
      break
    case FieldType.SRATIONAL:
      for (let i = 0; i < 2 * e.count; i++) out[i] = w.i32(at + 4 * i)
      break
    case FieldType.FLOAT:
      for (let i = 0; i < e.count; i++) out[i] = w.f32(at + 4 * i)
      break
    case FieldType.DOUBLE:
      for (let i = 0; i < e.count; i++) out[i] = w.f64(at + 8 * i)
      break
    case FieldType.LONG8:
    case FieldType.IFD8:
      for (let i = 0; i < e.count; i++) out[i] = w.u64(at + 8 * i)
      break
    case FieldType.SLONG8:
      for (let i = 0; i < e.count; i++) out[i] = w.i64(at + 8 * i)
      break
  }
  return out
}

/**
 * The first value of a numeric tag, or `fallback` when absent.
 *
 * @example
 * ```ts
 * await ifdNumber(t, ifd, Tag.Compression, 1)   // 1 when the tag is missing
 * ```
 */
export const ifdNumber = async (t: TiffStructure, ifd: RawIfd, tag: number, fallback: number): Promise<number> => {
  const values = await ifdNumbers(t, ifd, tag)
  return values !== undefined && values.length > 0 ? values[0]! : fallback
}

/**
 * An ASCII tag as text (up to its first NUL), or undefined when absent.
 *
 * @example
 * ```ts
 * await ifdText(t, ifd, Tag.ImageDescription)   // "ImageJ=1.53t\nimages=64\n…"
 * ```
 */
export const ifdText = async (t: TiffStructure, ifd: RawIfd, tag: number): Promise<string | undefined> => {
  const e = ifd.entries.get(tag)
  if (e === undefined) return undefined
  if (e.type !== FieldType.ASCII && e.type !== FieldType.BYTE && e.type !== FieldType.UNDEFINED) return undefined
  await ensureValue(t, ifd, e)
  const bytes = t.window.bytes(e.valueAt, e.count)
  const nul = bytes.indexOf(0)
  return Buffer.from(bytes.buffer, bytes.byteOffset, nul < 0 ? bytes.length : nul).toString("latin1")
}
