/**
 * In-memory sources and sinks: a typed array as a volume, and a sink that collects slices. For
 * tests, examples and small data; they count bytes as a file would (no headers).
 *
 * @example
 * ```ts
 * const src = arraySource(volumeInfo("uint8", [2, 3, 4]), new Uint8Array(24), "phantom")
 * const sink = arraySink("result")
 * // … run a program that writes to `sink` …
 * sink.result()   // the written volume's data, once committed
 * ```
 */
import * as Effect from "effect/Effect"
import { allocSlice, type ArrayOf, type DType, type VoxelArray } from "../algebra/dtype.js"
import { sliceBytes, sliceLength, volumeBytes, voxelCount, type VolumeInfo } from "../algebra/volume.js"
import { FormatError } from "../algebra/io-errors.js"
import { rawRowSpan, requestProblem } from "./rows.js"
import type { SliceSink, SliceSource } from "../algebra/slices.js"

/** A volume held in a typed array (z-major, x fastest) as a source. */
export const arraySource = <D extends DType>(info: VolumeInfo<D>, data: ArrayOf<D>, name = "array"): SliceSource<D> => {
  if (data.length !== voxelCount(info)) {
    throw new RangeError(`arraySource ${name}: ${data.length} voxels for shape ${info.shape.join("×")}`)
  }
  const n = sliceLength(info)
  return {
    format: "memory",
    path: name,
    info,
    details: {},
    sliceReadBytes: () => sliceBytes(info),
    rowReadBytes: (z, rows) => rawRowSpan(info, z, rows).bytes,
    open: Effect.sync(() => {
      let bytes = 0
      const width = info.shape[2]
      return {
        readRows: (z, rows, into) =>
          Effect.suspend(() => {
            const bad = requestProblem(name, info, z, into, rows)
            if (bad !== undefined) return Effect.fail(bad)
            into.set(data.subarray(z * n + rows.start * width, z * n + rows.end * width) as never)
            bytes += rawRowSpan(info, z, rows).bytes
            return Effect.void
          }),
        read: (z, into) =>
          Effect.suspend(() => {
            if (z < 0 || z >= info.shape[0]) {
              return Effect.fail(new FormatError({ path: name, position: `slice ${z}`, detail: `no such slice (depth ${info.shape[0]})` }))
            }
            into.set(data.subarray(z * n, (z + 1) * n) as never)
            bytes += sliceBytes(info)
            return Effect.void
          }),
        bytesRead: () => bytes
      }
    })
  }
}

export interface ArraySink extends SliceSink {
  /** The committed volume's voxels; undefined until a writer commits. */
  readonly result: () => VoxelArray | undefined
}

/** A sink that gathers the slices written to it into one typed array, visible after commit. */
export const arraySink = (name = "array"): ArraySink => {
  let committed: VoxelArray | undefined
  return {
    format: "memory",
    path: name,
    outputBytes: (info) => volumeBytes(info),
    writesRows: true,
    result: () => committed,
    create: (info) =>
      Effect.sync(() => {
        const n = sliceLength(info)
        const data = allocSlice(info.dtype, voxelCount(info))
        let bytes = 0
        return {
          write: (z, slice) =>
            Effect.sync(() => {
              data.set(slice as never, z * n)
              bytes += sliceBytes(info)
            }),
          writeRows: (z, rows, slice) =>
            Effect.suspend(() => {
              const bad = requestProblem(name, info, z, slice, rows)
              if (bad !== undefined) return Effect.fail(bad)
              data.set(slice as never, z * n + rows.start * info.shape[2])
              bytes += rawRowSpan(info, z, rows).bytes
              return Effect.void
            }),
          commit: Effect.sync(() => {
            committed = data
          }),
          bytesWritten: () => bytes
        }
      })
  }
}
