/**
 * Writing raw NRRD volumes slice by slice, atomically.
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
 *   yield* w.commit                                                // now visible
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
import { closeFd, HOST_LITTLE_ENDIAN, openFd, renameFile, swapBytes, truncateFd, writeAt } from "../files.js"
import { allRows, rawRowSpan, RowTracker, rowsProblem } from "../rows.js"
import type { RowRange, SliceSink, SliceWriter } from "../../algebra/slices.js"
import { formatNrrdHeader, type NrrdEndian } from "./header.js"

export interface NrrdSinkOptions {
  /** Byte order of the written data; little-endian (what nearly every machine uses) by default. */
  readonly endian?: NrrdEndian
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

const planOutput = (path: string, info: VolumeInfo, endian: NrrdEndian): OutputPlan => {
  const detached = nodePath.extname(path).toLowerCase() === ".nhdr"
  const dataPath = detached ? path.slice(0, -".nhdr".length) + ".raw" : path
  // The header names its data file relative to itself, so the pair can be moved together.
  const text = formatNrrdHeader(info, detached ? { endian, dataFile: nodePath.basename(dataPath) } : { endian })
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
}

const closeAll = (p: Pending): Effect.Effect<void> =>
  Effect.forEach([...p.fds], ([path, fd]) => {
    p.fds.delete(path)
    return Effect.ignore(closeFd(fd, path))
  }, { discard: true })

const cleanUp = (p: Pending): Effect.Effect<void> =>
  Effect.zipRight(
    closeAll(p),
    p.committed
      ? Effect.void
      : Effect.forEach([...p.temps, ...p.renamed], (f) =>
          Effect.catchAll(removeTemporary(f), (e) => Effect.logWarning(`slicewise: could not remove ${f}: ${e.message}`)),
        { discard: true })
  )

/**
 * A sink that writes a raw NRRD0004 volume: `<name>.nhdr` writes a detached header and its data
 * to `<name>.raw` beside it; any other name (normally `.nrrd`) holds header and data in one file.
 * The header records type, sizes, the spacing (as axis-aligned `space directions`), byte order
 * (little-endian unless `options.endian` is "big") and raw encoding.
 *
 * `outputBytes(info)` is the exact size of all files written, header included, and
 * `bytesWritten()` reaches it when every slice has been written.
 *
 * @example
 * ```ts
 * const sink = nrrdSink("result.nrrd")
 * yield* copy(yield* openNrrd("input.nhdr"), sink)   // see SliceSource in algebra/slices.ts
 * ```
 */
export const nrrdSink = (path: string, options: NrrdSinkOptions = {}): SliceSink => {
  const endian = options.endian ?? "little"
  return {
    format: "nrrd",
    path,
    outputBytes: (info) => planOutput(path, info, endian).header.length + volumeBytes(info),
    writesRows: true,
    create: <D extends DType>(info: VolumeInfo<D>) => createWriter(path, info, endian)
  }
}

const createWriter = <D extends DType>(
  path: string,
  info: VolumeInfo<D>,
  endian: NrrdEndian
): Effect.Effect<SliceWriter<D>, IoError, Scope.Scope> =>
  Effect.gen(function* () {
    const [depth, height, width] = info.shape
    if (![depth, height, width].every((n) => Number.isSafeInteger(n) && n >= 1))
      return yield* new UnsupportedError({ path, detail: `shape ${info.shape.join("×")}: every axis needs at least one voxel` })
    const plan = planOutput(path, info, endian)
    const bytes = sliceBytes(info)
    const voxelWidth = bytesPerVoxel(info.dtype)
    const swap = voxelWidth > 1 && (endian === "little") !== HOST_LITTLE_ENDIAN

    const pending: Pending = { fds: new Map(), temps: [], renamed: [], committed: false }
    yield* Effect.addFinalizer(() => cleanUp(pending))

    // One suffix for both files of a detached output: the temporaries are recognisably one set.
    const suffix = temporarySuffix()
    const tempData = temporaryName(plan.dataPath, suffix)
    const tempHeader = plan.detached ? temporaryName(plan.headerPath, suffix) : tempData
    // Registering the fd must not be separable from opening it, or an interruption in between
    // would leak it; "wx" refuses to reuse a file that is somehow already there.
    const create = (p: string) =>
      Effect.uninterruptible(
        Effect.tap(
          Effect.suspend(() => {
            pending.temps.push(p)
            return openFd(p, "wx", { operation: "create" })
          }),
          (fd) => Effect.sync(() => pending.fds.set(p, fd))
        )
      )

    let bytesWritten = 0
    const dataFd = yield* create(tempData)
    if (plan.detached) {
      const headerFd = yield* create(tempHeader)
      yield* writeAt(headerFd, tempHeader, plan.header, 0)
      pending.fds.delete(tempHeader)
      yield* closeFd(headerFd, tempHeader)
    } else {
      yield* writeAt(dataFd, tempData, plan.header, 0)
    }
    bytesWritten += plan.header.length
    // Give the file its final length up front (sparse): slices then land at their offsets in any order.
    yield* truncateFd(dataFd, tempData, plan.dataOffset + volumeBytes(info))

    const written = new RowTracker(depth, height)
    let finished = false
    // One reusable buffer for byte swapping (the caller's slice must not be modified); a write
    // that finds it in use by a concurrent write allocates its own.
    let spare: Uint8Array | undefined

    const writeSpan = (z: number, rows: RowRange, data: ArrayOf<D>): Effect.Effect<void, IoError> => {
      const span = rawRowSpan(info, z, rows)
      const view = new Uint8Array(data.buffer, data.byteOffset, span.bytes)
      const position = plan.dataOffset + span.offset
      const done = Effect.sync(() => {
        written.add(z, rows)
        bytesWritten += span.bytes
      })
      if (!swap) return Effect.zipRight(writeAt(dataFd, tempData, view, position), done)
      return Effect.suspend(() => {
        const scratch = spare !== undefined && spare.length >= span.bytes ? spare : new Uint8Array(Math.max(span.bytes, spare?.length ?? 0))
        spare = undefined
        const part = scratch.subarray(0, span.bytes)
        part.set(view)
        swapBytes(part, voxelWidth)
        return Effect.ensuring(
          Effect.zipRight(writeAt(dataFd, tempData, part, position), done),
          Effect.sync(() => {
            spare = scratch
          })
        )
      })
    }

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
      return Effect.gen(function* () {
        // Close before renaming so that a late write error (e.g. ENOSPC on a network file system,
        // reported at close) fails the commit instead of leaving a damaged file in place.
        for (const [p, fd] of [...pending.fds]) {
          pending.fds.delete(p)
          yield* closeFd(fd, p)
        }
        // The header declares the output, so it is renamed last: a reader never sees a header
        // whose data file is not yet in place.
        if (plan.detached) {
          yield* renameFile(tempData, plan.dataPath)
          pending.renamed.push(plan.dataPath)
          yield* renameFile(tempHeader, plan.headerPath)
        } else {
          yield* renameFile(tempData, plan.dataPath)
        }
        pending.committed = true
      })
    })

    return { write, writeRows, commit, bytesWritten: () => bytesWritten }
  })
