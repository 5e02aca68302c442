/**
 * Reading NIfTI-1 volumes slice by slice along the third axis: `.nii` by positional reads, and
 * `.nii.gz` by streamed decompression.
 *
 * NIfTI stores x fastest, then y, then z (dim[1], dim[2], dim[3]): a slicewise slice z is the
 * z-th block of dim[1]·dim[2] voxels, NIfTI's natural order. Higher axes (time, components) must
 * be of size 1 unless `volume` picks one of them (default: the first).
 *
 * `.nii.gz` cannot be read at a position: the source scans the whole file once when opened (this
 * checks the gzip data and trailer before any processing starts and records how many compressed
 * bytes each slice needs), and a reader decompresses forward. A reader asked for a slice behind its
 * cursor (a backward pass) decompresses the rest of the file once into a temporary raw file in the
 * spill directory, removed when the reader's scope closes, and serves every later slice from it:
 * so each pass reads the compressed file exactly once in either direction. Per slice,
 * `sliceReadBytes` is exact for a forward pass; for any other order only its sum over the pass is.
 *
 * @example
 * ```ts
 * const src = yield* openNifti("ch2.nii.gz", { scale: true })   // float32 voxels, slope applied
 * src.info        // { dtype: "float32", shape: [181, 217, 181], spacing: [1, 1, 1] }
 * src.details     // { qform: "…", sform: "…", scl_slope: 1, … }
 * ```
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { bytesPerVoxel, viewOf, type ArrayOf, type DType } from "../../algebra/dtype.js"
import { sliceBytes, volumeInfo, withDType, type VolumeInfo } from "../../algebra/volume.js"
import { niftiGeometry } from "./orientation.js"
import { shortestFloat32 } from "../../util/numbers.js"
import { FormatError, UnsupportedError, type IoError } from "../../algebra/io-errors.js"
import { attempt, fdSize, HOST_LITTLE_ENDIAN, openScoped, readAt, swapBytes, withFd } from "../files.js"
import type { RowRange, SliceReader, SliceSource } from "../../algebra/slices.js"
import { gzReaderBufferBytes, openGzCursor, openGzSlices, scanGzSlices, type GzSlices } from "../gzip.js"
import { hasScaling, headerDetails, MIN_VOX_OFFSET, parseNiftiHeader, type NiftiHeader } from "./header.js"

export interface NiftiOptions {
  /**
   * Apply scl_slope/scl_inter: voxels become `stored · slope + inter` as float32 (float64 for
   * 32-bit integer and float64 data), as nibabel's `get_fdata` computes them. Default false: the
   * stored values, in the stored dtype.
   */
  readonly scale?: boolean
  /** Which volume of a 4D (or higher) image to read, counting over dims 4…7 (default 0). */
  readonly volume?: number
}

/** A NIfTI source also carries its parsed header, so a NIfTI sink can keep the orientation. */
export interface NiftiSource extends SliceSource {
  readonly niftiHeader: NiftiHeader
  /** True when the voxels delivered are scaled (scl_slope/scl_inter applied). */
  readonly scaled: boolean
}

const isGzipPath = (path: string) => /\.gz$/i.test(path)

/** The dtype scaled voxels are delivered in. */
const scaledDtype = (d: DType): DType => (d === "float64" || d === "int32" || d === "uint32" ? "float64" : "float32")

/**
 * Opens a NIfTI-1 `.nii` or `.nii.gz` as a slice source. Fails with FormatError (not NIfTI-1,
 * inconsistent header, truncated or corrupt data, naming the byte), UnsupportedError (NIfTI-2,
 * .hdr/.img pairs, complex/RGB/64-bit types) or FileError.
 *
 * @example
 * ```ts
 * const src = yield* openNifti("t1.nii")
 * src.rowReadBytes?.(0, { start: 0, end: 10 })   // uncompressed files read bands of rows too
 * ```
 */
export const openNifti = (path: string, options: NiftiOptions = {}): Effect.Effect<NiftiSource, IoError> =>
  Effect.gen(function* () {
    const gz = isGzipPath(path)
    const scan = yield* withFd(path, "r", (fd) =>
      Effect.gen(function* () {
        const fileSize = yield* fdSize(fd, path)
        if (!gz) {
          const head = new Uint8Array(Math.min(fileSize, MIN_VOX_OFFSET))
          yield* readAt(fd, path, head, 0)
          if (head[0] === 0x1f && head[1] === 0x8b)
            return yield* new FormatError({ path, position: "byte 0", detail: "the file is gzip-compressed but its name does not end in .gz", hint: "rename it to .nii.gz" })
          const header = yield* Either.match(parseNiftiHeader(head, path), { onLeft: Effect.fail, onRight: Effect.succeed })
          return { header, fileSize, gz: undefined as GzSlices | undefined }
        }
        return yield* scanGzip(fd, path, fileSize, options)
      })
    )
    const { header, fileSize } = scan
    if (header.magic !== "n+1")
      return yield* new UnsupportedError({ path, detail: 'a NIfTI-1 header with magic "ni1" (a .hdr/.img pair)', hint: "slicewise reads single-file .nii and .nii.gz" })
    const layout = yield* layoutOf(header, path, options)
    if (!gz) {
      const end = layout.dataOffset + layout.volumeBytes
      if (fileSize < end)
        return yield* new FormatError({
          path,
          position: `byte ${fileSize}`,
          detail: `the header declares ${layout.dimsText} ${header.dtype} voxels, data up to byte ${end}, but the file ends at byte ${fileSize}`,
          hint: "the file is truncated, or its dims, datatype or vox_offset are wrong"
        })
    }
    return makeSource(path, header, layout, fileSize, scan.gz, options.scale === true && hasScaling(header))
  })

interface Layout {
  /** The stored volume (stored dtype). */
  readonly stored: VolumeInfo
  /** Byte offset of the chosen volume's first voxel (in the decompressed stream for .gz). */
  readonly dataOffset: number
  readonly volumeBytes: number
  readonly volumes: number
  readonly volume: number
  readonly dimsText: string
}

const layoutOf = (h: NiftiHeader, path: string, options: NiftiOptions): Effect.Effect<Layout, IoError> => {
  const n = h.dim[0]!
  const size = (i: number) => (i <= n ? h.dim[i]! : 1)
  const [nx, ny, nz] = [size(1), size(2), size(3)]
  let volumes = 1
  for (let i = 4; i <= n; i++) volumes *= h.dim[i]!
  const volume = options.volume ?? 0
  if (!Number.isInteger(volume) || volume < 0 || volume >= volumes)
    return Effect.fail(new UnsupportedError({ path, detail: `volume ${volume} of an image with ${volumes} volume(s)`, hint: `choose 0…${volumes - 1}` }))
  // pixdim is float32: the shortest decimal that rounds to it is what was written (0.9, not
  // 0.8999999761581421), and it is what other formats' outputs then say; NIfTI gets the same float32 back.
  const spacing = (i: number) => {
    const p = Math.abs(h.pixdim[i] ?? 0)
    return i <= n && Number.isFinite(p) && p > 0 ? shortestFloat32(p) : 1
  }
  const stored = volumeInfo(h.dtype, [nz, ny, nx], [spacing(3), spacing(2), spacing(1)], niftiGeometry(h))
  const vb = nx * ny * nz * bytesPerVoxel(h.dtype)
  return Effect.succeed({
    stored,
    dataOffset: h.voxOffset + volume * vb,
    volumeBytes: vb,
    volumes,
    volume,
    dimsText: h.dim.slice(1, n + 1).join("×")
  })
}

/**
 * Decompresses the whole `.nii.gz` once: parses the header, then (`scanGzSlices`, continuing the
 * same cursor) checks the data and the gzip trailer, and records the compressed bytes a forward
 * reader needs before each slice is complete.
 */
const scanGzip = (fd: number, path: string, fileSize: number, options: NiftiOptions) =>
  attempt(path, "read", async () => {
    const cursor = await openGzCursor(fd, path, fileSize)
    const head = new Uint8Array(MIN_VOX_OFFSET)
    try {
      await cursor.fill(head, "the NIfTI-1 header")
    } catch (e) {
      // A short stream is judged by the header parser, which names the field it misses.
      if (!(e instanceof FormatError) || cursor.position === 0) throw e
      const partial = head.subarray(0, cursor.position)
      const parsed = parseNiftiHeader(partial, path)
      if (Either.isLeft(parsed)) throw parsed.left
      throw e
    }
    const header = Either.getOrThrowWith(parseNiftiHeader(head, path), (e) => e)
    if (header.magic !== "n+1") return { header, fileSize, gz: undefined }
    const layout = Effect.runSync(Effect.either(layoutOf(header, path, options)))
    if (Either.isLeft(layout)) throw layout.left
    const { stored, dataOffset } = layout.right
    const gz = await scanGzSlices(
      fd,
      path,
      fileSize,
      { start: 0, skip: dataOffset, sliceBytes: sliceBytes(stored), depth: stored.shape[0] },
      { skip: "the header extensions", slice: (z) => `slice ${z}` },
      cursor
    )
    return { header, fileSize, gz }
  })

/** How one NIfTI source's stored slices become the voxels it delivers; shared by its readers. */
interface SliceDecoding {
  readonly path: string
  /** The stored volume (stored dtype). */
  readonly stored: VolumeInfo
  /** The delivered volume: the stored one, or float when scaled. */
  readonly info: VolumeInfo
  /** Byte offset of the chosen volume's first voxel (in the decompressed stream for .gz). */
  readonly dataOffset: number
  /** Stored bytes of one slice. */
  readonly rawBytes: number
  /** Stored bytes of one voxel. */
  readonly width: number
  /** True when the file's byte order is not the host's. */
  readonly swap: boolean
  /** Voxels and stored bytes of one row. */
  readonly rowWidth: number
  readonly rowBytes: number
  /** True when scl_slope/scl_inter are applied. */
  readonly scaled: boolean
  readonly slope: number
  readonly inter: number
}

const sliceDecoding = (path: string, header: NiftiHeader, layout: Layout, scaled: boolean): SliceDecoding => {
  const stored = layout.stored
  const width = bytesPerVoxel(stored.dtype)
  const rowWidth = stored.shape[2]
  return {
    path,
    stored,
    info: scaled ? withDType(stored, scaledDtype(stored.dtype)) : stored,
    dataOffset: layout.dataOffset,
    rawBytes: sliceBytes(stored),
    width,
    swap: width > 1 && header.littleEndian !== HOST_LITTLE_ENDIAN,
    rowWidth,
    rowBytes: rowWidth * width,
    scaled,
    slope: header.sclSlope,
    inter: Number.isFinite(header.sclInter) ? header.sclInter : 0
  }
}

/** Converts stored bytes (already in host order) to the delivered voxels; unscaled, they already are. */
const deliver = (d: SliceDecoding, raw: Uint8Array, into: ArrayOf<DType>, voxels: number) => {
  if (!d.scaled) return
  const { slope, inter } = d
  const src = viewOf(d.stored.dtype, raw.buffer as ArrayBuffer, raw.byteOffset, voxels) as ArrayLike<number>
  const out = into as unknown as { [i: number]: number }
  for (let i = 0; i < voxels; i++) out[i] = src[i]! * slope + inter
}

/** A defect for a slice outside the volume (a caller's bug), else undefined. */
const checkZ = (d: SliceDecoding, z: number) => {
  const depth = d.stored.shape[0]
  return !Number.isInteger(z) || z < 0 || z >= depth ? Effect.die(new RangeError(`${d.path}: slice ${z} is outside 0…${depth - 1}`)) : undefined
}

/** A `.nii` reader: positional reads of slices or bands of rows. */
const openPlain = (d: SliceDecoding) =>
  Effect.map(openScoped(d.path, "r"), (fd): SliceReader => {
    const { path, rawBytes, rowWidth, rowBytes, width, scaled } = d
    const height = d.stored.shape[1]
    let bytesRead = 0
    // Scaling reads into a scratch buffer first; without it, straight into the caller's slice.
    const scratch = scaled ? new Uint8Array(rawBytes) : undefined
    const readSpan = (z: number, start: number, end: number, into: ArrayOf<DType>) => {
      const voxels = (end - start) * rowWidth
      const n = voxels * width
      if (into.length !== voxels) return Effect.die(new RangeError(`${path}: buffer has ${into.length} voxels, ${voxels} expected`))
      const view = scaled ? scratch!.subarray(0, n) : new Uint8Array(into.buffer, into.byteOffset, n)
      const position = d.dataOffset + z * rawBytes + start * rowBytes
      return Effect.flatMap(readAt(fd, path, view, position, z), (got) => {
        bytesRead += got
        if (got < n)
          return new FormatError({ path, position: `slice ${z}, byte ${position + got}`, detail: `the file ends ${n - got} bytes early (it was long enough when opened)` })
        if (d.swap) swapBytes(view, width)
        deliver(d, view, into, voxels)
        return Effect.void
      })
    }
    return {
      read: (z, into) => checkZ(d, z) ?? readSpan(z, 0, height, into),
      readRows: (z, rows, into) =>
        checkZ(d, z) ??
        (rows.start < 0 || rows.end > height || rows.start >= rows.end
          ? Effect.die(new RangeError(`${path}: rows ${rows.start}…${rows.end} outside 0…${height}`))
          : readSpan(z, rows.start, rows.end, into)),
      bytesRead: () => bytesRead
    }
  })

/**
 * A `.nii.gz` reader (`openGzSlices`): slices in order are decompressed as they come; the first
 * slice asked for out of order makes a raw copy of the whole volume in the spill directory
 * (removed with the scope), which serves that slice and every later one.
 */
const openGz = (d: SliceDecoding, gz: GzSlices) =>
  Effect.map(openGzSlices(gz, "nifti", "the header and extensions"), (gzReader): SliceReader => {
    const { path, rawBytes, scaled } = d
    const sliceBuf = scaled ? new Uint8Array(rawBytes) : undefined
    const read = (z: number, into: ArrayOf<DType>): Effect.Effect<void, IoError> =>
      checkZ(d, z) ??
      (into.byteLength !== sliceBytes(d.info)
        ? Effect.die(new RangeError(`${path}: slice buffer has ${into.byteLength} bytes, a slice has ${sliceBytes(d.info)}`))
        : Effect.uninterruptible(
            attempt(path, "read", async () => {
              const target = scaled ? sliceBuf! : new Uint8Array(into.buffer, into.byteOffset, rawBytes)
              await gzReader.read(z, target)
              if (d.swap) swapBytes(target, d.width)
              deliver(d, target, into, rawBytes / d.width)
            })
          ))
    return { read, bytesRead: gzReader.bytesRead }
  })

const makeSource = (
  path: string,
  header: NiftiHeader,
  layout: Layout,
  fileSize: number,
  gzScan: GzSlices | undefined,
  scaled: boolean
): NiftiSource => {
  const d = sliceDecoding(path, header, layout, scaled)
  const { rawBytes, rowBytes } = d
  const gz = gzScan !== undefined
  const details: Record<string, string | number | boolean> = {
    ...headerDetails(header),
    compression: gz ? "gzip" : "none",
    "file bytes": fileSize,
    ...(layout.volumes > 1 ? { volumes: `${layout.volumes} (reading volume ${layout.volume})` } : {}),
    scaled
  }
  const sliceReadBytes = gz ? (z: number) => gzScan.sliceCost[z] ?? 0 : () => rawBytes
  const source: NiftiSource = {
    format: gz ? "nifti-gz" : "nifti",
    path,
    info: d.info,
    details,
    sliceReadBytes,
    ...(gz
      ? {
          // What the gzip reader holds, and the scaled slice.
          readerBufferBytes: gzReaderBufferBytes(gzScan) + (scaled ? rawBytes : 0)
        }
      : { rowReadBytes: (_z: number, rows: RowRange) => (rows.end - rows.start) * rowBytes, readerBufferBytes: scaled ? rawBytes : 0 }),
    open: gz ? openGz(d, gzScan) : openPlain(d),
    niftiHeader: header,
    scaled
  }
  return source
}
