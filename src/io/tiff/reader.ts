/**
 * TIFF slice sources: a multi-page file (page i = slice z = i) or a directory of 2D files (one per
 * z, in natural name order). Metadata is parsed when the source is opened; a reader then reads
 * only pixel data, so `bytesRead` grows by exactly `sliceReadBytes(z)` per slice.
 *
 * @example
 * ```ts
 * const program = Effect.gen(function* () {
 *   const src = yield* openTiffFile("/data/brain.tif")
 *   const slice = allocSlice(src.info.dtype, sliceLength(src.info))
 *   yield* Effect.scoped(Effect.flatMap(src.open, (r) => r.read(0, slice)))
 * })
 * ```
 */
import * as nodePath from "node:path"
import * as Effect from "effect/Effect"
import type { ArrayOf, DType } from "../../algebra/dtype.js"
import { volumeInfo } from "../../algebra/volume.js"
import { FileError, FormatError, type IoError, UnsupportedError } from "../../algebra/io-errors.js"
import { attempt, begin, checkFileSync, HOST_LITTLE_ENDIAN, ioErrorOf, listDirectory, openScoped, startFile, statFd, withFd } from "../files.js"
import { requestProblem } from "../rows.js"
import type { RowRange, SliceReader, SliceSource } from "../../algebra/slices.js"
import { BlockScratch, pageRowReadBytes, readPageInto, readPageRowsInto, type ReadStrategy } from "./blocks.js"
import { axesText, KIND_NAMES, plainAxes, selectPlanes, type PageAxes } from "./axes.js"
import { inspectTiff, isLaidOutLike, pageDetails, physicalOf, type InspectedTiff } from "./inspect.js"
import { naturalCompare } from "./natural.js"
import type { TiffPage } from "./page.js"

export interface TiffReadOptions {
  /** How uncompressed strips reach the slice buffer (default "auto"); see ReadStrategy. */
  readonly strategy?: ReadStrategy
  /** Files of a stack inspected at once when the source is opened (default 8). */
  readonly concurrency?: number
  /** The channel of a multi-channel hyperstack or OME-TIFF. */
  readonly c?: number
  /** The time point of a multi-time hyperstack or OME-TIFF. */
  readonly t?: number
  /** Describe only: a multi-channel or multi-time file without a choice opens its first (see SourceOptions). */
  readonly describe?: boolean
}

const hostCheck: Effect.Effect<void, IoError> = HOST_LITTLE_ENDIAN
  ? Effect.void
  : Effect.fail(new UnsupportedError({ path: "(host)", detail: "TIFF I/O needs a little-endian machine" }))

/**
 * Runs async `use` on the open raw `fd` of `path` as an Effect ("read" failures). Uninterruptible:
 * the fd must not be closed while a read of `use` is still in the kernel (see ../files.ts).
 */
const usingFd = <A>(path: string, use: () => Promise<A>): Effect.Effect<A, IoError> =>
  Effect.uninterruptible(attempt(path, "read", use))

/** Opens `path`, checks it is a regular file, and runs `use` on the fd and its size; always closes. */
const withFile = <A>(path: string, use: (fd: number, size: number) => Promise<A>): Effect.Effect<A, IoError> =>
  withFd(path, "r", (fd) =>
    Effect.flatMap(statFd(fd, path), (stat) =>
      stat.isFile()
        ? usingFd(path, () => use(fd, stat.size))
        : Effect.fail(new FileError({ path, operation: "open", detail: "not a regular file" }))
    )
  )

const bytesOf = (a: ArrayOf<DType>): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength)

/**
 * Reads `page` of the open `fd` into the slice `into`, through a scratch taken from `pool` (one per
 * concurrent read, put back afterwards), and reports the bytes read from the file to `counted`.
 * Run it through `begin` or `startFile`: the fd must stay open until it settles.
 */
const readSlice = async (
  fd: number,
  path: string,
  page: TiffPage,
  into: ArrayOf<DType>,
  pool: BlockScratch[],
  strategy: ReadStrategy,
  counted: (bytes: number) => void,
  rows?: RowRange
): Promise<void> => {
  const scratch = pool.pop() ?? new BlockScratch()
  try {
    counted(
      rows === undefined
        ? await readPageInto(fd, path, page, bytesOf(into), scratch, strategy)
        : await readPageRowsInto(fd, path, page, rows, bytesOf(into), scratch, strategy)
    )
  } catch (e) {
    // A failed read (EIO) names the page as well as the byte; typed errors pass as they are.
    throw ioErrorOf(path, "read", e, page.label)
  } finally {
    pool.push(scratch)
  }
}

/**
 * Opens a multi-page TIFF (classic or BigTIFF, either byte order) as a slice source: page i is
 * slice z = i; reduced-resolution pages are skipped. Every page must have the same size and dtype.
 * ImageJ hyperstacks, OME-TIFF and tifffile's shaped files are read as their descriptions say: one
 * channel (`c`) at one time point (`t`) is streamed, and a file with several of either is refused
 * unless one is chosen (or `describe` is set: then the first is opened). Only the chosen
 * channel's pages are read. Spacing, unit and origin come from the description and the
 * resolution tags (see physical.ts).
 *
 * @example
 * ```ts
 * const src = yield* openTiffFile("/data/em.tif")
 * src.info          // { dtype: "uint8", shape: [z, y, x], spacing: [zs, ys, xs], geometry? }
 * src.details       // { pages, compression, byteOrder, bigtiff, stripsPerPage, axes: "ZYX 64×512×512", … }
 * const green = yield* openTiffFile("/data/hyper.tif", { c: 1 })   // channel 1 of a hyperstack
 * ```
 */
export const openTiffFile = (path: string, options: TiffReadOptions = {}): Effect.Effect<SliceSource, IoError> =>
  Effect.gen(function* () {
    yield* hostCheck
    const tiff = yield* withFile(path, (fd, size) => inspectTiff(fd, path, size, undefined, false, options.describe === true))
    const chosen = yield* selectPlanes(path, tiff.axes, options)
    const pages = yield* planePages(path, tiff, chosen)
    const first = pages[0]!
    const { spacing, geometry, notes } = physicalOf(tiff, chosen.c, chosen.t)
    const info = volumeInfo(first.dtype, [pages.length, first.height, first.width], spacing, geometry)
    const strategy = options.strategy ?? "auto"
    const details = { pages: tiff.pages.length, ifds: tiff.ifdCount, ...pageDetails(tiff), ...axesDetails(tiff.axes, chosen), ...(notes.length > 0 && { geometryNotes: notes.join("; ") }) }
    const open = Effect.map(
      openScoped(path, "r"),
      (fd): SliceReader => {
        let bytesRead = 0
        // One scratch per concurrent read; reused afterwards.
        const pool: BlockScratch[] = []
        // A whole slice, or rows of it.
        const startPart = (z: number, into: ArrayOf<DType>, rows?: RowRange) => {
          const bad = requestProblem(path, info, z, into, rows)
          if (bad) return Effect.fail(bad)
          return begin(path, "read", () => readSlice(fd, path, pages[z]!, into, pool, strategy, (n) => (bytesRead += n), rows))
        }
        return {
          read: (z, into) => Effect.suspend(() => startPart(z, into)),
          readRows: (z, rows, into) => Effect.suspend(() => startPart(z, into, rows)),
          startRead: startPart,
          bytesRead: () => bytesRead
        }
      }
    )
    const source: SliceSource = {
      format: "tiff",
      path,
      info,
      details,
      sliceReadBytes: (z) => pages[z]?.readBytes ?? 0,
      rowReadBytes: (z, rows) => pageRowReadBytes(pages[z]!, rows),
      open
    }
    return source
  })

/** The pages of the chosen planes, z order; a plane the file lacks is a FormatError naming it. */
const planePages = (
  path: string,
  tiff: InspectedTiff,
  chosen: { readonly c: number; readonly t: number; readonly planes: ReadonlyArray<number> }
): Effect.Effect<ReadonlyArray<TiffPage>, IoError> => {
  const pages: TiffPage[] = []
  for (let z = 0; z < chosen.planes.length; z++) {
    const page = tiff.pages[chosen.planes[z]!]
    if (page === undefined) {
      return Effect.fail(
        new FormatError({
          path,
          position: `plane z ${z}, channel ${chosen.c}, time ${chosen.t}`,
          detail: `${axesText(tiff.axes)} (${KIND_NAMES[tiff.axes.kind] ?? tiff.axes.kind}) names this plane, but no full-resolution page of the file holds it`,
          hint: "the file is truncated, or its description does not match its pages"
        })
      )
    }
    pages.push(page)
  }
  return Effect.succeed(pages)
}

/** `slicewise info` facts of the axes: all of them with their sizes, and the channel and time read. */
const axesDetails = (axes: PageAxes, chosen: { readonly c: number; readonly t: number }): Record<string, string> => ({
  axes: axesText(axes),
  ...(axes.note !== undefined && { axesNote: axes.note }),
  ...(axes.c > 1 && { channel: `${chosen.c} of ${axes.c}` }),
  ...(axes.t > 1 && { time: `${chosen.t} of ${axes.t}` })
})

const TIFF_NAME = /\.tiff?$/i

/** Largest metadata read for the 2D files of a stack: their IFDs sit together, usually in 4 KiB. */
const STACK_CHUNK = 16 * 1024

/**
 * The .tif/.tiff files of `dir` (any case), in natural order (img2 before img10).
 *
 * @example
 * ```ts
 * yield* listTiffFiles("/data/scan")   // ["img1.tif", "img2.tif", "img10.TIF"]
 * ```
 */
export const listTiffFiles = (dir: string): Effect.Effect<ReadonlyArray<string>, IoError> =>
  Effect.map(
    listDirectory(dir),
    (entries) => entries.filter((e) => !e.isDirectory() && TIFF_NAME.test(e.name)).map((e) => e.name).sort(naturalCompare)
  )

/**
 * Inspects every file of a stack. The first file is parsed and its metadata bytes kept; a file
 * with the same size and bytes there parses the same. Those files are recognised in one
 * synchronous sweep (an open, a stat and a read of a few KiB each), because an effect per file
 * costs more than the check (docs/BENCHMARKS.md, "Copy and threshold: reads and writes in flight
 * without a fiber per slice"); the others are parsed one by one, which also reports what is wrong
 * with them.
 */
const inspectStack = (files: ReadonlyArray<string>, options: TiffReadOptions): Effect.Effect<ReadonlyArray<InspectedTiff>, IoError> =>
  Effect.gen(function* () {
    const head = yield* withFile(files[0]!, (fd, size) => inspectTiff(fd, files[0]!, size, STACK_CHUNK, true))
    const alike = yield* Effect.sync(() => files.map((file, z) => z > 0 && checkFileSync(file, (fd, size) => isLaidOutLike(head, fd, size))))
    const parsed = yield* Effect.forEach(
      files.filter((_, z) => z > 0 && !alike[z]),
      (file) => withFile(file, (fd, size) => inspectTiff(fd, file, size, STACK_CHUNK)),
      { concurrency: options.concurrency ?? 8 }
    )
    let next = 0
    return files.map((file, z): InspectedTiff => (z === 0 ? head : alike[z] ? { ...head, path: file } : parsed[next++]!))
  })

/** The page of each file of a stack: one full-resolution page per file, all of the first's size and dtype. */
const stackPages = (inspected: ReadonlyArray<InspectedTiff>, firstName: string): Effect.Effect<ReadonlyArray<TiffPage>, FormatError> =>
  Effect.gen(function* () {
    const pages: TiffPage[] = []
    const first = inspected[0]!.pages[0]!
    for (let z = 0; z < inspected.length; z++) {
      const t: InspectedTiff = inspected[z]!
      const page = t.pages[0]!
      if (t.pages.length !== 1) {
        return yield* Effect.fail(
          new FormatError({
            path: t.path,
            position: `file ${z} of the stack`,
            detail: `holds ${t.pages.length} full-resolution pages, a stack needs one 2D image per file`,
            hint: "open a multi-page file with openTiffFile"
          })
        )
      }
      if (page.width !== first.width || page.height !== first.height || page.dtype !== first.dtype) {
        return yield* Effect.fail(
          new FormatError({
            path: t.path,
            position: `file ${z} of the stack`,
            detail: `is ${page.height}×${page.width} ${page.dtype}, but ${firstName} is ${first.height}×${first.width} ${first.dtype}`,
            hint: "every file of a stack must have the same size and dtype"
          })
        )
      }
      pages.push(page)
    }
    return pages
  })

/** Facts for `slicewise info`: the first file's, and what differs between files. */
const stackDetails = (names: ReadonlyArray<string>, inspected: ReadonlyArray<InspectedTiff>) => {
  const head = inspected[0]!
  const compressions = new Set(inspected.map((t) => String(pageDetails(t).compression)))
  return {
    files: names.length,
    firstFile: names[0]!,
    lastFile: names[names.length - 1]!,
    ...pageDetails(head),
    compression: [...compressions].join("+"),
    bigtiff: inspected.some((t) => t.header.bigTiff),
    byteOrder: new Set(inspected.map((t) => t.header.littleEndian)).size === 1 ? String(pageDetails(head).byteOrder) : "mixed"
  }
}

/**
 * Opens a directory of 2D TIFF files (*.tif, *.tiff, any case) as a slice source, one file per z
 * in natural order (img2 before img10). Each file must hold one full-resolution page, all of the
 * same size and dtype.
 *
 * @example
 * ```ts
 * const src = yield* openTiffStack("/data/scan/")   // scan/img1.tif, scan/img2.tif, …
 * src.info.shape                                     // [files, height, width]
 * ```
 */
export const openTiffStack = (dir: string, options: TiffReadOptions = {}): Effect.Effect<SliceSource, IoError> =>
  Effect.gen(function* () {
    yield* hostCheck
    const names = yield* listTiffFiles(dir)
    if (names.length === 0) {
      return yield* Effect.fail(
        new FormatError({
          path: dir,
          position: "directory",
          detail: "holds no .tif or .tiff files",
          hint: "a TIFF stack is a directory of 2D TIFF files, one per slice; for a multi-page file use its path"
        })
      )
    }
    const files = names.map((n) => nodePath.join(dir, n))
    const inspected = yield* inspectStack(files, options)
    const pages = yield* stackPages(inspected, names[0]!)
    const first = pages[0]!
    // A stack is one channel at one time point: a choice other than 0 is out of range.
    yield* selectPlanes(dir, plainAxes(pages.length, first.height, first.width), options)
    const info = volumeInfo(first.dtype, [pages.length, first.height, first.width], inspected[0]!.spacing, inspected[0]!.geometry)
    const strategy = options.strategy ?? "auto"
    const details = stackDetails(names, inspected)
    const open = Effect.sync((): SliceReader => {
      let bytesRead = 0
      const pool: BlockScratch[] = []
      // A whole slice, or rows of it. Files are opened per read: a stack may hold more files than
      // a process may keep open.
      const startPart = (z: number, into: ArrayOf<DType>, rows?: RowRange) => {
        const bad = requestProblem(dir, info, z, into, rows)
        if (bad) return Effect.fail(bad)
        const file = files[z]!
        return startFile(file, "r", "read", (fd) => readSlice(fd, file, pages[z]!, into, pool, strategy, (n) => (bytesRead += n), rows))
      }
      return {
        read: (z, into) => Effect.suspend(() => startPart(z, into)),
        readRows: (z, rows, into) => Effect.suspend(() => startPart(z, into, rows)),
        startRead: startPart,
        bytesRead: () => bytesRead
      }
    })
    const source: SliceSource = {
      format: "tiff-stack",
      path: dir,
      info,
      details,
      sliceReadBytes: (z) => pages[z]?.readBytes ?? 0,
      rowReadBytes: (z, rows) => pageRowReadBytes(pages[z]!, rows),
      open
    }
    return source
  })
