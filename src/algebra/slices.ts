/**
 * The one interface between formats and interpreters: a source opens a reader of z slices, a sink
 * creates a writer of z slices. Every reader and writer counts the bytes it moves, exactly, so the
 * cost model's predictions can be checked against them.
 *
 * Readers and writers are acquired in a Scope: the file handles they hold are released when the
 * scope closes, on success, failure or interruption. A writer's output is complete only after
 * `commit`; until then it lives under a temporary name that is removed if the scope closes first.
 *
 * @example
 * ```ts
 * const copy = (src: SliceSource, sink: SliceSink) =>
 *   Effect.scoped(Effect.gen(function* () {
 *     const reader = yield* src.open
 *     const writer = yield* sink.create(src.info)
 *     const slice = allocSlice(src.info.dtype, sliceLength(src.info))
 *     for (let z = 0; z < src.info.shape[0]; z++) {
 *       yield* reader.read(z, slice)
 *       yield* writer.write(z, slice)
 *     }
 *     yield* writer.commit
 *   }))
 * ```
 */
import type * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type { ArrayOf, DType } from "./dtype.js"
import type { VolumeInfo } from "./volume.js"
import type { IoError } from "./io-errors.js"

/** Where a volume lives, for plans, errors and `slicewise info`. */
export interface Location {
  /** "tiff-stack" | "tiff" | "nrrd" | "memory" | … */
  readonly format: string
  /** The path (or a label for in-memory volumes). */
  readonly path: string
}

// `read` and `write` are methods so that a reader of one dtype is usable where any reader is
// expected (method parameters are bivariant); the dtype is checked when a source is planned.
/** Rows `start` ≤ y < `end` of a slice: a band, for in-plane tiling under a memory budget. */
export interface RowRange {
  readonly start: number
  readonly end: number
}

export interface SliceReader<D extends DType = DType> {
  /** Reads slice `z` (0 ≤ z < depth) into `into`, which holds exactly one slice. Any order. */
  read(z: number, into: ArrayOf<D>): Effect.Effect<void, IoError>
  /**
   * Reads rows `rows` of slice `z` into `into`, which holds exactly (end − start) · width voxels.
   * Present when the source has `rowReadBytes`.
   */
  readRows?(z: number, rows: RowRange, into: ArrayOf<D>): Effect.Effect<void, IoError>
  /**
   * `read`, started when called rather than when the effect runs; the effect waits for it and must
   * be run once before `into` is used. Lets an executor keep the next read in flight while it
   * computes without a fiber per slice. Optional: executors fork `read` where it is absent.
   */
  startRead?(z: number, into: ArrayOf<D>): Effect.Effect<void, IoError>
  /** Bytes read from storage so far (file bytes, headers included). */
  readonly bytesRead: () => number
}

export interface SliceSource<D extends DType = DType> extends Location {
  readonly info: VolumeInfo<D>
  /** Format-specific facts for `slicewise info` (compression, endianness, pages …). */
  readonly details: Readonly<Record<string, string | number | boolean>>
  /** Bytes a reader reads for slice `z`, exactly (for the cost model). */
  readonly sliceReadBytes: (z: number) => number
  /**
   * Bytes a reader reads for rows `rows` of slice `z`, exactly. Absent where the format cannot read
   * part of a slice: the planner then never splits a pass over this source into bands.
   */
  readonly rowReadBytes?: (z: number, rows: RowRange) => number
  /** Bytes a reader holds besides the caller's slices (a chunk slab, a decode buffer), for the plan. */
  readonly readerBufferBytes?: number
  readonly open: Effect.Effect<SliceReader<D>, IoError, Scope.Scope>
}

export interface SliceWriter<D extends DType = DType> {
  /** Writes slice `z`; slices may come in any order, each exactly once. */
  write(z: number, data: ArrayOf<D>): Effect.Effect<void, IoError>
  /**
   * Writes rows `rows` of slice `z` (`data` holds exactly those rows). Present when the sink has
   * `writesRows`; every row of every slice must be written once, by `write` or `writeRows`.
   */
  writeRows?(z: number, rows: RowRange, data: ArrayOf<D>): Effect.Effect<void, IoError>
  /** `write`, started when called; as `SliceReader.startRead`. Optional. */
  startWrite?(z: number, data: ArrayOf<D>): Effect.Effect<void, IoError>
  /** Makes the output complete and visible under its final name. Call once, after every slice. */
  readonly commit: Effect.Effect<void, IoError>
  /** Bytes written to storage so far (headers included). */
  readonly bytesWritten: () => number
}

export interface SliceSink extends Location {
  /** Bytes the whole output of a volume `info` takes on storage, exactly (for the cost model). */
  readonly outputBytes: (info: VolumeInfo) => number
  /**
   * False when `outputBytes` is an estimate (compressed outputs: their size is known only once
   * written; the estimate is the uncompressed size). Default true.
   */
  readonly outputBytesExact?: boolean
  /** True when its writers take slices in bands of rows (`writeRows`), for in-plane tiling. */
  readonly writesRows?: boolean
  /**
   * Slices a writer can have in flight at once, each write started (`startWrite`) while the
   * earlier ones run: a planned pass keeps a written slice in its ring that many ticks after it
   * is made. Default 1.
   */
  readonly writesInFlight?: number
  /** Bytes a writer holds besides the caller's slices (a chunk-row being gathered), for the plan. */
  readonly writerBufferBytes?: (info: VolumeInfo) => number
  /**
   * What of a volume's physical metadata this output cannot hold, each as a short phrase ("the
   * direction (a rotation)", "the origin"): what a run reports in one line instead of dropping it
   * silently. Empty or absent: everything is kept (converted to the output's units if need be).
   */
  readonly drops?: (info: VolumeInfo) => ReadonlyArray<string>
  readonly create: <D extends DType>(info: VolumeInfo<D>) => Effect.Effect<SliceWriter<D>, IoError, Scope.Scope>
  /** Present when an interrupted run writing this sink can be resumed (see `ResumableSink`). */
  readonly resumable?: ResumableSink
}

/**
 * A writer whose temporaries outlive an interrupted run, so that `slicewise run --resume` can
 * write the rest of the output into them (docs/RESUME.md). Its slices are still written with
 * `write`; these add what resuming needs.
 */
export interface ResumableWriter<D extends DType = DType> extends SliceWriter<D> {
  /** The temporary files of this output, as given back to `ResumableSink.create` to reopen them. */
  readonly temporaries: ReadonlyArray<string>
  /** Reads slice `z` back from the temporary into `into` (host byte order); false if the file ends first. */
  readBack(z: number, into: ArrayOf<D>): Effect.Effect<boolean, IoError>
  /** Records slice `z` as written by an earlier run (verified by its checksum), for `commit`'s check. */
  markWritten(z: number): void
  /** Flushes what was written to stable storage (fdatasync), before a journal records it. */
  readonly sync: Effect.Effect<void, IoError>
}

/**
 * The resumable side of a sink (raw NRRD, NIfTI .nii, Zarr, uncompressed TIFF stacks and spills in this version).
 *
 * @example
 * ```ts
 * const w = yield* sink.resumable!.create(info, undefined, () => interrupted)  // fresh temporaries
 * const again = yield* sink.resumable!.create(info, w.temporaries, () => interrupted) // after a restart
 * ```
 */
export interface ResumableSink {
  /**
   * Creates the writer: over fresh temporaries when `reuse` is undefined, else over the temporaries
   * named there (a FileError code ENOENT when one is gone). When the scope closes without a commit,
   * the temporaries are kept if `keep()` is true (an interrupted resumable run), else removed.
   */
  readonly create: <D extends DType>(
    info: VolumeInfo<D>,
    reuse: ReadonlyArray<string> | undefined,
    keep: () => boolean
  ) => Effect.Effect<ResumableWriter<D>, IoError, Scope.Scope>
}
