/**
 * A directory of DICOM files, one slice each, read as a volume: the files are scanned once when
 * the source is opened (each header up to PixelData, a few KiB), grouped by SeriesInstanceUID,
 * one series is chosen and its slices are ordered along the slice normal (series.ts). A reader
 * then reads each slice's pixel bytes at the offset its scan recorded, so `sliceReadBytes(z)` is
 * exactly the slice's stored bytes (the whole file for a deflated one, which must be inflated; the
 * encapsulated PixelData for RLE Lossless, the one compressed syntax read).
 *
 * Files that are not DICOM (a README, thumbnails) are ignored when the directory holds DICOM
 * files, and so are DICOM files without pixels (DICOMDIR, structured reports, presentation
 * states); `details` counts both. A single DICOM file is a volume of one slice.
 *
 * @example
 * ```ts
 * import { openDicomSeries } from "slicewise/io/dicom"
 * const ct = yield* openDicomSeries("/data/ct/", { series: "3" })
 * ct.info          // { dtype: "int16", shape: [120, 512, 512], spacing: [2.5, 0.7, 0.7], geometry: { … } }
 * ct.series        // every series of the directory, as `slicewise info` lists them
 * ```
 */
import * as fs from "node:fs"
import * as nodePath from "node:path"
import * as zlib from "node:zlib"
import * as Effect from "effect/Effect"
import { bytesPerVoxel, viewOf, type ArrayOf, type DType, type VoxelArray } from "../../algebra/dtype.js"
import { FormatError, UnsupportedError, fileError, type IoError } from "../../algebra/io-errors.js"
import type { SliceReader, SliceSource } from "../../algebra/slices.js"
import { volumeInfo } from "../../algebra/volume.js"
import { HOST_LITTLE_ENDIAN, isIoError, readFully, startFile, swapBytes } from "../files.js"
import { compressedSyntaxName, parseDicom, RLE_LOSSLESS, syntaxText, type ByteSource, type DicomHeader } from "./parse.js"
import { decodeRle, rleFrame } from "./rle.js"
import { chooseSeries, groupSeries, layOut, seriesLine, seriesText, type DicomFile, type DicomSeriesGroup, type DicomSeriesSummary, type SeriesLayout } from "./series.js"
import { maskStored, pixelFormat, rawSliceBytes, rescaledDtype, rescaleInto, rescaleOf, rescales, type PixelFormat, type Rescale } from "./voxels.js"

export interface DicomOptions {
  /** Which series (its SeriesNumber or SeriesInstanceUID); needed when the directory holds several. */
  readonly series?: string
  /** Open the first series (by SeriesNumber) instead of refusing a directory of several: for `slicewise info`. */
  readonly describe?: boolean
  /**
   * Apply RescaleSlope/RescaleIntercept (default true, as pydicom's `apply_modality_lut`); false
   * delivers the stored values.
   */
  readonly rescale?: boolean
}

/** A DICOM series source: a slice source with the series of its directory. */
export interface DicomSource extends SliceSource {
  /** Every series of the directory, ordered by SeriesNumber; `chosen` is the one read. */
  readonly series: ReadonlyArray<DicomSeriesSummary>
  readonly chosen: DicomSeriesSummary
  /** The files of the chosen series in z order. */
  readonly files: ReadonlyArray<string>
  /** True when the voxels delivered are rescaled (slope and intercept applied). */
  readonly rescaled: boolean
}

/** Header bytes read per request while scanning: most headers fit, Siemens MR ones take two or three. */
const WINDOW = 8 * 1024

/** The scanner's window, shared by the files of a scan, and the bytes it has read. */
interface ScanWindow {
  buf: Uint8Array
  read: number
}

/** A file read on demand, synchronously, through the scan's window: the scanner's ByteSource. */
const fileBytes = (fd: number, size: number, w: ScanWindow): ByteSource => {
  let start = 0
  let filled = 0
  return {
    size,
    get(offset, length) {
      if (offset >= start && offset + length <= start + filled) return w.buf.subarray(offset - start, offset - start + length)
      if (length > w.buf.length) w.buf = new Uint8Array(Math.max(length, 2 * w.buf.length))
      const want = Math.min(w.buf.length, size - offset)
      let got = 0
      while (got < want) {
        const n = fs.readSync(fd, w.buf, got, want - got, offset + got)
        if (n === 0) break
        got += n
      }
      w.read += got
      start = offset
      filled = got
      return w.buf.subarray(0, Math.min(length, got))
    }
  }
}

/** Deflated Explicit VR Little Endian: the dataset is raw deflate (RFC 1951). */
const inflateRaw = (data: Uint8Array): Uint8Array => zlib.inflateRawSync(data)

/** A deflated file's dataset, inflated; corrupt data is a FormatError naming the file. */
const inflateDataset = (f: DicomFile, deflated: Uint8Array): Uint8Array => {
  try {
    return inflateRaw(deflated)
  } catch (e) {
    throw new FormatError({ path: f.path, position: `byte ${f.header.datasetOffset}`, detail: `the deflated dataset does not inflate: ${(e as Error).message}` })
  }
}

/** A parsed file, not DICOM, or unreadable. */
type Scanned = { readonly kind: "dicom"; readonly file: DicomFile } | { readonly kind: "other"; readonly name: string }

/** Scans one file up to its PixelData; throws an IoError naming it when it is DICOM but malformed. */
const scanFile = (path: string, name: string, window: ScanWindow): Scanned => {
  let fd: number
  try {
    fd = fs.openSync(path, "r")
  } catch (e) {
    throw fileError(path, "open", e)
  }
  try {
    const st = fs.fstatSync(fd)
    // A link to a directory, a device …: not a slice.
    if (!st.isFile()) return { kind: "other", name }
    const header = parseDicom(fileBytes(fd, st.size, window), path, inflateRaw)
    const size = st.size
    return header === undefined ? { kind: "other", name } : { kind: "dicom", file: { path, name, size, header } }
  } catch (e) {
    if (e instanceof FormatError || e instanceof UnsupportedError) throw e
    throw fileError(path, "read", e)
  } finally {
    fs.closeSync(fd)
  }
}

/** Natural order: IM2 before IM10. */
const naturalCompare = (a: string, b: string) => a.localeCompare(b, "en", { numeric: true })

/** The regular files of `dir` (hidden ones skipped), in natural order. */
const listFiles = (dir: string): ReadonlyArray<string> =>
  fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((e) => (e.isFile() || e.isSymbolicLink()) && !e.name.startsWith("."))
    .map((e) => e.name)
    .sort(naturalCompare)

/** The scan of a directory (or one file): DICOM image files, and counts of what was ignored. */
interface DirectoryScan {
  readonly images: ReadonlyArray<DicomFile>
  /** DICOM files without pixels: DICOMDIR, SR, presentation states … */
  readonly nonImage: number
  /** Files that are not DICOM. */
  readonly other: number
  /** True when a DICOMDIR is among the DICOM files without pixels. */
  readonly index: boolean
  /** Bytes the scan read: headers up to PixelData, about one window per file. */
  readonly headerBytes: number
}

const isImage = (h: DicomHeader) => h.pixelData !== undefined && !h.isDirectory

const scanPath = (path: string): Effect.Effect<DirectoryScan, IoError> =>
  Effect.try({
    try: (): DirectoryScan => {
      const st = fs.statSync(path)
      const entries = st.isDirectory() ? listFiles(path).map((n) => [nodePath.join(path, n), n] as const) : [[path, nodePath.basename(path)] as const]
      const images: DicomFile[] = []
      let nonImage = 0
      let other = 0
      let index = false
      const window: ScanWindow = { buf: new Uint8Array(WINDOW), read: 0 }
      for (const [file, name] of entries) {
        const s = scanFile(file, name, window)
        if (s.kind === "other") other++
        else if (isImage(s.file.header)) images.push(s.file)
        else {
          nonImage++
          index ||= s.file.header.isDirectory
        }
      }
      return { images, nonImage, other, index, headerBytes: window.read }
    },
    catch: (e) => (isIoError(e) ? e : fileError(path, "list", e))
  })

/** The pixel format every file of the series shares, or the error naming the first that differs. */
const seriesFormat = (files: ReadonlyArray<DicomFile>, seriesName: string): PixelFormat | IoError => {
  let first: PixelFormat | undefined
  for (const f of files) {
    const h = f.header
    const rle = h.transferSyntax === RLE_LOSSLESS
    const compressed = rle ? undefined : compressedSyntaxName(h.transferSyntax)
    if (compressed !== undefined || (h.pixelData!.length === undefined) !== rle)
      return new UnsupportedError({
        path: f.path,
        detail: `compressed pixels: transfer syntax ${compressed ?? "with encapsulated PixelData"} (${h.transferSyntax})`,
        hint: "slicewise reads uncompressed DICOM; decompress first, e.g. `gdcmconv --raw` or `dcmdjpeg`/`dcmdrle`"
      })
    const fmt = pixelFormat(h)
    if ("problem" in fmt)
      return fmt.unsupported
        ? new UnsupportedError({ path: f.path, detail: fmt.problem })
        : new FormatError({ path: f.path, position: `tag ${fmt.tag}`, detail: fmt.problem })
    if (first === undefined) first = fmt
    else if (fmt.rows !== first.rows || fmt.columns !== first.columns || fmt.stored !== first.stored || fmt.bitsStored !== first.bitsStored)
      return new FormatError({
        path: f.path,
        position: "tag (0028,0010)",
        detail: `${seriesName}: this file is ${fmt.rows}×${fmt.columns} ${fmt.stored} (BitsStored ${fmt.bitsStored}), ${files[0]!.name} is ${first.rows}×${first.columns} ${first.stored} (BitsStored ${first.bitsStored})`,
        hint: "every slice of a series must have the same size and pixel format"
      })
    if (rle) continue
    const need = rawSliceBytes(fmt)
    const px = h.pixelData!
    if (px.length! < need)
      return new FormatError({
        path: f.path,
        position: "tag (7FE0,0010)",
        detail: `PixelData holds ${px.length} bytes, a ${fmt.rows}×${fmt.columns} slice of ${fmt.bitsAllocated}-bit pixels needs ${need}`
      })
    if (!h.deflated && px.offset + need > f.size)
      return new FormatError({
        path: f.path,
        position: `tag (7FE0,0010), byte ${f.size}`,
        detail: `the file ends at byte ${f.size}, ${px.offset + need - f.size} bytes before the end of its PixelData (byte ${px.offset + need})`,
        hint: "the file is truncated"
      })
  }
  return first!
}

const detailsOf = (
  scan: DirectoryScan,
  groups: ReadonlyArray<DicomSeriesSummary>,
  chosen: DicomSeriesSummary,
  refused: ReadonlyMap<DicomSeriesSummary, string>,
  files: ReadonlyArray<DicomFile>,
  fmt: PixelFormat,
  ordering: string,
  rescaleText: string
): Record<string, string | number | boolean> => {
  const h = files[0]!.header
  const syntaxes = [...new Set(files.map((f) => f.header.transferSyntax))]
  const seriesList: Record<string, string> = {}
  // Keyed by SeriesNumber; a number two series share (or none) gets the series' place in the list.
  const shared = (g: DicomSeriesSummary) => g.number === undefined || groups.filter((o) => o.number === g.number).length > 1
  groups.forEach(
    (g, i) => (seriesList[`series ${g.number ?? ""}${shared(g) ? `#${i + 1}` : ""}`] = seriesText(g) + (g === chosen ? " (read)" : refused.has(g) ? ` (cannot be read: ${refused.get(g)})` : ""))
  )
  return {
    series: groups.length === 1 ? seriesLine(chosen) : `reading ${chosen.number ?? chosen.uid}, one of ${groups.length} (choose with --series)`,
    ...(groups.length > 1 ? seriesList : {}),
    ...(chosen.modality !== undefined ? { modality: chosen.modality } : {}),
    files: files.length,
    firstFile: files[0]!.name,
    lastFile: files[files.length - 1]!.name,
    transferSyntax: syntaxes.map(syntaxText).join(", "),
    stored: `${fmt.stored}, BitsStored ${fmt.bitsStored}`,
    ...(h.photometric !== undefined ? { photometric: h.photometric === "MONOCHROME1" ? "MONOCHROME1 (higher values display darker; values not inverted)" : h.photometric } : {}),
    ...(h.pixelSpacing === undefined ? { "pixel spacing": "not stated (no PixelSpacing): 1 × 1" } : {}),
    rescale: rescaleText,
    order: ordering,
    "header bytes read": scan.headerBytes,
    ...(scan.nonImage > 0 ? { "ignored DICOM files": `${scan.nonImage} without pixels (DICOMDIR, reports …)` } : {}),
    ...(scan.other > 0 ? { "ignored other files": scan.other } : {}),
    ...(files.some((f) => f.header.modalityLut) ? { "modality LUT": "present, not applied (slope and intercept are)" } : {})
  }
}

const rescaleText = (all: ReadonlyArray<Rescale>, applied: boolean, dtype: DType): string => {
  if (!rescales(all)) return "none"
  const distinct = [...new Set(all.map((r) => `slope ${r.slope}, intercept ${r.intercept}`))]
  const what = distinct.length === 1 ? distinct[0]! : `${distinct.length} different per slice`
  return applied ? `${what} → ${dtype}` : `${what} (not applied)`
}

/**
 * Opens a directory of DICOM files (or one DICOM file) as a slice source. Fails with an
 * UnsupportedError that names the file and what it cannot read (compressed transfer syntaxes by
 * name, colour, multi-frame, 1-bit), or that lists the series when several are present and none is
 * chosen, or refuses uneven spacing, gantry tilt and repeated slice positions, giving the steps;
 * with a FormatError naming the file and tag for malformed or truncated files; with FileError.
 *
 * @example
 * ```ts
 * const src = yield* openDicomSeries("/data/ct/")            // the only series
 * const mr = yield* openDicomSeries("/data/exam/", { series: "1.3.12.2.1107.5.2…" })
 * const raw = yield* openDicomSeries("/data/ct/", { rescale: false })   // stored values
 * ```
 */
export const openDicomSeries = (path: string, options: DicomOptions = {}): Effect.Effect<DicomSource, IoError> =>
  Effect.gen(function* () {
    const scan = yield* scanPath(path)
    if (scan.images.length === 0)
      return yield* new FormatError({
        path,
        position: "directory",
        detail:
          scan.nonImage > 0
            ? `holds ${scan.nonImage} DICOM file(s) but none with pixels (DICOMDIR, reports …)`
            : `holds no DICOM file (${scan.other} other file(s))`,
        hint: scan.index
          ? "a DICOMDIR indexes images kept in subdirectories: open the directory that holds one series' image files"
          : "a DICOM volume is a directory of DICOM image files, one slice each"
      })
    const groups = groupSeries(scan.images)
    const picked = chooseSeries(path, groups, options.series, options.describe === true)
    if (picked instanceof UnsupportedError) return yield* picked
    // Describing a directory of several series without a choice: the first that can be read (a
    // localizer of three orientations often comes first), each one before it noted with why not.
    const candidates = options.describe === true && options.series === undefined ? groups : [picked]
    const refused = new Map<DicomSeriesGroup, string>()
    let firstError: IoError | undefined
    let prepared: Prepared | undefined
    for (const g of candidates) {
      const p = prepare(path, g)
      if (!(p instanceof Error)) {
        prepared = p
        break
      }
      firstError ??= p
      refused.set(g, p.message.replace(`${p.path}: `, ""))
    }
    if (prepared === undefined) return yield* Effect.fail(firstError!)
    const { chosen, fmt, layout } = prepared
    const files = layout.files
    const all = files.map((f) => rescaleOf(f.header))
    const applied = options.rescale !== false && rescales(all)
    const dtype = applied ? rescaledDtype(fmt, all) : fmt.stored
    const info = volumeInfo(dtype, [files.length, fmt.rows, fmt.columns], layout.spacing, layout.geometry)
    const raw = rawSliceBytes(fmt)
    const readBytes = files.map((f) => storedReadBytes(f, raw))
    const { files: _, ...summary } = chosen
    const source: DicomSource = {
      format: "dicom",
      path,
      info,
      details: detailsOf(scan, groups, chosen, refused, files, fmt, layout.ordering, rescaleText(all, applied, dtype)),
      sliceReadBytes: (z) => readBytes[z] ?? 0,
      // A scratch slice of stored pixels, when they are not delivered as they are.
      readerBufferBytes: (applied ? raw : 0) + compressedInputBytes(files, raw),
      open: Effect.sync(() => makeReader(path, files, fmt, dtype, applied ? all : undefined)),
      series: groups.map(({ files: _f, ...g }) => g),
      chosen: summary,
      files: files.map((f) => f.path),
      rescaled: applied
    }
    return source
  })

const isRle = (f: DicomFile) => f.header.transferSyntax === RLE_LOSSLESS

/** A series checked and laid out. */
interface Prepared {
  readonly chosen: DicomSeriesGroup
  readonly fmt: PixelFormat
  readonly layout: SeriesLayout
}

/** A series checked and laid out, or the error that refuses it. */
const prepare = (path: string, chosen: DicomSeriesGroup): Prepared | IoError => {
  const fmt = seriesFormat(chosen.files, `series ${chosen.number ?? chosen.uid}`)
  if (!("rows" in fmt)) return fmt
  const layout = layOut(path, chosen)
  return layout instanceof Error ? layout : { chosen, fmt, layout }
}

/**
 * Bytes read for a file's slice: its stored pixels; the whole file when deflated; for RLE, the
 * encapsulated PixelData to the end of the file (its items are parsed from those bytes).
 */
const storedReadBytes = (f: DicomFile, raw: number): number => (f.header.deflated ? f.size : isRle(f) ? f.size - f.header.pixelData!.offset : raw)

/**
 * Bytes a reader holds for compressed slices: the largest file or encapsulated PixelData it reads
 * whole, and for deflate the inflated dataset too.
 */
const compressedInputBytes = (files: ReadonlyArray<DicomFile>, raw: number): number => {
  let most = 0
  for (const f of files) if (f.header.deflated || isRle(f)) most = Math.max(most, storedReadBytes(f, raw) + (f.header.deflated ? raw : 0))
  return most
}

/**
 * A reader: each slice's file opened, its pixel bytes read at the recorded offset (the whole file
 * for a deflated one), swapped to the host's order, masked to BitsStored and rescaled into the
 * caller's slice. Stored pixels that need rescaling go through a scratch slice from a small pool
 * (reads may be in flight together), reused from slice to slice.
 */
const makeReader = (
  dir: string,
  files: ReadonlyArray<DicomFile>,
  fmt: PixelFormat,
  dtype: DType,
  rescale: ReadonlyArray<Rescale> | undefined
): SliceReader => {
  const raw = rawSliceBytes(fmt)
  const voxels = fmt.rows * fmt.columns
  const width = bytesPerVoxel(fmt.stored)
  const outBytes = voxels * bytesPerVoxel(dtype)
  const pool: Uint8Array[] = []
  // Whole files (deflate) and encapsulated PixelData (RLE), reused: the largest one asked for so far.
  const inputs: Uint8Array[] = []
  const takeInput = (n: number) => {
    const b = inputs.pop()
    return b !== undefined && b.length >= n ? b : new Uint8Array(Math.max(n, b?.length ?? 0))
  }
  let bytesRead = 0

  const storedBytes = async (fd: number, f: DicomFile, target: Uint8Array): Promise<void> => {
    const px = f.header.pixelData!
    if (isRle(f)) {
      const n = f.size - px.offset
      const encapsulated = takeInput(n)
      try {
        const got = await readFully(fd, encapsulated.subarray(0, n), px.offset)
        bytesRead += got
        decodeRle(rleFrame(encapsulated.subarray(0, got), f.path), f.path, width, voxels, target)
      } finally {
        inputs.push(encapsulated)
      }
      return
    }
    if (!f.header.deflated) {
      const got = await readFully(fd, target, px.offset)
      bytesRead += got
      if (got < raw)
        throw new FormatError({
          path: f.path,
          position: `tag (7FE0,0010), byte ${px.offset + got}`,
          detail: `the file ends ${raw - got} bytes before the end of its PixelData (it was long enough when scanned)`,
          hint: "the file was truncated or replaced while being read"
        })
      return
    }
    // Deflated: the pixels are inside the compressed dataset; inflate the whole file.
    const whole = takeInput(f.size)
    let data: Uint8Array
    try {
      const got = await readFully(fd, whole.subarray(0, f.size), 0)
      bytesRead += got
      data = inflateDataset(f, whole.subarray(f.header.datasetOffset, got))
    } finally {
      inputs.push(whole)
    }
    if (data.length < px.offset + raw)
      throw new FormatError({ path: f.path, position: "tag (7FE0,0010)", detail: `the inflated dataset ends ${px.offset + raw - data.length} bytes before the end of its PixelData` })
    target.set(data.subarray(px.offset, px.offset + raw))
  }

  const startRead = (z: number, into: ArrayOf<DType>) => {
    if (!Number.isInteger(z) || z < 0 || z >= files.length) return Effect.die(new RangeError(`${dir}: slice ${z} is outside 0…${files.length - 1}`))
    if (into.byteLength !== outBytes) return Effect.die(new RangeError(`${dir}: slice buffer has ${into.byteLength} bytes, a slice has ${outBytes}`))
    const f = files[z]!
    // Deflated and RLE slices are decoded into the caller's slice when no rescale follows.
    const direct = rescale === undefined
    return startFile(f.path, "r", "read", async (fd) => {
      const scratch = direct ? undefined : (pool.pop() ?? new Uint8Array(raw))
      try {
        const target = scratch ?? new Uint8Array(into.buffer, into.byteOffset, raw)
        await storedBytes(fd, f, target)
        // RLE decodes straight to the host's order.
        if (width > 1 && !isRle(f) && f.header.littleEndian !== HOST_LITTLE_ENDIAN) swapBytes(target, width)
        const stored: VoxelArray = scratch === undefined ? into : viewOf(fmt.stored, scratch.buffer, scratch.byteOffset, voxels)
        maskStored(fmt, stored, voxels)
        if (scratch !== undefined) rescaleInto(stored, into, voxels, rescale![z]!)
      } finally {
        if (scratch !== undefined) pool.push(scratch)
      }
    })
  }
  return {
    read: (z, into) => Effect.suspend(() => startRead(z, into)),
    startRead,
    bytesRead: () => bytesRead
  }
}
