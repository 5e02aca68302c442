/**
 * TIFF slice sinks: one multi-page file, or a directory with one 2D file per slice. Output is
 * baseline TIFF (uncompressed strips, MinIsBlack, SampleFormat for signed and float dtypes,
 * little-endian), classic or BigTIFF. The whole layout is planned from the volume info, so slices
 * may be written in any order; output appears under its final name only on `commit`.
 *
 * With `compression: "deflate"` or `"lzw"` the strips are compressed (with predictor 2 for integer
 * dtypes, 3 for floats; see compressed.ts): a page's size is then known only once it is
 * compressed, so the file's IFDs go after the pages and are written at commit, slices still in any
 * order; these sinks take whole slices only and their `outputBytes` is the uncompressed size, an
 * estimate (`outputBytesExact: false`).
 *
 * @example
 * ```ts
 * const program = Effect.scoped(Effect.gen(function* () {
 *   const writer = yield* tiffFileSink("/out/vol.tif").create(info)
 *   for (let z = info.shape[0] - 1; z >= 0; z--) yield* writer.write(z, slices[z]!)
 *   yield* writer.commit
 * }))
 * ```
 */
import * as fs from "node:fs"
import * as nodePath from "node:path"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { bytesPerVoxel, type ArrayOf, type DType } from "../../algebra/dtype.js"
import type { VolumeInfo } from "../../algebra/volume.js"
import { checkReplaceableFile, checkReplaceableStack, commitDirectory, commitFile, pathKind, removeQuietly, temporaryName } from "../atomic.js"
import { FileError, fileError, FormatError, type IoError, UnsupportedError } from "../../algebra/io-errors.js"
import { attempt, closeFd, HOST_LITTLE_ENDIAN, makeDirectory, openFd, startFile, syncPath, usingFile, writeAt, writeFully, writevFully } from "../files.js"
import { allRows, rawRowSpan, requestProblem, RowTracker } from "../rows.js"
import type { ResumableWriter, RowRange, SliceSink, SliceWriter } from "../../algebra/slices.js"
import { tiffDrops } from "./description.js"
import { encodeMetadata, planTiffLayout, type LayoutOptions, type TiffLayout } from "./layout.js"
import { encodeHeader, encodeIfd, ifdBytes, pageEntries, sliceCompressor, type SliceCompressor, type TiffCompression } from "./compressed.js"

/** Options of the TIFF sinks; `bigtiff` defaults to "auto" (BigTIFF only past 4 GiB). */
export interface TiffWriteOptions extends LayoutOptions {
  /** Strip compression: "raw" (default), "deflate" or "lzw". */
  readonly compression?: TiffCompression
  /** deflate level 1…9 (default 6). */
  readonly level?: number
}

/** Options of a compressed TIFF sink. */
type CompressedOptions = TiffWriteOptions & { readonly compression: "deflate" | "lzw" }

const isCompressed = (options: TiffWriteOptions): options is CompressedOptions =>
  options.compression === "deflate" || options.compression === "lzw"

/** zlib's deflate state (default memLevel and window) and output chunk, per strip in flight. */
const DEFLATE_STATE_BYTES = 256 * 1024 + 16 * 1024
/** Strips node:zlib compresses at once: its thread pool's default size. */
const DEFLATE_THREADS = 4
/** The LZW encoder's string table (4096 × 256 32-bit entries). */
const LZW_TABLE_BYTES = 4096 * 256 * 4

const METADATA_BATCH = 1024 * 1024

const plan = (path: string, info: VolumeInfo, options: TiffWriteOptions): Effect.Effect<TiffLayout, IoError> =>
  Effect.try({
    try: () => planTiffLayout(info, options),
    catch: (e) => new UnsupportedError({ path, detail: e instanceof Error ? e.message : String(e) })
  })

const hostCheck = (path: string): Effect.Effect<void, IoError> =>
  HOST_LITTLE_ENDIAN ? Effect.void : Effect.fail(new UnsupportedError({ path, detail: "TIFF output needs a little-endian machine" }))

const bytesOf = (a: ArrayOf<DType>): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength)

/**
 * Checks writes and tracks which rows of which slices were written, for `commit`'s completeness
 * check, and whether the output was committed.
 */
const sliceTracker = (path: string, info: VolumeInfo) => {
  const [depth, height] = info.shape
  const rows = new RowTracker(depth, height)
  const missing = (): IoError | undefined => {
    const first = rows.firstIncomplete()
    if (first < 0) return undefined
    return new FormatError({
      path,
      position: `slice ${first}`,
      detail:
        `commit before every slice was written (${rows.complete()} of ${depth} written, slice ${first} ` +
        (rows.written(first) === 0 ? "missing)" : `has ${rows.written(first)} of ${height} rows)`),
      hint: "write each slice once, then commit"
    })
  }
  const tracker = {
    committed: false,
    /** Why slice z cannot be written now, if it cannot. */
    check: (z: number, data: ArrayOf<DType>): IoError | undefined =>
      requestProblem(path, info, z, data) ?? (tracker.committed ? alreadyCommitted(path) : undefined),
    checkRows: (z: number, range: RowRange, data: ArrayOf<DType>): IoError | undefined =>
      requestProblem(path, info, z, data, range) ?? (tracker.committed ? alreadyCommitted(path) : undefined),
    /** Rows of slice z written before this write. */
    before: (z: number) => rows.written(z),
    mark: (z: number, range: RowRange = allRows(info)) => rows.add(z, range),
    /**
     * `commit`: once, after every row of every slice; `finish` (uninterruptible: the rename happens
     * entirely or not at all) makes the output visible.
     */
    commit: (finish: Effect.Effect<void, IoError>): Effect.Effect<void, IoError> =>
      Effect.suspend(() => {
        if (tracker.committed) return Effect.fail(alreadyCommitted(path))
        const problem = missing()
        if (problem) return Effect.fail(problem)
        return Effect.uninterruptible(
          Effect.zipRight(
            finish,
            Effect.sync(() => {
              tracker.committed = true
            })
          )
        )
      })
  }
  return tracker
}
type SliceTracker = ReturnType<typeof sliceTracker>

const alreadyCommitted = (path: string) =>
  new FormatError({ path, position: "commit", detail: "the output was already committed", hint: "call commit once" })

/** How a single-file writer places slices in its open file; writes reach it checked. */
interface FilePlacement<D extends DType> {
  readonly write: (z: number, data: ArrayOf<D>) => Effect.Effect<void, IoError>
  readonly writeRows?: (z: number, rows: RowRange, data: ArrayOf<D>) => Effect.Effect<void, IoError>
  /** Commit's step before the file is closed and renamed. */
  readonly finish: Effect.Effect<void, IoError>
  readonly bytesWritten: () => number
}

/**
 * A writer of one file at `path`, written as a temporary (removed if the scope closes before
 * commit) that commit closes and renames over `path`. `prepare` plans it (before the existing
 * `path` is checked), `place` writes into the open file.
 */
const createSingleFileWriter = <D extends DType, P>(
  path: string,
  info: VolumeInfo<D>,
  prepare: Effect.Effect<P, IoError>,
  place: (planned: P, fd: number, slices: SliceTracker) => Effect.Effect<FilePlacement<D>, IoError>
) =>
  Effect.gen(function* () {
    yield* hostCheck(path)
    const planned = yield* prepare
    yield* checkReplaceableFile(path)
    const temporary = temporaryName(path)
    const slices = sliceTracker(path, info)
    let closed = false
    // Errors name the output, not its temporary.
    const fd = yield* Effect.acquireRelease(openFd(temporary, "wx", { operation: "create", shown: path }), (fd) =>
      Effect.zipRight(closed ? Effect.void : Effect.ignore(closeFd(fd, path)), slices.committed ? Effect.void : removeQuietly(temporary))
    )
    const placement = yield* place(planned, fd, slices)
    const { writeRows } = placement
    const writer: SliceWriter<D> = {
      write: (z, data) => {
        const bad = slices.check(z, data)
        return bad ? Effect.fail(bad) : placement.write(z, data)
      },
      ...(writeRows && {
        writeRows: (z: number, rows: RowRange, data: ArrayOf<D>) => {
          const bad = slices.checkRows(z, rows, data)
          return bad ? Effect.fail(bad) : writeRows(z, rows, data)
        }
      }),
      // Close first, so that a late write error fails the commit instead of leaving a damaged file.
      commit: slices.commit(
        Effect.gen(function* () {
          yield* placement.finish
          closed = true
          yield* closeFd(fd, path)
          yield* commitFile(temporary, path)
        })
      ),
      bytesWritten: placement.bytesWritten
    }
    return writer
  })

/** How a stack writer writes a slice's file; writes reach it checked. Both return the bytes written. */
interface StackPlacement<D extends DType> {
  /** Writes all of slice z into its new file (open at `fd`; `shown` names it in errors). */
  readonly writeFile: (fd: number, data: ArrayOf<D>, shown: string) => Promise<number>
  /** Writes rows of a slice into its file, `fresh` (just created) for the slice's first band. */
  readonly writeBand?: (fd: number, fresh: boolean, rows: RowRange, data: ArrayOf<D>) => Promise<number>
  /** Where a slice's voxels start in its file, when they are stored as they are in memory (uncompressed). */
  readonly voxelsAt?: number
}

/** For a resumable stack writer: the temporary directory to reopen, and whether to keep it if not committed. */
interface StackResume {
  readonly reuse: ReadonlyArray<string> | undefined
  readonly keep: () => boolean
}

/**
 * A writer of a directory `dir` of one file per slice, written into a temporary directory (removed
 * if the scope closes before commit) that commit renames over `dir`. `prepare` plans one slice's
 * file (before the existing `dir` is checked), `place` writes them.
 */
const createStackWriterWith = <D extends DType, P>(
  dir: string,
  info: VolumeInfo<D>,
  prepare: (one: VolumeInfo<D>) => Effect.Effect<P, IoError>,
  place: (planned: P, one: VolumeInfo<D>) => StackPlacement<D>,
  resume: StackResume = { reuse: undefined, keep: () => false }
): Effect.Effect<ResumableWriter<D>, IoError, Scope.Scope> =>
  Effect.gen(function* () {
    yield* hostCheck(dir)
    if (!(Number.isInteger(info.shape[0]) && info.shape[0] >= 1)) {
      return yield* Effect.fail(new UnsupportedError({ path: dir, detail: `depth is ${info.shape[0]}; a stack needs at least 1 slice` }))
    }
    const one: VolumeInfo<D> = { ...info, shape: [1, info.shape[1], info.shape[2]] }
    const planned = yield* prepare(one)
    yield* checkReplaceableStack(dir)
    const target = dir.replace(/[/\\]+$/, "") || dir
    const reused = resume.reuse?.[0]
    if (reused !== undefined && !reused.startsWith(`${target}.partial-`)) {
      return yield* new FormatError({ path: dir, position: "journal", detail: `${reused} is not a temporary of this output` })
    }
    const temporary = reused ?? temporaryName(target)
    const slices = sliceTracker(dir, info)
    // Resuming: the interrupted run's directory, which must still be there (ENOENT: start over).
    const made = reused === undefined ? makeDirectory(temporary, dir) : Effect.flatMap(pathKind(temporary), (kind) =>
      kind === "dir" ? Effect.void : Effect.fail(new FileError({ path: dir, operation: "open", code: "ENOENT", detail: `its temporary ${temporary} is gone` })))
    yield* Effect.acquireRelease(made, () => (slices.committed || resume.keep() ? Effect.void : removeQuietly(temporary)))
    const { writeFile, writeBand, voxelsAt } = place(planned, one)
    // Slices written since the last sync: their files are flushed, then the directory.
    const unsynced = new Set<number>()
    const depth = info.shape[0]
    let bytesWritten = 0
    const startWrite = (z: number, data: ArrayOf<D>) => {
      const bad = slices.check(z, data)
      if (bad) return Effect.fail(bad)
      const name = stackFileName(z, depth)
      // Errors name the file as it will be after commit.
      const shown = nodePath.join(target, name)
      return startFile(
        nodePath.join(temporary, name),
        "w",
        "write",
        async (fd) => {
          // Two writes may be in flight: add once this one is done (`x += await …` would add to
          // the count as it was when the write started, losing the other's bytes).
          const written = await writeFile(fd, data, shown)
          bytesWritten += written
          slices.mark(z)
          unsynced.add(z)
        },
        { operation: "create", shown }
      )
    }
    const writer: SliceWriter<D> = {
      write: (z, data) => Effect.suspend(() => startWrite(z, data)),
      startWrite,
      ...(writeBand && {
        writeRows: (z: number, rows: RowRange, data: ArrayOf<D>) => {
          const bad = slices.checkRows(z, rows, data)
          if (bad) return Effect.fail(bad)
          const name = stackFileName(z, depth)
          // The first band of a slice creates its file.
          const fresh = slices.before(z) === 0
          return usingFile(
            nodePath.join(temporary, name),
            fresh ? "w" : "r+",
            "write",
            async (fd) => {
              const written = await writeBand(fd, fresh, rows, data)
              bytesWritten += written
              slices.mark(z, rows)
              unsynced.add(z)
            },
            { operation: fresh ? "create" : "write", shown: nodePath.join(target, name) }
          )
        }
      }),
      commit: slices.commit(commitDirectory(temporary, target)),
      bytesWritten: () => bytesWritten
    }
    const sliceSize = info.shape[1] * info.shape[2] * bytesPerVoxel(info.dtype)
    const fileOf = (z: number) => nodePath.join(temporary, stackFileName(z, depth))
    return {
      ...writer,
      temporaries: [temporary],
      // Only uncompressed stacks are resumable (tiffStackSink's `resumable`): their voxels are at `voxelsAt`.
      readBack: (z: number, into: ArrayOf<D>) =>
        Effect.try({
          try: () => {
            if (voxelsAt === undefined) return false
            let fd: number
            try {
              fd = fs.openSync(fileOf(z), "r")
            } catch {
              return false
            }
            try {
              const view = new Uint8Array(into.buffer, into.byteOffset, sliceSize)
              return fs.readSync(fd, view, 0, sliceSize, voxelsAt) === sliceSize
            } finally {
              fs.closeSync(fd)
            }
          },
          catch: (e) => fileError(nodePath.join(target, stackFileName(z, depth)), "read", e)
        }),
      markWritten: (z: number) => slices.mark(z),
      sync: Effect.try({
        try: () => {
          for (const z of unsynced) syncPath(fileOf(z))
          unsynced.clear()
          syncPath(temporary)
        },
        catch: (e) => fileError(dir, "write", e)
      })
    }
  })

/**
 * A sink writing one multi-page TIFF at `path` (page z = slice z). BigTIFF is chosen when the file
 * would pass 4 GiB (or forced with `bigtiff: true`). The file is written as
 * `<path>.partial-<pid>-<random>` and renamed over `path` on commit; if the scope closes before,
 * the temporary is removed and an existing `path` stays as it was.
 *
 * @example
 * ```ts
 * const sink = tiffFileSink("/out/vol.tif", { bigtiff: "auto" })
 * sink.outputBytes(info)    // exact file size
 * ```
 */
export const tiffFileSink = (path: string, options: TiffWriteOptions = {}): SliceSink =>
  isCompressed(options)
    ? compressedSink("tiff", path, options, (info) => createCompressedFileWriter(path, info, options))
    : {
        format: "tiff",
        path,
        // 0 for volumes TIFF cannot hold (create fails for them).
        outputBytes: (info) => {
          try {
            return planTiffLayout(info, options).totalBytes
          } catch {
            return 0
          }
        },
        writesRows: true,
        drops: (info) => tiffDrops(info, options.description !== false),
        create: <D extends DType>(info: VolumeInfo<D>) => createFileWriter(path, info, options)
      }

/**
 * Writes the header and every IFD of `layout` at the start of the open file, in batches of about
 * 1 MiB so that huge page counts need no huge buffer; returns the bytes written. Uninterruptible,
 * as every use of a raw fd (../files.ts).
 */
const writeFileMetadata = (fd: number, path: string, layout: TiffLayout): Effect.Effect<number, IoError> =>
  Effect.uninterruptible(attempt(path, "write", async () => {
    let written = 0
    const batch = Math.max(1, Math.floor(METADATA_BATCH / Math.max(layout.ifdBytes(1), 1)))
    // The largest chunk: header, first IFD, a batch of IFDs and the padding before the data.
    const buffer = new Uint8Array(Math.min(layout.metadataBytes, 16 + layout.ifdBytes(0) + batch * layout.ifdBytes(1) + 4096))
    for (let from = 0; from < layout.depth; from += batch) {
      const to = Math.min(layout.depth, from + batch)
      const start = from === 0 ? 0 : layout.ifdOffset(from)
      const end = to === layout.depth ? layout.metadataBytes : layout.ifdOffset(to)
      const chunk = buffer.subarray(0, end - start)
      chunk.fill(0)
      encodeMetadata(layout, chunk, from, to)
      await writeFully(fd, chunk, start)
      written += chunk.length
    }
    return written
  }))

/** The header and every IFD first, then each slice's strips at their planned offsets. */
const createFileWriter = <D extends DType>(path: string, info: VolumeInfo<D>, options: TiffWriteOptions) =>
  createSingleFileWriter(path, info, plan(path, info, options), (layout, fd, slices) =>
    Effect.map(writeFileMetadata(fd, path, layout), (metadataBytes): FilePlacement<D> => {
      let bytesWritten = metadataBytes
      return {
        write: (z, data) =>
          Effect.zipRight(
            writeAt(fd, path, bytesOf(data), layout.dataOffset(z)),
            Effect.sync(() => {
              bytesWritten += layout.sliceBytes
              slices.mark(z)
            })
          ),
        writeRows: (z, rows, data) => {
          const span = rawRowSpan(info, 0, rows)
          return Effect.zipRight(
            writeAt(fd, path, bytesOf(data), layout.dataOffset(z) + span.offset),
            Effect.sync(() => {
              bytesWritten += span.bytes
              slices.mark(z, rows)
            })
          )
        },
        finish: Effect.void,
        bytesWritten: () => bytesWritten
      }
    })
  )

/**
 * The name of slice z's file in a stack: zero-padded to at least 5 digits, more for deeper volumes,
 * so that names sort in z order.
 *
 * @example
 * ```ts
 * stackFileName(7, 64)        // "slice_00007.tif"
 * stackFileName(7, 200000)    // "slice_000007.tif"
 * ```
 */
export const stackFileName = (z: number, depth: number): string =>
  `slice_${String(z).padStart(Math.max(5, String(depth - 1).length), "0")}.tif`

/**
 * A sink writing a directory `dir` of 2D TIFFs, one per slice (`slice_00000.tif`, …). The files are
 * written into `<dir>.partial-<pid>-<random>/`, which replaces `dir` on commit. An existing `dir` is
 * replaced only if it holds nothing but .tif/.tiff files; otherwise `create` fails with a FileError.
 *
 * @example
 * ```ts
 * const sink = tiffStackSink("/out/slices")
 * sink.outputBytes(info)    // exact total of all files
 * ```
 */
export const tiffStackSink = (dir: string, options: TiffWriteOptions = {}): SliceSink => {
  if (isCompressed(options)) return compressedSink("tiff-stack", dir, options, (info) => createCompressedStackWriter(dir, info, options))
  const planOne = (info: VolumeInfo) => planTiffLayout({ ...info, shape: [1, info.shape[1], info.shape[2]] }, options)
  return {
    format: "tiff-stack",
    path: dir,
    outputBytes: (info) => {
      try {
        return info.shape[0] >= 1 ? info.shape[0] * planOne(info).totalBytes : 0
      } catch {
        return 0
      }
    },
    writesRows: true,
    // One file per slice: the next can be created and written while the last is.
    writesInFlight: 2,
    drops: (info) => tiffDrops(info, options.description !== false),
    create: <D extends DType>(info: VolumeInfo<D>) => createStackWriter(dir, info, options),
    resumable: {
      create: <D extends DType>(info: VolumeInfo<D>, reuse: ReadonlyArray<string> | undefined, keep: () => boolean) =>
        createStackWriter(dir, info, options, { reuse, keep })
    }
  }
}

/** Each file: the header and IFD (the same in every file), then the slice's strips. */
const createStackWriter = <D extends DType>(dir: string, info: VolumeInfo<D>, options: TiffWriteOptions, resume?: StackResume) =>
  createStackWriterWith(
    dir,
    info,
    (one) => plan(dir, one, options),
    (layout): StackPlacement<D> => {
      // Every file has the same header and IFD: encode them once.
      const metadata = new Uint8Array(layout.metadataBytes)
      encodeMetadata(layout, metadata, 0, 1)
      return {
        voxelsAt: metadata.length,
        writeFile: async (fd, data) => {
          await writevFully(fd, [metadata, bytesOf(data)], 0)
          return layout.totalBytes
        },
        // The first band of a slice writes the header with it.
        writeBand: async (fd, fresh, rows, data) => {
          const span = rawRowSpan(info, 0, rows)
          if (fresh) await writeFully(fd, metadata, 0)
          await writeFully(fd, bytesOf(data), metadata.length + span.offset)
          return span.bytes + (fresh ? metadata.length : 0)
        }
      }
    },
    resume
  )

// ---------------------------------------------------------------------------------------------
// Compressed strips (deflate, LZW)

/** A compressed TIFF sink: whole slices, and the uncompressed size as its estimate. */
const compressedSink = (
  format: "tiff" | "tiff-stack",
  path: string,
  options: CompressedOptions,
  create: <D extends DType>(info: VolumeInfo<D>) => Effect.Effect<SliceWriter<D>, IoError, Scope.Scope>
): SliceSink => ({
  format: `${format}-${options.compression}`,
  path,
  outputBytes: (info) => {
    try {
      if (format === "tiff") return planTiffLayout(info, options).totalBytes
      return info.shape[0] * planTiffLayout({ ...info, shape: [1, info.shape[1], info.shape[2]] }, options).totalBytes
    } catch {
      return 0
    }
  },
  outputBytesExact: false,
  drops: (info) => tiffDrops(info, options.description !== false),
  writerBufferBytes: (info) => {
    const sliceBytes = info.shape[1] * info.shape[2] * bytesPerVoxel(info.dtype)
    // The predicted copy of a slice and its compressed output, plus the codec's own state.
    return 2 * sliceBytes + (options.compression === "lzw" ? LZW_TABLE_BYTES : DEFLATE_THREADS * DEFLATE_STATE_BYTES)
  },
  create
})

/** What a compressed writer needs to know of the volume: strips, description, the compressor. */
const compressedPlan = (path: string, info: VolumeInfo, options: CompressedOptions) =>
  Effect.gen(function* () {
    const level = options.level ?? 6
    if (options.compression === "deflate" && !(Number.isInteger(level) && level >= 1 && level <= 9))
      return yield* new UnsupportedError({ path, detail: `deflate level ${level}`, hint: "use 1…9" })
    if (options.compression === "lzw" && options.level !== undefined)
      return yield* new UnsupportedError({ path, detail: `LZW has no level (${options.level} given)`, hint: "use lzw without :LEVEL, or deflate:LEVEL" })
    // The uncompressed layout gives the strip height and the ImageJ description, as for raw output.
    const layout = yield* plan(path, info, { ...options, bigtiff: true })
    const compressor = sliceCompressor(info, { compression: options.compression, level }, layout.rowsPerStrip)
    return { layout, compressor }
  })

/** True when a file of `pages` pages of at most `pageBound` bytes each could pass classic TIFF's 4 GiB. */
const needsBigTiff = (options: TiffWriteOptions, c: SliceCompressor, info: VolumeInfo, pages: number, description: string | undefined) => {
  if (options.bigtiff === true) return true
  if (options.bigtiff === false) return false
  const zeros = new Array<number>(c.stripsPerPage).fill(0)
  const ifd = ifdBytes(pageEntries(c, info, zeros, zeros, true, description), true)
  return 16 + pages * (c.pageBound + ifd) > 0xffffffff
}

const tooBig = (path: string, end: number) =>
  new UnsupportedError({ path, detail: `the compressed file passes classic TIFF's 4 GiB limit (byte ${end})`, hint: "allow BigTIFF (bigtiff: true or \"auto\")" })

/**
 * Header, then each slice's compressed strips where the end of the file is when it arrives, then
 * at commit every IFD (in z order, page z = slice z) and the header pointing to the first.
 */
const createCompressedFileWriter = <D extends DType>(path: string, info: VolumeInfo<D>, options: CompressedOptions) =>
  createSingleFileWriter(
    path,
    info,
    Effect.map(compressedPlan(path, info, options), ({ layout, compressor }) => ({
      layout,
      compressor,
      big: needsBigTiff(options, compressor, info, info.shape[0], layout.description)
    })),
    ({ layout, compressor, big }, fd, slices) =>
      Effect.gen(function* () {
        const depth = info.shape[0]
        const header = encodeHeader(big, 0)
        yield* writeAt(fd, path, header, 0)
        let end = header.length
        let bytesWritten = header.length
        // Where each page's strips start, and their sizes (page z's at z · stripsPerPage).
        const pageStart = new Float64Array(depth)
        const counts = new Uint32Array(depth * compressor.stripsPerPage)
        const write = (z: number, data: ArrayOf<D>): Effect.Effect<void, IoError> =>
          Effect.uninterruptible(
            attempt(path, "write", async () => {
              const page = await compressor.compress(bytesOf(data))
              // Reserved before the write's first await, so concurrent writes never overlap.
              const at = end
              end += page.total
              if (!big && end > 0xffffffff) throw tooBig(path, end)
              try {
                await writevFully(fd, page.parts, at)
              } finally {
                compressor.release(page)
              }
              pageStart[z] = at
              counts.set(page.counts, z * compressor.stripsPerPage)
              bytesWritten += page.total
              slices.mark(z)
            })
          )
        // The IFDs after the last page (2-aligned), batched into writes of about 1 MiB.
        const writeIfds = attempt(path, "write", async () => {
          const n = compressor.stripsPerPage
          const offsets = new Array<number>(n)
          const entriesOf = (z: number) => {
            let o = pageStart[z]!
            for (let s = 0; s < n; s++) {
              offsets[s] = o
              o += counts[z * n + s]!
            }
            return pageEntries(compressor, info, offsets, Array.from(counts.subarray(z * n, (z + 1) * n)), big, z === 0 ? layout.description : undefined)
          }
          const first = end + (end & 1)
          let at = first
          let batch: Array<Uint8Array> = []
          let batchAt = at
          let batchBytes = 0
          for (let z = 0; z < depth; z++) {
            const entries = entriesOf(z)
            const size = ifdBytes(entries, big)
            const next = z + 1 < depth ? at + size + (size & 1) : 0
            const ifd = encodeIfd(entries, big, at, next)
            batch.push(ifd)
            if (size & 1) batch.push(new Uint8Array(1))
            batchBytes += size + (size & 1)
            at += size + (size & 1)
            if (batchBytes >= METADATA_BATCH || z === depth - 1) {
              await writevFully(fd, batch, batchAt)
              batch = []
              batchAt = at
              batchBytes = 0
            }
          }
          if (!big && at > 0xffffffff) throw tooBig(path, at)
          await writeFully(fd, encodeHeader(big, first), 0)
          bytesWritten += at - end
          end = at
        })
        const placement: FilePlacement<D> = { write, finish: writeIfds, bytesWritten: () => bytesWritten }
        return placement
      })
  )

/** One file per slice: header, IFD, then the compressed strips. */
const createCompressedStackWriter = <D extends DType>(dir: string, info: VolumeInfo<D>, options: CompressedOptions) =>
  createStackWriterWith(dir, info, (one) => compressedPlan(dir, one, options), ({ layout, compressor }, one): StackPlacement<D> => {
    const big = needsBigTiff(options, compressor, one, 1, layout.description)
    const header = encodeHeader(big, big ? 16 : 8)
    const zeros = new Array<number>(compressor.stripsPerPage).fill(0)
    const ifdSize = ifdBytes(pageEntries(compressor, one, zeros, zeros, big, layout.description), big)
    const dataStart = header.length + ifdSize + (ifdSize & 1)
    return {
      writeFile: async (fd, data, shown) => {
        const page = await compressor.compress(bytesOf(data))
        try {
          const offsets: Array<number> = []
          let o = dataStart
          for (const c of page.counts) {
            offsets.push(o)
            o += c
          }
          if (!big && o > 0xffffffff) throw tooBig(shown, o)
          const ifd = encodeIfd(pageEntries(compressor, one, offsets, page.counts, big, layout.description), big, header.length, 0)
          await writevFully(fd, [header, ifd, new Uint8Array(dataStart - header.length - ifd.length), ...page.parts], 0)
          return o
        } finally {
          compressor.release(page)
        }
      }
    }
  })
