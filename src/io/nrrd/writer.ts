/**
 * Writing NRRD volumes slice by slice, atomically: raw (positional, any order, rows too) or
 * gzip-encoded (one gzip stream through node:zlib, in z order: slices that arrive ahead of their
 * turn wait in a raw side file, as for `.nii.gz`).
 *
 * The output is written under temporary names next to the target
 * (`<name>.partial-<pid>-<random>`), slices at their final offsets in any order, and renamed to
 * the final names by `commit`. A scope that closes without a commit (failure, interruption, a
 * pipeline that stopped early) closes the files and removes the temporaries, so a half-written
 * volume never appears under the name a user asked for.
 *
 * @example
 * ```ts
 * const sink = nrrdSink("out/labels.nhdr", { endian: "big" })   // labels.nhdr + labels.raw
 * sink.outputBytes(info)                                          // header + data, exactly
 * yield* Effect.scoped(Effect.gen(function* () {
 *   const w = yield* sink.create(info)
 *   for (const z of [2, 0, 1]) yield* w.write(z, slices[z])
 *   yield* w.commit                                                // visible under its name from here
 * }))
 * ```
 */
import * as nodePath from "node:path"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { bytesPerVoxel, type ArrayOf, type DType } from "../../algebra/dtype.js"
import { sliceBytes, volumeBytes, type VolumeInfo } from "../../algebra/volume.js"
import { removeTemporary, temporaryName, temporarySuffix } from "../atomic.js"
import { FormatError, UnsupportedError, type IoError } from "../../algebra/io-errors.js"
import { attempt, closeFd, HOST_LITTLE_ENDIAN, openFd, readAt, renameFile, swapBytes, syncFd, truncateFd, writeAt } from "../files.js"
import { allRows, rawRowSpan, RowTracker, rowsProblem } from "../rows.js"
import type { ResumableWriter, RowRange, SliceSink, SliceWriter } from "../../algebra/slices.js"
import { DEFLATE_STATE_BYTES, gzSliceStream } from "../gzip.js"
import { formatNrrdHeader, type NrrdEncoding, type NrrdEndian } from "./header.js"

export interface NrrdSinkOptions {
  /** Byte order of the written data; little-endian (what nearly every machine uses) by default. */
  readonly endian?: NrrdEndian
  /** raw (default) or gzip (`encoding: gzip`, what 3D Slicer writes). */
  readonly encoding?: NrrdEncoding
  /** gzip level 1…9 (default 6, as gzip and Teem). */
  readonly level?: number
}

/** The files one output consists of, and where its data start. */
interface OutputPlan {
  readonly detached: boolean
  readonly headerPath: string
  readonly dataPath: string
  readonly header: Uint8Array
  /** Byte offset of slice 0 in the data file. */
  readonly dataOffset: number
}

const planOutput = (path: string, info: VolumeInfo, endian: NrrdEndian, encoding: NrrdEncoding = "raw"): OutputPlan => {
  const detached = nodePath.extname(path).toLowerCase() === ".nhdr"
  const dataPath = detached ? path.slice(0, -".nhdr".length) + (encoding === "gzip" ? ".raw.gz" : ".raw") : path
  // The header names its data file relative to itself, so the pair can be moved together.
  const text = formatNrrdHeader(info, detached ? { endian, encoding, dataFile: nodePath.basename(dataPath) } : { endian, encoding })
  const header = Buffer.from(text, "utf8")
  return { detached, headerPath: path, dataPath, header, dataOffset: detached ? 0 : header.length }
}

/** What the scope's finalizer must undo if the output is never committed. */
interface Pending {
  /** Open fds by the (temporary) path they were opened with. */
  readonly fds: Map<string, number>
  /** Temporary files created so far. */
  readonly temps: Array<string>
  /** Final names already renamed into place by a commit that then failed. */
  readonly renamed: Array<string>
  committed: boolean
  /** True when the temporaries must outlive an uncommitted scope (an interrupted resumable run). */
  readonly keep: () => boolean
}

const closeAll = (p: Pending): Effect.Effect<void> =>
  Effect.forEach([...p.fds], ([path, fd]) => {
    p.fds.delete(path)
    return Effect.ignore(closeFd(fd, path))
  }, { discard: true })

const cleanUp = (p: Pending): Effect.Effect<void> =>
  Effect.zipRight(
    closeAll(p),
    p.committed || p.keep()
      ? Effect.void
      : Effect.forEach([...p.temps, ...p.renamed], (f) =>
          Effect.catchAll(removeTemporary(f), (e) => Effect.logWarning(`slicewise: could not remove ${f}: ${e.message}`)),
        { discard: true })
  )

/**
 * A sink that writes a NRRD0004 volume: `<name>.nhdr` writes a detached header and its data
 * to `<name>.raw` (`<name>.raw.gz` for gzip) beside it; any other name (normally `.nrrd`) holds
 * header and data in one file. The header records type, sizes, the spacing (as axis-aligned
 * `space directions`), byte order (little-endian unless `options.endian` is "big") and the
 * encoding (raw unless `options.encoding` is "gzip").
 *
 * Raw: `outputBytes(info)` is the exact size of all files written, header included, and
 * `bytesWritten()` reaches it when every slice has been written. gzip: `outputBytes` is the
 * uncompressed size, an estimate (`outputBytesExact: false`); `bytesWritten()` counts what was
 * written. A gzip output takes whole slices only (no `writeRows`).
 *
 * @example
 * ```ts
 * const sink = nrrdSink("result.nrrd")
 * yield* copy(yield* openNrrd("input.nhdr"), sink)   // see SliceSource in algebra/slices.ts
 * ```
 */
export const nrrdSink = (path: string, options: NrrdSinkOptions = {}): SliceSink => {
  const endian = options.endian ?? "little"
  const encoding = options.encoding ?? "raw"
  if (encoding === "gzip")
    return {
      format: "nrrd-gz",
      path,
      outputBytes: (info) => planOutput(path, info, endian, encoding).header.length + volumeBytes(info),
      outputBytesExact: false,
      writerBufferBytes: (info) => sliceBytes(info) + DEFLATE_STATE_BYTES,
      create: <D extends DType>(info: VolumeInfo<D>) => createGzWriter(path, info, endian, options.level ?? 6)
    }
  return {
    format: "nrrd",
    path,
    outputBytes: (info) => planOutput(path, info, endian).header.length + volumeBytes(info),
    writesRows: true,
    create: <D extends DType>(info: VolumeInfo<D>) => createWriter(path, info, endian),
    resumable: {
      create: <D extends DType>(info: VolumeInfo<D>, reuse: ReadonlyArray<string> | undefined, keep: () => boolean) =>
        createWriter(path, info, endian, { reuse, keep })
    }
  }
}

/** The temporaries of one output: the data file (the whole output, when attached) and the header's. */
interface Temporaries {
  readonly dataFd: number
  readonly tempData: string
  /** The temporary header; `tempData` itself when the header is attached. */
  readonly tempHeader: string
  /** The suffix that makes the temporaries' names. */
  readonly suffix: string
}

/**
 * Creates the output's temporaries beside their targets, writes the header and gives the data file
 * its final length (sparse), so that slices land at their offsets in any order.
 */
const createTemporaries = (
  plan: OutputPlan,
  info: VolumeInfo,
  pending: Pending,
  sized = true,
  reuse?: ReadonlyArray<string>
): Effect.Effect<Temporaries, IoError> =>
  Effect.gen(function* () {
    // One suffix for both files of a detached output: the temporaries are recognisably one set.
    const reused = reuse?.[0]
    if (reused !== undefined && !reused.startsWith(plan.dataPath + ".partial-")) {
      return yield* new FormatError({ path: plan.headerPath, position: "journal", detail: `${reused} is not a temporary of this output` })
    }
    const suffix = reused === undefined ? temporarySuffix() : reused.slice(plan.dataPath.length)
    const tempData = temporaryName(plan.dataPath, suffix)
    const tempHeader = plan.detached ? temporaryName(plan.headerPath, suffix) : tempData
    // Registering the fd must not be separable from opening it, or an interruption in between
    // would leak it; "wx" refuses to reuse a file that is somehow already there.
    const create = (p: string) =>
      Effect.uninterruptible(
        Effect.tap(
          Effect.suspend(() => {
            pending.temps.push(p)
            // Resuming: the temporaries of the interrupted run, written in place ("r+" keeps their bytes).
            return reused === undefined ? openFd(p, "wx", { operation: "create" }) : openFd(p, "r+", { shown: plan.headerPath })
          }),
          (fd) => Effect.sync(() => pending.fds.set(p, fd))
        )
      )
    const dataFd = yield* create(tempData)
    if (plan.detached) {
      const headerFd = yield* create(tempHeader)
      yield* writeAt(headerFd, tempHeader, plan.header, 0)
      pending.fds.delete(tempHeader)
      yield* closeFd(headerFd, tempHeader)
    } else {
      yield* writeAt(dataFd, tempData, plan.header, 0)
    }
    if (sized) yield* truncateFd(dataFd, tempData, plan.dataOffset + volumeBytes(info))
    return { dataFd, tempData, tempHeader, suffix }
  })

/**
 * Writes rows of a slice at their place in the data file, in the file's byte order, and reports
 * each completed write to `done`. Swapping goes through one reusable buffer (the caller's slice
 * must not be modified); a write that finds it in use by a concurrent write allocates its own.
 */
const spanWriter = <D extends DType>(
  plan: OutputPlan,
  info: VolumeInfo<D>,
  files: Temporaries,
  swap: boolean,
  done: (z: number, rows: RowRange, bytes: number) => void
) => {
  const { dataFd, tempData } = files
  const voxelWidth = bytesPerVoxel(info.dtype)
  let spare: Uint8Array | undefined
  return (z: number, rows: RowRange, data: ArrayOf<D>): Effect.Effect<void, IoError> => {
    const span = rawRowSpan(info, z, rows)
    const view = new Uint8Array(data.buffer, data.byteOffset, span.bytes)
    const position = plan.dataOffset + span.offset
    const record = Effect.sync(() => done(z, rows, span.bytes))
    if (!swap) return Effect.zipRight(writeAt(dataFd, tempData, view, position), record)
    return Effect.suspend(() => {
      const scratch = spare !== undefined && spare.length >= span.bytes ? spare : new Uint8Array(Math.max(span.bytes, spare?.length ?? 0))
      spare = undefined
      const part = scratch.subarray(0, span.bytes)
      part.set(view)
      swapBytes(part, voxelWidth)
      return Effect.ensuring(
        Effect.zipRight(writeAt(dataFd, tempData, part, position), record),
        Effect.sync(() => {
          spare = scratch
        })
      )
    })
  }
}

/** Closes the temporaries and renames them to their final names, the header last. */
const renameIntoPlace = (plan: OutputPlan, files: Temporaries, pending: Pending): Effect.Effect<void, IoError> =>
  Effect.gen(function* () {
    // Close before renaming so that a late write error (e.g. ENOSPC on a network file system,
    // reported at close) fails the commit instead of leaving a damaged file in place.
    for (const [p, fd] of [...pending.fds]) {
      pending.fds.delete(p)
      yield* closeFd(fd, p)
    }
    // The header declares the output, so it is renamed last: a reader never sees a header
    // whose data file is not yet in place.
    if (plan.detached) {
      yield* renameFile(files.tempData, plan.dataPath)
      pending.renamed.push(plan.dataPath)
      yield* renameFile(files.tempHeader, plan.headerPath)
    } else {
      yield* renameFile(files.tempData, plan.dataPath)
    }
    pending.committed = true
  })

/**
 * What every NRRD writer starts with: a shape it can write, the output's plan, and its temporary
 * files, removed with the scope unless committed (`sized`: the data file takes its final size).
 */
const beginOutput = (
  path: string,
  info: VolumeInfo,
  endian: NrrdEndian,
  encoding: NrrdEncoding,
  sized: boolean,
  resume: ResumeFiles = {}
) =>
  Effect.gen(function* () {
    if (!info.shape.every((n) => Number.isSafeInteger(n) && n >= 1))
      return yield* new UnsupportedError({ path, detail: `shape ${info.shape.join("×")}: every axis needs at least one voxel` })
    const plan = planOutput(path, info, endian, encoding)
    const pending: Pending = { fds: new Map(), temps: [], renamed: [], committed: false, keep: resume.keep ?? (() => false) }
    yield* Effect.addFinalizer(() => cleanUp(pending))
    const files = yield* createTemporaries(plan, info, pending, sized, resume.reuse)
    const swap = bytesPerVoxel(info.dtype) > 1 && (endian === "little") !== HOST_LITTLE_ENDIAN
    return { plan, pending, files, swap, bytes: sliceBytes(info) }
  })

/** For a resumable writer: the temporaries to reopen, and whether to keep them if not committed. */
interface ResumeFiles {
  readonly reuse?: ReadonlyArray<string> | undefined
  readonly keep?: () => boolean
}

const createWriter = <D extends DType>(
  path: string,
  info: VolumeInfo<D>,
  endian: NrrdEndian,
  resume: ResumeFiles = {}
): Effect.Effect<ResumableWriter<D>, IoError, Scope.Scope> =>
  Effect.gen(function* () {
    const [depth, height] = info.shape
    const { plan, pending, files, swap, bytes } = yield* beginOutput(path, info, endian, "raw", true, resume)
    let bytesWritten = plan.header.length

    const written = new RowTracker(depth, height)
    let finished = false
    const writeSpan = spanWriter(plan, info, files, swap, (z, rows, n) => {
      written.add(z, rows)
      bytesWritten += n
    })

    const write = (z: number, data: ArrayOf<D>): Effect.Effect<void, IoError> => {
      if (finished) return Effect.die(new Error(`${path}: write of slice ${z} after commit`))
      if (!Number.isInteger(z) || z < 0 || z >= depth)
        return Effect.die(new RangeError(`${path}: slice ${z} is outside 0…${depth - 1}`))
      if (data.byteLength !== bytes)
        return Effect.die(new RangeError(`${path}: slice ${z} has ${data.byteLength} bytes, a slice has ${bytes}`))
      return writeSpan(z, allRows(info), data)
    }

    const writeRows = (z: number, rows: RowRange, data: ArrayOf<D>): Effect.Effect<void, IoError> => {
      if (finished) return Effect.die(new Error(`${path}: write of slice ${z} after commit`))
      const bad = rowsProblem(info, z, rows, data.length)
      if (bad !== undefined) return Effect.die(new RangeError(`${path}: ${bad}`))
      return writeSpan(z, rows, data)
    }

    const commit: Effect.Effect<void, IoError> = Effect.suspend((): Effect.Effect<void, IoError> => {
      if (finished) return Effect.die(new Error(`${path}: commit called twice`))
      const missing = written.firstIncomplete()
      if (missing >= 0) {
        return new FormatError({
          path,
          position: `slice ${missing}`,
          detail: `commit with ${depth - written.complete()} of ${depth} slices not fully written (first: ${missing}, ${written.written(missing)} of ${height} rows); the output would be incomplete`
        })
      }
      finished = true
      return renameIntoPlace(plan, files, pending)
    })

    const readBack = (z: number, into: ArrayOf<D>): Effect.Effect<boolean, IoError> => {
      const view = new Uint8Array(into.buffer, into.byteOffset, bytes)
      return Effect.map(readAt(files.dataFd, files.tempData, view, plan.dataOffset + z * bytes), (n) => {
        if (swap) swapBytes(view, bytesPerVoxel(info.dtype))
        return n === bytes
      })
    }
    const temporaries = plan.detached ? [files.tempData, files.tempHeader] : [files.tempData]
    return {
      write,
      writeRows,
      commit,
      bytesWritten: () => bytesWritten,
      temporaries,
      readBack,
      markWritten: (z: number) => written.add(z, allRows(info)),
      sync: syncFd(files.dataFd, files.tempData)
    }
  })

/** Writes the header, then one gzip stream of the slices in z order (see `gzSliceStream`). */
const createGzWriter = <D extends DType>(
  path: string,
  info: VolumeInfo<D>,
  endian: NrrdEndian,
  level: number
): Effect.Effect<SliceWriter<D>, IoError, Scope.Scope> =>
  Effect.gen(function* () {
    if (!Number.isInteger(level) || level < 1 || level > 9) return yield* new UnsupportedError({ path, detail: `gzip level ${level}`, hint: "use 1…9" })
    const depth = info.shape[0]
    const { plan, pending, files, swap, bytes } = yield* beginOutput(path, info, endian, "gzip", false)
    const voxelWidth = bytesPerVoxel(info.dtype)
    const stream = yield* gzSliceStream(files.dataFd, plan.dataOffset, {
      level,
      sliceBytes: bytes,
      depth,
      sidePath: `${plan.dataPath}${files.suffix}-ahead`,
      path
    })
    const swapped = swap ? new Uint8Array(bytes) : undefined
    let swapBusy = false
    let finished = false
    const write = (z: number, data: ArrayOf<D>): Effect.Effect<void, IoError> => {
      if (finished) return Effect.die(new Error(`${path}: write of slice ${z} after commit`))
      if (!Number.isInteger(z) || z < 0 || z >= depth) return Effect.die(new RangeError(`${path}: slice ${z} is outside 0…${depth - 1}`))
      if (data.byteLength !== bytes) return Effect.die(new RangeError(`${path}: slice ${z} has ${data.byteLength} bytes, a slice has ${bytes}`))
      if (stream.written[z]) return Effect.die(new Error(`${path}: slice ${z} written twice`))
      return Effect.uninterruptible(
        attempt(path, "write", async () => {
          let view = new Uint8Array(data.buffer, data.byteOffset, bytes)
          // The caller's slice must not change: swap a copy (its own if a write is still in flight).
          const scratch = swap ? (swapBusy ? new Uint8Array(bytes) : swapped!) : undefined
          if (scratch) {
            if (scratch === swapped) swapBusy = true
            scratch.set(view)
            swapBytes(scratch, voxelWidth)
            view = scratch
          }
          try {
            await stream.write(z, view)
          } finally {
            if (scratch === swapped) swapBusy = false
          }
        })
      )
    }
    const commit: Effect.Effect<void, IoError> = Effect.suspend((): Effect.Effect<void, IoError> => {
      if (finished) return Effect.die(new Error(`${path}: commit called twice`))
      const missing = stream.written.indexOf(0)
      if (missing >= 0) {
        let count = 0
        for (const w of stream.written) count += w === 0 ? 1 : 0
        return new FormatError({
          path,
          position: `slice ${missing}`,
          detail: `commit with ${count} of ${depth} slices never written (first: ${missing}); the output would be incomplete`
        })
      }
      finished = true
      return Effect.zipRight(
        Effect.uninterruptible(attempt(path, "write", () => stream.end())),
        renameIntoPlace(plan, files, pending)
      )
    })
    return { write, commit, bytesWritten: () => plan.header.length + stream.bytesWritten() }
  })
