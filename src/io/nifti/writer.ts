/**
 * Writing NIfTI-1 volumes slice by slice, atomically: `.nii` (positional, any order, rows too)
 * and `.nii.gz` (one gzip stream through node:zlib).
 *
 * Both write under a temporary name beside the target and rename on `commit`; a scope that closes
 * first removes the temporaries. A `.nii.gz` must be compressed in z order: slices that arrive
 * ahead of their turn wait in a raw side file next to the output and are compressed when their
 * turn comes, so a backward pass costs one extra write and read of the volume, not memory.
 *
 * `outputBytes` is exact for `.nii` (352 + voxel bytes). A gzip's size cannot be known before
 * compressing: for `.nii.gz` it returns the uncompressed size (an estimate; gzip of image data is
 * smaller, except for noise, which zlib's deflateBound lets exceed it by about 0.03 %), and the
 * sink says so with `outputBytesExact: false`; `bytesWritten()` counts the compressed bytes
 * actually written.
 *
 * @example
 * ```ts
 * const sink = niftiSink("out.nii.gz", { template: src.niftiHeader })   // keeps the affine
 * ```
 */
import * as fs from "node:fs"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { type ArrayOf, type DType } from "../../algebra/dtype.js"
import { sliceBytes, volumeBytes, type VolumeInfo } from "../../algebra/volume.js"
import { checkReplaceableFile, commitFile, removeQuietly, temporarySuffix } from "../atomic.js"
import { FormatError, UnsupportedError, type IoError } from "../../algebra/io-errors.js"
import { attempt, HOST_LITTLE_ENDIAN, readAt, syncFd, writeFully } from "../files.js"
import type { ResumableWriter, RowRange, SliceSink, SliceWriter } from "../../algebra/slices.js"
import { DEFLATE_STATE_BYTES, gzSliceStream } from "../gzip.js"
import { formatNiftiHeader, MIN_VOX_OFFSET, type NiftiHeader } from "./header.js"

export interface NiftiSinkOptions {
  /** A header whose orientation (qform, sform), units, intent and description the output keeps. */
  readonly template?: NiftiHeader
  /** scl_slope / scl_inter to record with the voxels (default none). */
  readonly scale?: { readonly slope: number; readonly inter: number }
  /** gzip level 1…9 for `.nii.gz` (default 6, as gzip and nibabel). */
  readonly level?: number
}

/** A NIfTI sink; `outputBytesExact` is false for `.nii.gz`, whose size is known only after writing. */
export interface NiftiSink extends SliceSink {
  readonly outputBytesExact: boolean
}

/**
 * A sink writing NIfTI-1, little-endian, magic "n+1", data at byte 352. `.gz` names are
 * gzip-compressed. Without a template, the sform and qform are the spacing along the axes
 * (code 2, "aligned"), in mm.
 *
 * @example
 * ```ts
 * const sink = niftiSink("labels.nii")
 * sink.outputBytes(info)   // 352 + volumeBytes(info)
 * ```
 */
export const niftiSink = (path: string, options: NiftiSinkOptions = {}): NiftiSink => {
  const gz = /\.gz$/i.test(path)
  return {
    format: gz ? "nifti-gz" : "nifti",
    path,
    outputBytes: (info) => MIN_VOX_OFFSET + volumeBytes(info),
    outputBytesExact: !gz,
    writerBufferBytes: (info) => (gz ? sliceBytes(info) + DEFLATE_STATE_BYTES : 0),
    ...(gz ? {} : { writesRows: true }),
    create: <D extends DType>(info: VolumeInfo<D>) => (gz ? createGz(path, info, options) : createPlain(path, info, options)),
    // .nii puts each slice at its offset, so an interrupted run's temporary can be reopened and
    // its slices verified there (docs/RESUME.md); a gzip stream cannot be continued.
    ...(gz
      ? {}
      : {
          resumable: {
            create: <D extends DType>(info: VolumeInfo<D>, reuse: ReadonlyArray<string> | undefined, keep: () => boolean) =>
              createPlain(path, info, options, { reuse: reuse?.[0], keep })
          }
        })
  }
}

const bytesOf = (a: ArrayBufferView): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength)

const checkShape = (path: string, info: VolumeInfo): Effect.Effect<void, IoError> => {
  const [z, y, x] = info.shape
  if (![z, y, x].every((n) => Number.isSafeInteger(n) && n >= 1))
    return Effect.fail(new UnsupportedError({ path, detail: `shape ${info.shape.join("×")}: every axis needs at least one voxel` }))
  if (![z, y, x].every((n) => n <= 32767))
    return Effect.fail(new UnsupportedError({ path, detail: `shape ${info.shape.join("×")}: NIfTI-1 sizes are 16-bit (at most 32767)`, hint: "write NRRD or Zarr instead" }))
  if (!HOST_LITTLE_ENDIAN) return Effect.fail(new UnsupportedError({ path, detail: "writing NIfTI on a big-endian machine" }))
  return Effect.void
}

/** For a resumable writer: the temporary to reopen, and whether to keep it if not committed. */
interface Resume {
  readonly reuse?: string | undefined
  readonly keep?: () => boolean
}

/**
 * An fd on a temporary file (a new one, or with `resume.reuse` an interrupted run's, reopened),
 * closed and (unless committed, or kept by `resume.keep()`) removed when the scope closes.
 */
const scopedTemp = (target: string, suffix: string, resume: Resume = {}) =>
  Effect.gen(function* () {
    const reuse = resume.reuse
    if (reuse !== undefined && !reuse.startsWith(`${target}.partial-`)) {
      return yield* new FormatError({ path: target, position: "journal", detail: `${reuse} is not a temporary of this output` })
    }
    const temp = reuse ?? target + suffix
    const state = { fd: -1, committed: false }
    yield* Effect.acquireRelease(
      attempt(target, "create", async () => {
        state.fd = fs.openSync(temp, reuse === undefined ? "wx" : "r+")
      }),
      () =>
        Effect.zipRight(
          Effect.sync(() => {
            if (state.fd >= 0) fs.closeSync(state.fd)
            state.fd = -1
          }),
          state.committed || resume.keep?.() === true ? Effect.void : removeQuietly(temp)
        )
    )
    return { temp, state }
  })

const missingSlices = (path: string, written: Uint8Array): FormatError | undefined => {
  const first = written.indexOf(0)
  if (first < 0) return undefined
  let count = 0
  for (const w of written) count += w === 0 ? 1 : 0
  return new FormatError({ path, position: `slice ${first}`, detail: `commit with ${count} of ${written.length} slices never written (first: ${first}); the output would be incomplete` })
}

const createPlain = <D extends DType>(
  path: string,
  info: VolumeInfo<D>,
  options: NiftiSinkOptions,
  resume?: Resume
): Effect.Effect<ResumableWriter<D>, IoError, Scope.Scope> =>
  Effect.gen(function* () {
    yield* checkShape(path, info)
    yield* checkReplaceableFile(path)
    const { temp, state } = yield* scopedTemp(path, temporarySuffix(), resume)
    const header = formatNiftiHeader(info, options)
    const bytes = sliceBytes(info)
    const [depth, height, width] = info.shape
    const rowBytes = bytes / height
    yield* attempt(path, "write", async () => {
      await writeFully(state.fd, header, 0)
      fs.ftruncateSync(state.fd, MIN_VOX_OFFSET + volumeBytes(info))
    })
    let bytesWritten = header.length
    // Rows written per slice: a slice is complete when all its rows are.
    const rowsDone = new Uint32Array(depth)
    let finished = false
    const put = (z: number, start: number, data: ArrayBufferView, rows: number) => {
      if (finished) return Effect.die(new Error(`${path}: write after commit`))
      if (!Number.isInteger(z) || z < 0 || z >= depth) return Effect.die(new RangeError(`${path}: slice ${z} is outside 0…${depth - 1}`))
      if (data.byteLength !== rows * rowBytes) return Effect.die(new RangeError(`${path}: slice ${z}: ${data.byteLength} bytes for ${rows} rows of ${width}`))
      return Effect.uninterruptible(
        attempt(path, "write", async () => {
          await writeFully(state.fd, bytesOf(data), MIN_VOX_OFFSET + z * bytes + start * rowBytes)
          bytesWritten += data.byteLength
          rowsDone[z] = rowsDone[z]! + rows
        })
      )
    }
    const commit = Effect.suspend((): Effect.Effect<void, IoError> => {
      if (finished) return Effect.die(new Error(`${path}: commit called twice`))
      const done = new Uint8Array(depth)
      for (let z = 0; z < depth; z++) done[z] = rowsDone[z] === height ? 1 : 0
      const missing = missingSlices(path, done)
      if (missing) return Effect.fail(missing)
      finished = true
      return Effect.gen(function* () {
        yield* attempt(path, "write", async () => {
          const fd = state.fd
          state.fd = -1
          fs.closeSync(fd)
        })
        yield* commitFile(temp, path)
        state.committed = true
      })
    })
    return {
      write: (z: number, data: ArrayOf<D>) => put(z, 0, data, height),
      writeRows: (z: number, rows: RowRange, data: ArrayOf<D>) => put(z, rows.start, data, rows.end - rows.start),
      commit,
      bytesWritten: () => bytesWritten,
      temporaries: [temp],
      readBack: (z: number, into: ArrayOf<D>) => Effect.map(readAt(state.fd, path, bytesOf(into), MIN_VOX_OFFSET + z * bytes, z), (n) => n === bytes),
      markWritten: (z: number) => void (rowsDone[z] = height),
      sync: Effect.suspend(() => syncFd(state.fd, path))
    }
  })

/**
 * The header, then the slices in z order, as one gzip stream (`gzSliceStream`) into the temporary
 * file; slices ahead of their turn wait in a side file beside it.
 */
const createGz = <D extends DType>(path: string, info: VolumeInfo<D>, options: NiftiSinkOptions): Effect.Effect<SliceWriter<D>, IoError, Scope.Scope> =>
  Effect.gen(function* () {
    yield* checkShape(path, info)
    yield* checkReplaceableFile(path)
    const level = options.level ?? 6
    if (!Number.isInteger(level) || level < 1 || level > 9) return yield* new UnsupportedError({ path, detail: `gzip level ${level}`, hint: "use 1…9" })
    const suffix = temporarySuffix()
    const { temp, state } = yield* scopedTemp(path, suffix)
    const bytes = sliceBytes(info)
    const depth = info.shape[0]
    const stream = yield* gzSliceStream(state.fd, 0, {
      level,
      sliceBytes: bytes,
      depth,
      sidePath: `${path}${suffix}-ahead`,
      path,
      head: formatNiftiHeader(info, options)
    })
    let finished = false
    const write = (z: number, data: ArrayOf<D>): Effect.Effect<void, IoError> => {
      if (finished) return Effect.die(new Error(`${path}: write after commit`))
      if (!Number.isInteger(z) || z < 0 || z >= depth) return Effect.die(new RangeError(`${path}: slice ${z} is outside 0…${depth - 1}`))
      if (data.byteLength !== bytes) return Effect.die(new RangeError(`${path}: slice ${z} has ${data.byteLength} bytes, a slice has ${bytes}`))
      if (stream.written[z]) return Effect.die(new Error(`${path}: slice ${z} written twice`))
      return Effect.uninterruptible(attempt(path, "write", () => stream.write(z, bytesOf(data))))
    }
    const commit = Effect.suspend((): Effect.Effect<void, IoError> => {
      if (finished) return Effect.die(new Error(`${path}: commit called twice`))
      const missing = missingSlices(path, stream.written)
      if (missing) return Effect.fail(missing)
      finished = true
      return Effect.gen(function* () {
        yield* attempt(path, "write", async () => {
          await stream.end()
          const fd = state.fd
          state.fd = -1
          fs.closeSync(fd)
        })
        yield* commitFile(temp, path)
        state.committed = true
      })
    })
    return { write, commit, bytesWritten: stream.bytesWritten }
  })
