/**
 * Reading NRRD volumes slice by slice: `.nrrd` (header and data in one file) and `.nhdr`
 * (a detached header naming its data file), raw, gzip- or bzip2-encoded.
 *
 * The header is parsed once, when the source is made; the data file's length is checked against
 * the sizes then, so a truncated file fails before any processing starts. A raw reader then does
 * one positional read per slice, straight into the caller's slice buffer, and swaps bytes in place
 * when the file's byte order is not the machine's.
 *
 * gzip data (`encoding: gzip`, what 3D Slicer writes by default) are one stream: the source
 * decompresses it once when opened (checking the data and the gzip trailer, and recording how many
 * compressed bytes each slice needs, `sliceReadBytes`), and a reader streams forward; a slice
 * asked for out of order makes it decompress the whole volume once into a raw temporary in the
 * spill directory (see `openGzSlices` in ../gzip.ts, shared with NIfTI's `.nii.gz`). Per slice,
 * `sliceReadBytes` is exact for a forward pass; for any other order only its sum over the pass is.
 *
 * bzip2 data (`encoding: bzip2` or `bz2`, which Teem and 3D Slicer can write) are read the same
 * way, through slicewise's own streaming decoder (../bzip2.ts): one scan at open checks every block
 * and stream CRC and records each slice's compressed bytes; a reader holds one block (up to 3.6 MB)
 * whatever the volume's size. The data must decode to exactly the bytes the header declares (byte
 * skip included); more is a FormatError, as is anything after the last bzip2 stream.
 *
 * @example
 * ```ts
 * const program = Effect.scoped(Effect.gen(function* () {
 *   const src = yield* openNrrd("brain.nhdr")           // header parsed, data length checked
 *   const reader = yield* src.open                       // data file opened in the scope
 *   const slice = allocSlice(src.info.dtype, sliceLength(src.info))
 *   yield* reader.read(src.info.shape[0] - 1, slice)     // any z, any order
 *   return reader.bytesRead()                            // === src.sliceReadBytes(z)
 * }))
 * ```
 */
import * as nodePath from "node:path"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type * as Scope from "effect/Scope"
import { bytesPerVoxel, type ArrayOf, type DType } from "../../algebra/dtype.js"
import { sliceBytes, volumeBytes, type VolumeInfo } from "../../algebra/volume.js"
import { FormatError, type IoError } from "../../algebra/io-errors.js"
import { attempt, fdSize, HOST_LITTLE_ENDIAN, openScoped, readAt, swapBytes, withFd } from "../files.js"
import { bz2ReaderBufferBytes, openBz2Slices, scanBz2Slices } from "../bzip2.js"
import { gzReaderBufferBytes, openGzSlices, scanGzSlices, type StreamSliceReader, type StreamSlices } from "../gzip.js"
import { rawRowSpan, rowsProblem } from "../rows.js"
import type { RowRange, SliceReader, SliceSource } from "../../algebra/slices.js"
import { checkMagic, interpretHeader, parseHeader, scanHeader, type HeaderText, type NrrdLayout } from "./header.js"

/** Read the header in pieces of this size; NRRD headers are usually a few hundred bytes. */
const HEADER_CHUNK = 64 * 1024
/** A header longer than this is taken for a file that is not NRRD, or whose blank line is missing. */
const MAX_HEADER = 8 * 1024 * 1024

interface HeaderRead {
  readonly version: number
  readonly text: HeaderText
  readonly fileSize: number
}

/** Reads the start of `path` until the header's end (blank line or end of file) is in hand. */
const readHeader = (path: string): Effect.Effect<HeaderRead, IoError> =>
  withFd(path, "r", (fd) =>
    Effect.gen(function* () {
      const fileSize = yield* fdSize(fd, path)
      let buf = new Uint8Array(Math.min(fileSize, HEADER_CHUNK))
      let have = yield* readAt(fd, path, buf, 0)
      const version = yield* checkMagic(buf.subarray(0, have), path)
      for (;;) {
        const atEof = have >= fileSize
        const text = scanHeader(buf.subarray(0, have), atEof)
        if (text) return { version, text, fileSize }
        if (have >= MAX_HEADER)
          return yield* new FormatError({
            path,
            position: "byte 0",
            detail: `no blank line ends the header within its first ${MAX_HEADER} bytes`,
            hint: "an attached NRRD header ends with an empty line before the data"
          })
        const bigger = new Uint8Array(Math.min(fileSize, buf.length * 2, MAX_HEADER))
        bigger.set(buf.subarray(0, have))
        buf = bigger
        const n = yield* readAt(fd, path, buf.subarray(have), have)
        if (n === 0) return yield* new FormatError({ path, position: `byte ${have}`, detail: "the file shrank while its header was read" })
        have += n
      }
    })
  )

/**
 * Where the first voxel is: after `lineSkip` newlines and `byteSkip` bytes counted from `start`,
 * or, for byte skip -1, exactly `dataBytes` before the end of the file.
 */
const locateData = (
  dataPath: string,
  start: number,
  layout: NrrdLayout,
  headerPath: string
): Effect.Effect<number, IoError> =>
  withFd(dataPath, "r", (fd) =>
    Effect.gen(function* () {
      const size = yield* fdSize(fd, dataPath)
      const dataBytes = volumeBytes(layout.info)
      let pos = start
      let linesLeft = layout.lineSkip
      if (linesLeft > 0) {
        const chunk = new Uint8Array(HEADER_CHUNK)
        while (linesLeft > 0) {
          // Only the bytes the file has: a device (/dev/zero) never ends, and has size 0.
          const n = pos >= size ? 0 : yield* readAt(fd, dataPath, chunk.subarray(0, Math.min(chunk.length, size - pos)), pos)
          if (n === 0)
            return yield* new FormatError({
              path: dataPath,
              position: `byte ${pos}`,
              detail: `line skip ${layout.lineSkip} (${headerPath}) but the file ends after ${layout.lineSkip - linesLeft} lines`
            })
          let i = 0
          while (linesLeft > 0) {
            const nl = chunk.indexOf(0x0a, i)
            if (nl < 0 || nl >= n) break
            linesLeft--
            i = nl + 1
          }
          pos += linesLeft > 0 ? n : i
        }
      }
      // A compressed stream starts after the skipped lines; its byte skip counts decompressed bytes.
      if (layout.encoding !== "raw") return pos
      const offset = layout.byteSkip === -1 ? size - dataBytes : pos + layout.byteSkip
      const available = layout.byteSkip === -1 ? size - pos : size - offset
      if (offset < pos || available < dataBytes) {
        const [nz, ny, nx] = layout.info.shape
        return yield* new FormatError({
          path: dataPath,
          position: `byte ${Math.max(offset, pos)}`,
          detail:
            `${dataPath === headerPath ? "the header" : headerPath} declares ${nx}×${ny}×${nz} ${layout.typeName} voxels, ` +
            `${dataBytes} bytes of data, but only ${Math.max(available, 0)} bytes are there (file size ${size})`,
          hint: "the file is truncated, or the header's sizes, type or byte skip are wrong"
        })
      }
      return offset
    })
  )

/**
 * Opens a raw NRRD volume (`.nrrd` with attached data, or a `.nhdr` detached header whose
 * `data file:` is relative to the header's folder or absolute) as a slice source. The header is
 * read and checked here, once; `open` then opens the data file in a Scope.
 *
 * Fails with FormatError (not NRRD, malformed or missing field, data shorter than the sizes say,
 * corrupt gzip or bzip2 data), UnsupportedError (text, hex and zrl encodings, 64-bit or block types, more than 3 axes of
 * more than one sample) or FileError.
 *
 * @example
 * ```ts
 * const src = yield* openNrrd("scan.nrrd")
 * src.info      // { dtype: "int16", shape: [z, y, x], spacing: [sz, sy, sx] }
 * src.details   // { version: "NRRD0004", endian: "big", "data offset": 311, … }
 * ```
 */
export const openNrrd = (path: string): Effect.Effect<SliceSource, IoError> =>
  Effect.gen(function* () {
    const { version, text, fileSize } = yield* readHeader(path)
    const header = yield* Either.match(parseHeader(text, version, path), { onLeft: Effect.fail, onRight: Effect.succeed })
    const layout = yield* Either.match(interpretHeader(header, path), { onLeft: Effect.fail, onRight: Effect.succeed })
    if (layout.dataFile === undefined && !text.blankLine)
      return yield* new FormatError({
        path,
        position: `header line ${header.endLine}`,
        detail: 'the file ends inside the header: no blank line followed by data (attached) and no "data file:" field (detached)',
        hint: 'a detached header (.nhdr) needs "data file: NAME"'
      })
    const dataPath = layout.dataFile === undefined ? path : nodePath.resolve(nodePath.dirname(path), layout.dataFile)
    const start = layout.dataFile === undefined ? text.dataStart : 0
    const offset = yield* locateData(dataPath, start, layout, path)
    const info = layout.info
    const details = {
      ...layout.details,
      "data file": layout.dataFile === undefined ? "(attached)" : dataPath,
      "data offset": offset,
      "header bytes": layout.dataFile === undefined ? text.dataStart : fileSize
    }
    if (layout.encoding !== "raw") {
      const encoded = yield* scanEncoded(path, dataPath, offset, layout)
      return makeStreamSource(path, info, layout, { ...details, "file bytes": encoded.slices.fileSize }, encoded)
    }
    return makeSource(path, dataPath, offset, info, layout, details)
  })

const makeSource = (
  path: string,
  dataPath: string,
  offset: number,
  info: VolumeInfo,
  layout: NrrdLayout,
  details: SliceSource["details"]
): SliceSource => {
  const bytes = sliceBytes(info)
  const width = bytesPerVoxel(info.dtype)
  const swap = width > 1 && (layout.endian === "little") !== HOST_LITTLE_ENDIAN
  const depth = info.shape[0]
  const open = Effect.map(
    openScoped(dataPath, "r"),
    (fd): SliceReader => {
      let bytesRead = 0
      // Reads `length` bytes at `position` (rows `first`… of slice z) into `into`.
      const readSpan = (z: number, first: number, position: number, length: number, into: ArrayOf<DType>): Effect.Effect<void, IoError> => {
        const view = new Uint8Array(into.buffer, into.byteOffset, length)
        return Effect.flatMap(readAt(fd, dataPath, view, position, z), (n) => {
          bytesRead += n
          if (n < length)
            return new FormatError({
              path: dataPath,
              position: `slice ${z}${first > 0 ? ` row ${first}` : ""}, byte ${position + n}`,
              detail: `the file ends ${length - n} bytes early (it was long enough when opened)`
            })
          if (swap) swapBytes(view, width)
          return Effect.void
        })
      }
      const read = (z: number, into: ArrayOf<DType>): Effect.Effect<void, IoError> => {
        // Wrong z or a wrong-sized buffer is a bug in the caller, not an I/O condition: a defect.
        if (!Number.isInteger(z) || z < 0 || z >= depth)
          return Effect.die(new RangeError(`${path}: slice ${z} is outside 0…${depth - 1}`))
        if (into.byteLength !== bytes)
          return Effect.die(new RangeError(`${path}: slice buffer has ${into.byteLength} bytes, a slice has ${bytes}`))
        return readSpan(z, 0, offset + z * bytes, bytes, into)
      }
      const readRows = (z: number, rows: RowRange, into: ArrayOf<DType>): Effect.Effect<void, IoError> => {
        const bad = rowsProblem(info, z, rows, into.length)
        if (bad !== undefined) return Effect.die(new RangeError(`${path}: ${bad}`))
        const span = rawRowSpan(info, z, rows)
        return readSpan(z, rows.start, offset + span.offset, span.bytes, into)
      }
      return { read, readRows, bytesRead: () => bytesRead }
    }
  )
  return { format: "nrrd", path, info, details, sliceReadBytes: () => bytes, rowReadBytes: (z, rows) => rawRowSpan(info, z, rows).bytes, open }
}

/** Compressed data scanned at open: where the slices are, and how to read them. */
interface Encoded {
  readonly slices: StreamSlices
  readonly format: string
  readonly readerBufferBytes: number
  readonly open: Effect.Effect<StreamSliceReader, IoError, Scope.Scope>
}

/** Decompresses the gzip or bzip2 data from `offset` to the end of `dataPath` once (see `scanGzSlices`). */
const scanEncoded = (path: string, dataPath: string, offset: number, layout: NrrdLayout): Effect.Effect<Encoded, IoError> => {
  const { info } = layout
  const geometry = { start: offset, skip: layout.byteSkip, sliceBytes: sliceBytes(info), depth: info.shape[0] }
  const what = {
    skip: `byte skip ${layout.byteSkip}`,
    slice: (z: number) => `slice ${z} (${path} declares ${info.shape[2]}×${info.shape[1]}×${info.shape[0]} ${layout.typeName} voxels)`
  }
  return withFd(dataPath, "r", (fd) =>
    Effect.flatMap(fdSize(fd, dataPath), (size) =>
      attempt(dataPath, "read", async (): Promise<Encoded> => {
        if (layout.encoding === "bzip2") {
          const bz = await scanBz2Slices(fd, dataPath, size, geometry, what)
          return { slices: bz, format: "nrrd-bz2", readerBufferBytes: bz2ReaderBufferBytes(bz), open: openBz2Slices(bz, "nrrd") }
        }
        const gz = await scanGzSlices(fd, dataPath, size, geometry, what)
        return { slices: gz, format: "nrrd-gz", readerBufferBytes: gzReaderBufferBytes(gz), open: openGzSlices(gz, "nrrd") }
      })
    )
  )
}

/** A source over gzip- or bzip2-encoded data: no rows (a stream has no positions), slices in any order. */
const makeStreamSource = (path: string, info: VolumeInfo, layout: NrrdLayout, details: SliceSource["details"], encoded: Encoded): SliceSource => {
  const bytes = sliceBytes(info)
  const width = bytesPerVoxel(info.dtype)
  const swap = width > 1 && (layout.endian === "little") !== HOST_LITTLE_ENDIAN
  const depth = info.shape[0]
  const dataPath = encoded.slices.path
  const open = Effect.map(encoded.open, (streamReader): SliceReader => ({
    read: (z: number, into: ArrayOf<DType>): Effect.Effect<void, IoError> => {
      if (!Number.isInteger(z) || z < 0 || z >= depth) return Effect.die(new RangeError(`${path}: slice ${z} is outside 0…${depth - 1}`))
      if (into.byteLength !== bytes) return Effect.die(new RangeError(`${path}: slice buffer has ${into.byteLength} bytes, a slice has ${bytes}`))
      return Effect.uninterruptible(
        attempt(dataPath, "read", async () => {
          const view = new Uint8Array(into.buffer, into.byteOffset, bytes)
          await streamReader.read(z, view)
          if (swap) swapBytes(view, width)
        })
      )
    },
    bytesRead: streamReader.bytesRead
  }))
  return {
    format: encoded.format,
    path,
    info,
    details,
    sliceReadBytes: (z) => encoded.slices.sliceCost[z] ?? 0,
    readerBufferBytes: encoded.readerBufferBytes,
    open
  }
}
