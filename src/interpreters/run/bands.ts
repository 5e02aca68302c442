/**
 * Readers and writers of one band of rows, over the run's readers and writers of whole volumes:
 * a band's template reads "slices" that are its rows (halo included) and writes the rows it keeps.
 *
 * @example
 * ```ts
 * const reader = bandReader(readers.get(source)!, source, band.read)
 * yield* reader.read(z, slot)          // rows band.read of slice z
 * ```
 */
import * as Effect from "effect/Effect"
import type { ArrayOf, DType } from "../../algebra/dtype.js"
import type { RowRange, SliceReader, SliceSource, SliceWriter } from "../../io/slices.js"
import type { Band } from "../plan/bands.js"
import type { WriteNode } from "../plan/graph.js"

/** Reads rows `rows` of each slice of `source` through its open `reader`. */
export const bandReader = (reader: SliceReader, source: SliceSource, rows: RowRange): SliceReader => {
  if (reader.readRows === undefined) throw new Error(`internal: ${source.path} was banded but its reader has no readRows`)
  return {
    read: (z, into) => reader.readRows!(z, rows, into),
    bytesRead: reader.bytesRead
  }
}

/** Writes, of each band-high slice it is given, the rows `band` keeps, through `writer`. */
export const bandWriter = (writer: SliceWriter, target: WriteNode, band: Band): SliceWriter => {
  if (writer.writeRows === undefined) throw new Error(`internal: ${target.sink.path} was banded but its writer has no writeRows`)
  const width = target.input.info.shape[2]
  const from = (band.rows.start - band.read.start) * width
  const to = from + (band.rows.end - band.rows.start) * width
  return {
    write: (z, data) => writer.writeRows!(z, band.rows, data.subarray(from, to) as ArrayOf<DType>),
    commit: Effect.void,
    bytesWritten: writer.bytesWritten
  }
}
