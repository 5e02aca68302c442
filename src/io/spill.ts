/**
 * Spill files: an intermediate volume written by one pass and read back by a later one (when a
 * backward sweep needs what a forward pass made, or when re-reading it is cheaper than recomputing
 * it). Raw slices at z · sliceBytes in a temporary file, written in any order, read in any order.
 *
 * The file is created in the run's Scope by the sink and removed when that scope closes: on
 * success, failure and interruption alike. The source reads the same file; it must be opened after
 * the sink has been created (the planner puts the reading pass after the writing one).
 *
 * @example
 * ```ts
 * const spill = makeSpill(info, "edt-z")
 * // pass 1 writes spill.sink, pass 2 reads spill.source; the file is gone when the run ends
 * ```
 */
import * as Effect from "effect/Effect"
import * as os from "node:os"
import * as path from "node:path"
import type { ArrayOf, DType } from "../algebra/dtype.js"
import { sliceBytes, volumeBytes, type VolumeInfo } from "../algebra/volume.js"
import { removeQuietly, temporarySuffix } from "./atomic.js"
import { FormatError, type FileError } from "../algebra/io-errors.js"
import type * as Scope from "effect/Scope"
import { openScoped, readAt, syncFd, writeAt } from "./files.js"
import { rawRowSpan } from "./rows.js"
import type { ResumableWriter, RowRange, SliceSink, SliceSource } from "../algebra/slices.js"

/** Where spill files go: $SLICEWISE_SPILL_DIR, else the system's temporary directory. */
export const spillDirectory = (): string => process.env.SLICEWISE_SPILL_DIR || os.tmpdir()

export interface Spill<D extends DType> {
  readonly sink: SliceSink
  readonly source: SliceSource<D>
}

const bytesOf = (a: ArrayBufferView): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength)

export const makeSpill = <D extends DType>(info: VolumeInfo<D>, label: string): Spill<D> => {
  let file: string | undefined
  const sliceSize = sliceBytes(info)
  const name = `spill:${label}`
  // The spill file: fresh, or (resuming) the one an interrupted run left, named by its journal.
  const createFile = (reuse: ReadonlyArray<string> | undefined, keep: () => boolean) =>
      Effect.gen(function* () {
        const target = reuse?.[0] ?? path.join(spillDirectory(), `slicewise-spill${temporarySuffix()}.raw`)
        yield* Effect.addFinalizer((exit) => (keep() && exit._tag === "Failure" ? Effect.void : removeQuietly(target)))
        const fd = yield* openScoped(target, reuse === undefined ? "wx+" : "r+")
        file = target
        let written = 0
        const writer: ResumableWriter<DType> = {
          write: (z: number, data: ArrayOf<DType>) =>
            Effect.map(writeAt(fd, target, bytesOf(data), z * sliceSize), () => {
              written += sliceSize
            }),
          writeRows: (z: number, rows: RowRange, data: ArrayOf<DType>) => {
            const { offset, bytes } = rawRowSpan(info, z, rows)
            return Effect.map(writeAt(fd, target, bytesOf(data), offset), () => {
              written += bytes
            })
          },
          // A spill is never a result: it stays temporary until the run's scope removes it.
          commit: Effect.void,
          bytesWritten: () => written,
          temporaries: [target],
          readBack: (z: number, into: ArrayOf<DType>) =>
            Effect.map(readAt(fd, target, bytesOf(into), z * sliceSize), (n) => n === sliceSize),
          markWritten: () => {},
          sync: syncFd(fd, target)
        }
        return writer
      })
  const sink: SliceSink = {
    format: "spill",
    path: name,
    outputBytes: () => volumeBytes(info),
    writesRows: true,
    create: () => createFile(undefined, () => false),
    resumable: {
      create: <E extends DType>(_: VolumeInfo<E>, reuse: ReadonlyArray<string> | undefined, keep: () => boolean) =>
        createFile(reuse, keep) as unknown as Effect.Effect<ResumableWriter<E>, FileError, Scope.Scope>
    }
  }
  const source: SliceSource<D> = {
    format: "spill",
    path: name,
    info,
    details: {},
    sliceReadBytes: () => sliceSize,
    rowReadBytes: (z, rows) => rawRowSpan(info, z, rows).bytes,
    open: Effect.gen(function* () {
      if (file === undefined) {
        return yield* new FormatError({ path: name, position: "open", detail: "spill read before it was written (a planning bug)" })
      }
      const target = file
      const fd = yield* openScoped(target, "r")
      let read = 0
      const readSpan = (z: number, offset: number, bytes: number, into: ArrayOf<D>) =>
        Effect.flatMap(readAt(fd, target, bytesOf(into), offset), (n) => {
          if (n < bytes) {
            return Effect.fail(new FormatError({ path: target, position: `slice ${z}`, detail: `spill file ends ${bytes - n} bytes early` }))
          }
          read += bytes
          return Effect.void
        })
      return {
        read: (z: number, into: ArrayOf<D>) => readSpan(z, z * sliceSize, sliceSize, into),
        readRows: (z: number, rows: RowRange, into: ArrayOf<D>) => {
          const { offset, bytes } = rawRowSpan(info, z, rows)
          return readSpan(z, offset, bytes, into)
        },
        bytesRead: () => read
      }
    })
  }
  return { sink, source }
}
