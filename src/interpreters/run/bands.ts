/**
 * Running a banded pass (plan/bands.ts): band after band, its template runs with readers that read
 * the band's rows (halo included) as if they were slices and writers that write the rows it keeps,
 * over the run's readers and writers of whole volumes. Shared by both executors.
 *
 * @example
 * ```ts
 * const { metrics } = yield* runBanded(pass, runPass, readers, writers, scalarValue, meters, options, n, bufferBytesOf, peaks)
 * ```
 */
import * as Effect from "effect/Effect"
import type { ArrayOf, DType } from "../../algebra/dtype.js"
import type { RowRange, SliceReader, SliceSource, SliceWriter } from "../../algebra/slices.js"
import { collectGarbage } from "../../util/gc.js"
import type { ScalarNode, WriteNode } from "../plan/graph.js"
import type { Band, PassPlan } from "../plan/types.js"
import type { PassRunner, ProgressOptions, StageMeter } from "./pass-runner.js"
import type { Progress } from "./result.js"

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

/**
 * Adds a band's figures to the pass's: times and bytes add up; buffers, freed between bands, do
 * not: `bandPeaks` keeps each stage's largest band's.
 */
const mergeMeters = <M extends StageMeter>(
  into: Map<string, M>,
  from: ReadonlyMap<string, M>,
  bufferBytesOf: (m: M) => number,
  bandPeaks: Map<string, number>
): void => {
  for (const [key, m] of from) {
    bandPeaks.set(key, Math.max(bandPeaks.get(key) ?? 0, bufferBytesOf(m)))
    const total = into.get(key)
    if (total === undefined) {
      into.set(key, m)
      continue
    }
    total.cpuUs += m.cpuUs
    total.wallMs += m.wallMs
    total.slices += m.slices
    total.bytesRead += m.bytesRead
    total.bytesWritten += m.bytesWritten
  }
}

/**
 * Runs `pass` with `runPass`: at once, or band after band (each band's template with readers of
 * its rows and writers of the rows it keeps).
 */
export const runBanded = <M extends StageMeter, O extends ProgressOptions>(
  pass: PassPlan,
  runPass: PassRunner<M, O>,
  readers: ReadonlyMap<SliceSource, SliceReader>,
  writers: ReadonlyMap<WriteNode, SliceWriter>,
  scalarValue: (n: ScalarNode) => unknown,
  meters: Map<string, M>,
  options: O,
  passCount: number,
  bufferBytesOf: (m: M) => number,
  bandPeaks: Map<string, number>
): ReturnType<PassRunner<M, O>> =>
  Effect.gen(function* () {
    const banded = pass.bands
    if (banded === undefined) return yield* runPass(pass, readers, writers, scalarValue, meters, options, passCount)
    const reduced = new Map<ScalarNode, unknown>()
    let ticks = 0
    let wallMs = 0
    let peak = 0
    for (const band of banded.bands) {
      // The previous band's rings and scratch are garbage now; without a collection V8 would keep
      // them until external memory grows by tens of MiB, beyond the budget.
      if (ticks > 0) collectGarbage()
      const template = banded.templates[band.template]!
      const bandReaders = new Map<SliceSource, SliceReader>()
      for (const { node } of template.stages) {
        if (node.kind !== "source") continue
        const parent = banded.sourceOf.get(node.source)!
        bandReaders.set(node.source, bandReader(readers.get(parent)!, parent, band.read))
      }
      const bandWriters = new Map<WriteNode, SliceWriter>()
      for (const root of template.roots) {
        if (root.kind !== "write") continue
        const target = banded.writeOf.get(root)!
        bandWriters.set(root, bandWriter(writers.get(target)!, target, band))
      }
      const bandMeters = new Map<string, M>()
      // Progress counts the ticks of the whole pass, band after band.
      const done = ticks
      const onProgress = options.onProgress
      const bandOptions =
        onProgress === undefined ? options : { ...options, onProgress: (p: Progress) => onProgress({ ...p, tick: done + p.tick, ticks: pass.ticks }) }
      const { metrics } = yield* runPass(template, bandReaders, bandWriters, scalarValue, bandMeters, bandOptions, passCount)
      mergeMeters(meters, bandMeters, bufferBytesOf, bandPeaks)
      ticks += metrics.ticks
      wallMs += metrics.wallMs
      peak = Math.max(peak, metrics.peakBufferBytes)
    }
    return { metrics: { index: pass.index, direction: pass.direction, ticks, wallMs, peakBufferBytes: peak }, reduced }
  })
