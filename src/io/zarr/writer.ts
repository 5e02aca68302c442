/**
 * Writing Zarr v2/v3 arrays and OME-Zarr images slice by slice, atomically.
 *
 * Slices are gathered into chunk-rows (cz slices); when a row is complete its chunks are cut out,
 * encoded (raw, gzip, zstd or blosc) and written, and the row's buffer is reused. An OME-Zarr
 * output also builds its pyramid in the same pass: each level's slice z is made from the level
 * below's slices 2z and 2z+1 as soon as both exist, by a 2×2×2 mean (intensities) or mode
 * (labels), and fed to that level's own chunk-row writer.
 *
 * Everything is written into `<name>.partial-<pid>-<random>` beside the target; the metadata
 * that declares the arrays (.zarray / zarr.json, then the group's .zattrs / zarr.json last) is
 * written by `commit`, which then renames the directory into place. A scope that closes without a
 * commit removes the temporary directory, so no reader ever sees a store presented as complete.
 *
 * Every chunk is written, fill-value chunks included (as zarr-python 2.11+ does by default), and
 * edge chunks are full-size, padded with the fill value 0: for raw chunks `outputBytes` is exact.
 * Compressed sizes cannot be known before compressing: `outputBytes` then returns the raw size (an
 * estimate) and `outputBytesExact` is false; `bytesWritten()` counts what was actually written.
 *
 * @example
 * ```ts
 * const sink = zarrSink("out.zarr", { chunks: [64, 64, 64], codec: { codec: "zstd", level: 3 } })
 * const ome = zarrSink("out.ome.zarr", { ome: { levels: 3, labels: false } })
 * ```
 */
import * as fs from "node:fs"
import * as nodePath from "node:path"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { allocSlice, bytesPerVoxel, castValue, isFloat, type ArrayOf, type DType } from "../../algebra/dtype.js"
import { sliceBytes, type VolumeInfo } from "../../algebra/volume.js"
import { geometryDrops, geometryOf, UNIT_NAMES, type Geometry } from "../../algebra/geometry.js"
import { pathKind, removeQuietly, temporaryName } from "../atomic.js"
import { FileError, FormatError, UnsupportedError, type IoError } from "../../algebra/io-errors.js"
import { attempt, syncPath, writeReplacing } from "../files.js"
import type { SinkOptions } from "../options.js"
import type { ResumableWriter, SliceSink, SliceWriter } from "../../algebra/slices.js"
import { chunkCodec, v2Compressor, v3Codecs, type ChunkCodec, type CodecChoice } from "./codecs.js"
import { openRowLog, rowLogKey, type RowLog } from "./row-log.js"
import { pool } from "./store.js"

export interface ZarrSinkOptions {
  /** Zarr format: 2 (default; what zarr-python 2 and most viewers read) or 3. */
  readonly version?: 2 | 3
  /** Chunk shape (z, y, x); default 64 along each axis, clipped to the volume. */
  readonly chunks?: readonly [number, number, number]
  /** Codec; default zstd level 3. */
  readonly codec?: CodecChoice
  /** Write an OME-Zarr image (NGFF 0.4 with Zarr v2, 0.5 with v3) with a pyramid. */
  readonly ome?: {
    /** Levels including full resolution (default: halve while the largest axis stays ≥ 64, at most 8). */
    readonly levels?: number
    /** A label image: levels by the mode of each 2×2×2 block, not the mean. */
    readonly labels?: boolean
    /** Spatial unit for the axes (e.g. "micrometer"); none by default. */
    readonly unit?: string
    readonly name?: string
  }
  /** Chunks encoded and written at a time (default 4). */
  readonly concurrency?: number
}

/** A Zarr sink; `outputBytesExact` is false unless chunks are raw. */
export interface ZarrSink extends SliceSink {
  readonly outputBytesExact: boolean
}

interface Level {
  readonly shape: readonly [number, number, number]
  readonly chunks: readonly [number, number, number]
  /** Key prefix of the level's array inside the store ("" for a plain array, "0", "1" … for OME). */
  readonly dir: string
  readonly scale: readonly [number, number, number]
  /** (z, y, x) position of the level's first voxel centre. */
  readonly translation: readonly [number, number, number]
}

const V2_DTYPE: Record<DType, string> = {
  uint8: "|u1",
  int8: "|i1",
  uint16: "<u2",
  int16: "<i2",
  uint32: "<u4",
  int32: "<i4",
  float32: "<f4",
  float64: "<f8"
}

const ceilDiv = (a: number, b: number) => Math.ceil(a / b)
// zarr-python 2 decodes metadata as ASCII: escape anything else (a unit such as "µm").
const json = (v: unknown) =>
  Buffer.from(JSON.stringify(v, null, 2).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`) + "\n", "utf8")

/** The levels an output of `info` has. */
const levelsOf = (info: VolumeInfo, options: ZarrSinkOptions): ReadonlyArray<Level> => {
  const want = options.chunks ?? [64, 64, 64]
  const count = (() => {
    if (options.ome === undefined) return 1
    if (options.ome.levels !== undefined) return options.ome.levels
    let n = 1
    while (n < 8 && Math.max(...info.shape.map((s) => Math.ceil(s / 2 ** n))) >= 64 && Math.min(...info.shape.map((s) => Math.ceil(s / 2 ** n))) >= 1) n++
    return n
  })()
  const out: Array<Level> = []
  const { origin } = geometryOf(info)
  const first = [origin[2], origin[1], origin[0]]
  for (let l = 0; l < count; l++) {
    const shape = info.shape.map((s) => Math.ceil(s / 2 ** l)) as unknown as readonly [number, number, number]
    const chunks = want.map((c, i) => Math.max(1, Math.min(c, shape[i]!))) as unknown as readonly [number, number, number]
    const scale = info.spacing.map((s) => s * 2 ** l) as unknown as readonly [number, number, number]
    // A mean (or mode) of 2^l voxels is centred half a block in: the translation keeps levels aligned.
    const translation = scale.map((s, k) => first[k]! + (s - info.spacing[k]!) / 2) as unknown as readonly [number, number, number]
    out.push({ shape, chunks, dir: options.ome === undefined ? "" : String(l), scale, translation })
  }
  return out
}

const arrayMetadata = (version: 2 | 3, level: Level, dtype: DType, codec: CodecChoice, ome: boolean): { readonly key: string; readonly bytes: Buffer } => {
  const key = (name: string) => (level.dir ? `${level.dir}/${name}` : name)
  if (version === 2)
    return {
      key: key(".zarray"),
      bytes: json({
        chunks: level.chunks,
        compressor: v2Compressor(codec, dtype),
        dimension_separator: ome ? "/" : ".",
        dtype: V2_DTYPE[dtype],
        fill_value: 0,
        filters: null,
        order: "C",
        shape: level.shape,
        zarr_format: 2
      })
    }
  return {
    key: key("zarr.json"),
    bytes: json({
      zarr_format: 3,
      node_type: "array",
      shape: level.shape,
      data_type: dtype,
      chunk_grid: { name: "regular", configuration: { chunk_shape: level.chunks } },
      chunk_key_encoding: { name: "default", configuration: { separator: "/" } },
      fill_value: 0,
      codecs: v3Codecs(codec, dtype),
      attributes: {},
      dimension_names: ["z", "y", "x"]
    })
  }
}

/** The group metadata of an OME-Zarr image (written last). */
const omeMetadata = (
  version: 2 | 3,
  levels: ReadonlyArray<Level>,
  options: NonNullable<ZarrSinkOptions["ome"]>,
  geometry: Geometry | undefined
): ReadonlyArray<{ readonly key: string; readonly bytes: Buffer }> => {
  const unit = options.unit ?? (geometry?.unit === undefined ? undefined : UNIT_NAMES[geometry.unit])
  const axes = ["z", "y", "x"].map((name) => ({ name, type: "space", ...(unit ? { unit } : {}) }))
  const datasets = levels.map((l) => ({
    path: l.dir,
    coordinateTransformations: [
      { type: "scale", scale: l.scale },
      { type: "translation", translation: l.translation }
    ]
  }))
  const multiscale = {
    ...(version === 2 ? { version: "0.4" } : {}),
    name: options.name ?? "image",
    axes,
    datasets,
    type: options.labels ? "mode" : "mean",
    metadata: { method: "slicewise", description: options.labels ? "mode of each 2x2x2 block (ties: the smaller label)" : "mean of each 2x2x2 block, truncated to the dtype" }
  }
  if (version === 2) return [{ key: ".zgroup", bytes: json({ zarr_format: 2 }) }, { key: ".zattrs", bytes: json({ multiscales: [multiscale] }) }]
  return [{ key: "zarr.json", bytes: json({ zarr_format: 3, node_type: "group", attributes: { ome: { version: "0.5", multiscales: [multiscale] } } }) }]
}

const chunkKey = (version: 2 | 3, level: Level, ome: boolean, c: ReadonlyArray<number>) => {
  const rel = version === 3 ? `c/${c.join("/")}` : c.join(ome ? "/" : ".")
  return level.dir ? `${level.dir}/${rel}` : rel
}

/** Stored bytes of every chunk of `level` if raw (edge chunks full size). */
const rawChunkBytes = (level: Level, dtype: DType) =>
  ceilDiv(level.shape[0], level.chunks[0]) * ceilDiv(level.shape[1], level.chunks[1]) * ceilDiv(level.shape[2], level.chunks[2]) *
  level.chunks[0] * level.chunks[1] * level.chunks[2] * bytesPerVoxel(dtype)

/**
 * A sink writing a Zarr array (v2 by default, or v3), or with `ome` an OME-Zarr image with its
 * pyramid. The output directory must not exist, or be a Zarr store (which is replaced on commit).
 *
 * @example
 * ```ts
 * const sink = zarrSink("seg.ome.zarr", { ome: { labels: true }, codec: { codec: "blosc" } })
 * sink.writerBufferBytes?.(info)   // chunk-rows and pyramid slices held while writing
 * ```
 */
export const zarrSink = (path: string, options: ZarrSinkOptions = {}): ZarrSink => {
  const version = options.version ?? 2
  const codec = options.codec ?? { codec: "zstd" }
  const ome = options.ome !== undefined
  const metadataBytes = (info: VolumeInfo) => {
    const levels = levelsOf(info, options)
    let n = 0
    for (const l of levels) n += arrayMetadata(version, l, info.dtype, codec, ome).bytes.length
    if (ome) for (const m of omeMetadata(version, levels, options.ome!, info.geometry)) n += m.bytes.length
    if (!ome && version === 2) n += json({}).length // .zattrs
    return n
  }
  return {
    format: ome ? "ome-zarr" : "zarr",
    path,
    outputBytes: (info) => levelsOf(info, options).reduce((s, l) => s + rawChunkBytes(l, info.dtype), 0) + metadataBytes(info),
    outputBytesExact: codec.codec === "raw",
    // OME-Zarr 0.4/0.5 hold a scale and translation per axis; a plain array holds none of it.
    drops: (info) => geometryDrops(info, { spacing: ome, unit: ome, origin: ome, direction: false, space: false }),
    writerBufferBytes: (info) => {
      const k = options.concurrency ?? 4
      return levelsOf(info, options).reduce((s, l, i) => {
        const bpv = bytesPerVoxel(info.dtype)
        const row = l.chunks[0] * l.shape[1] * l.shape[2] * bpv
        const chunkScratch = k * l.chunks[0] * l.chunks[1] * l.chunks[2] * bpv
        // A level above 0 also holds one slice of the level below waiting for its partner.
        const pending = i === 0 ? 0 : sliceBytes({ ...info, shape: levelsOf(info, options)[i - 1]!.shape })
        return s + row + chunkScratch + pending
      }, 0)
    },
    create: <D extends DType>(info: VolumeInfo<D>) => createWriter(path, info, options, version, codec),
    resumable: {
      create: <D extends DType>(info: VolumeInfo<D>, reuse: ReadonlyArray<string> | undefined, keep: () => boolean) =>
        createWriter(path, info, options, version, codec, { reuse: reuse?.[0], reuseLog: reuse?.[1], keep })
    }
  }
}

/** Checks that `path` may be replaced by a Zarr store: absent, or a directory holding Zarr metadata. */
const checkReplaceableStore = (path: string): Effect.Effect<void, FileError> =>
  Effect.flatMap(pathKind(path), (kind) => {
    if (kind === "none") return Effect.void
    const isStore = kind === "dir" && [".zarray", ".zgroup", "zarr.json", ".zattrs"].some((f) => fs.existsSync(nodePath.join(path, f)))
    const empty = kind === "dir" && fs.readdirSync(path).length === 0
    return isStore || empty
      ? Effect.void
      : Effect.fail(new FileError({ path, operation: "create", detail: "exists and is not a Zarr store; refusing to replace it — remove it or choose another output" }))
  })

/** The temporary directory an output is written into, and how objects get there. */
interface TemporaryStore {
  readonly temp: string
  readonly state: { committed: boolean }
  /** Writes one object (a chunk or metadata) at `key`, creating its directories on first use. */
  readonly writeObject: (key: string, bytes: Uint8Array) => Promise<void>
  /** The object at `key`, or undefined when there is none. */
  readonly readObject: (key: string) => Promise<Uint8Array | undefined>
  /** Flushes the objects and directories written since the last call to stable storage (resumable stores). */
  readonly sync: () => Promise<void>
  /** Bytes of every object written so far. */
  readonly bytesWritten: () => number
}

/**
 * For a resumable store: the temporary directory and row log to reopen, and whether to keep them
 * if not committed.
 */
interface StoreResume {
  readonly reuse?: string | undefined
  readonly reuseLog?: string | undefined
  readonly keep?: () => boolean
}

/**
 * Creates `<path>.partial-…` in the scope (or reopens an interrupted run's, `resume.reuse`), which
 * removes it unless the store was committed (or `resume.keep()`).
 */
const temporaryStore = (path: string, resume: StoreResume = {}): Effect.Effect<TemporaryStore, IoError, Scope.Scope> =>
  Effect.gen(function* () {
    const reuse = resume.reuse
    if (reuse !== undefined && !reuse.startsWith(`${path}.partial-`)) {
      return yield* new FormatError({ path, position: "journal", detail: `${reuse} is not a temporary of this output` })
    }
    const temp = reuse ?? temporaryName(path)
    const state = { committed: false }
    yield* Effect.acquireRelease(
      attempt(path, "create", async () => {
        if (reuse === undefined) await fs.promises.mkdir(temp)
        else await fs.promises.readdir(temp)
      }),
      () => (state.committed || resume.keep?.() === true ? Effect.void : removeQuietly(temp))
    )
    // A resumable store flushes what it wrote at each checkpoint: the files, then their directories.
    const tracked = resume.keep !== undefined
    const unsynced = new Set<string>()
    const newDirs = new Set<string>()
    let bytesWritten = 0
    const made = new Set<string>()
    const fileOf = (key: string) => nodePath.join(temp, ...key.split("/"))
    const writeObject = async (key: string, bytes: Uint8Array) => {
      const file = fileOf(key)
      const dir = nodePath.dirname(file)
      if (!made.has(dir)) {
        await fs.promises.mkdir(dir, { recursive: true })
        made.add(dir)
        if (tracked) for (let d = dir; d.length > temp.length; d = nodePath.dirname(d)) newDirs.add(d)
      }
      await writeReplacing(file, bytes)
      if (tracked) unsynced.add(file)
      bytesWritten += bytes.length
    }
    const readObject = async (key: string): Promise<Uint8Array | undefined> => {
      try {
        return await fs.promises.readFile(fileOf(key))
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined
        throw e
      }
    }
    const sync = async () => {
      for (const f of unsynced) syncPath(f)
      // Deepest first, the store's own directory last: each entry is durable before its parent's.
      for (const d of [...newDirs].sort((a, b) => b.length - a.length)) syncPath(d)
      syncPath(temp)
      unsynced.clear()
      newDirs.clear()
    }
    return { temp, state, writeObject, readObject, sync, bytesWritten: () => bytesWritten }
  })

/**
 * Feeds slices of level 0 to their level writers and builds the pyramid on the way: level l+1
 * slice z is made from level l slices 2z and 2z+1 (or 2z alone at an odd end), as soon as both
 * have come; the first of a pair waits, copied, for its partner.
 */
const pyramidFeed = (
  levels: ReadonlyArray<Level>,
  writers: ReadonlyArray<ReturnType<typeof levelWriter>>,
  dtype: DType,
  labels: boolean
) => {
  // Slices of level l waiting for their partner (a resumed writer puts back those it had).
  const pending = levels.map(() => new Map<number, ArrayOf<DType>>())
  const feed = async (l: number, z: number, data: ArrayOf<DType>): Promise<void> => {
    await writers[l]!.put(z, data)
    if (l + 1 >= levels.length) return
    const parentZ = z >> 1
    const partner = z ^ 1
    const below = levels[l]!.shape
    if (partner >= below[0]) {
      return feed(l + 1, parentZ, downsample([data], below, levels[l + 1]!.shape, dtype, labels))
    }
    const other = pending[l]!.get(partner)
    if (other === undefined) {
      pending[l]!.set(z, copyOf(data))
      return
    }
    pending[l]!.delete(partner)
    const pair = z < partner ? [data, other] : [other, data]
    return feed(l + 1, parentZ, downsample(pair, below, levels[l + 1]!.shape, dtype, labels))
  }
  return { feed: (z: number, data: ArrayOf<DType>) => feed(0, z, data), pending }
}

/** Slice z of level l as raw bytes: from the row log, or from the store's chunks. */
type SliceOf = (l: number, z: number) => Promise<Uint8Array>

/**
 * Puts back the pyramid an interrupted run had built from the level-0 slices `kept` (complete
 * rows in the store, the rest in the row log): each level's complete rows are marked done, its
 * incomplete rows filled again, and each slice still waiting for its partner put back into
 * `pending`. The slices of level l + 1 an interrupted run made are those whose level-l slices it
 * had (both, or the one at an odd end).
 */
const restorePyramid = async (
  levels: ReadonlyArray<Level>,
  writers: ReadonlyArray<ReturnType<typeof levelWriter>>,
  pending: ReadonlyArray<Map<number, ArrayOf<DType>>>,
  kept: ReadonlySet<number>,
  dtype: DType,
  sliceOf: SliceOf
): Promise<void> => {
  let have = kept
  for (let l = 0; l < levels.length; l++) {
    await writers[l]!.restore(have, (z) => sliceOf(l, z))
    if (l + 1 >= levels.length) return
    const below = levels[l]!.shape[0]
    const above = new Set<number>()
    for (const z of have) {
      const partner = z ^ 1
      if (partner >= below || have.has(partner)) above.add(z >> 1)
      else pending[l]!.set(z, typedSlice(dtype, await sliceOf(l, z)))
    }
    have = above
  }
}

/** A slice of `dtype` holding a copy of `bytes`. */
const typedSlice = (dtype: DType, bytes: Uint8Array): ArrayOf<DType> => {
  const slice = allocSlice(dtype, bytes.byteLength / bytesPerVoxel(dtype))
  new Uint8Array(slice.buffer, slice.byteOffset, slice.byteLength).set(bytes)
  return slice
}

/**
 * Writes the metadata that declares the arrays, the group's last, and moves the temporary store
 * to `path`: an existing store is moved aside first and removed once the new one is in place.
 */
const commitStore = (
  path: string,
  store: TemporaryStore,
  levels: ReadonlyArray<Level>,
  writers: ReadonlyArray<ReturnType<typeof levelWriter>>,
  info: VolumeInfo,
  options: ZarrSinkOptions,
  version: 2 | 3,
  codec: CodecChoice
): Effect.Effect<void, IoError> =>
  Effect.gen(function* () {
    const ome = options.ome !== undefined
    const { temp, writeObject } = store
    yield* attempt(path, "write", async () => {
      for (const w of writers) w.check()
      // Array metadata, then (for OME) the group metadata that declares the image: last.
      for (const l of levels) {
        const m = arrayMetadata(version, l, info.dtype, codec, ome)
        await writeObject(m.key, m.bytes)
      }
      if (ome) for (const m of omeMetadata(version, levels, options.ome!, info.geometry)) await writeObject(m.key, m.bytes)
      else if (version === 2) await writeObject(".zattrs", json({}))
    })
    yield* checkReplaceableStore(path)
    yield* attempt(path, "rename", async () => {
      const kind = fs.existsSync(path)
      if (!kind) {
        await fs.promises.rename(temp, path)
      } else {
        const aside = `${temporaryName(path)}-old`
        await fs.promises.rename(path, aside)
        try {
          await fs.promises.rename(temp, path)
        } catch (e) {
          await fs.promises.rename(aside, path)
          throw e
        }
        await fs.promises.rm(aside, { recursive: true, force: true })
      }
    })
    store.state.committed = true
  })

/**
 * The writer of a Zarr store. Resumable (docs/RESUME.md): with `resume`, its checkpoints (`sync`)
 * flush every object and directory written, and append the slices of the chunk-rows still being
 * filled (and of the pyramid's waiting slices) raw to a row log beside the store
 * (`<temporary>-rows`, row-log.ts), so that every slice a journal counts is on disk without
 * encoding a chunk twice; reopened over an interrupted run's store and log, it reads its slices
 * back from there and puts back its pyramid before its first write (`restorePyramid`).
 */
const createWriter = <D extends DType>(
  path: string,
  info: VolumeInfo<D>,
  options: ZarrSinkOptions,
  version: 2 | 3,
  codec: CodecChoice,
  resume?: StoreResume
): Effect.Effect<ResumableWriter<D>, IoError, Scope.Scope> =>
  Effect.gen(function* () {
    const [depth, height, width] = info.shape
    if (![depth, height, width].every((n) => Number.isSafeInteger(n) && n >= 1))
      return yield* new UnsupportedError({ path, detail: `shape ${info.shape.join("×")}: every axis needs at least one voxel` })
    if (options.chunks && !options.chunks.every((c) => Number.isSafeInteger(c) && c >= 1))
      return yield* new UnsupportedError({ path, detail: `chunk shape ${options.chunks.join("×")}`, hint: "chunks are whole numbers ≥ 1, e.g. 64,64,64" })
    yield* checkReplaceableStore(path)
    const ome = options.ome !== undefined
    const levels = levelsOf(info, options)
    if (ome && (!Number.isInteger(levels.length) || levels.length < 1 || levels.length > 16))
      return yield* new UnsupportedError({ path, detail: `${options.ome!.levels} pyramid levels`, hint: "1…16" })
    const chunks = yield* attempt(path, "create", () => chunkCodec({ ...codec, dtype: info.dtype }))
    const store = yield* temporaryStore(path, resume)
    const concurrency = options.concurrency ?? 4
    const writers = levels.map((l) => levelWriter(l, info.dtype, version, ome, chunks, store, concurrency))
    const { feed, pending } = pyramidFeed(levels, writers, info.dtype, options.ome?.labels === true)
    const seen = new Uint8Array(depth)
    let finished = false
    // A checkpoint's flush and the writes take turns: both write the chunk-rows being filled.
    let turn: Promise<unknown> = Promise.resolve()
    const inTurn = <A>(f: () => Promise<A>): Promise<A> => {
      const next = turn.then(f)
      turn = next.catch(() => undefined)
      return next
    }
    // The row log of a resumable writer (a temporary of the output too): what each checkpoint
    // appended, and what is still needed.
    const reuseLog = resume?.reuseLog
    if (reuseLog !== undefined && !reuseLog.startsWith(`${path}.partial-`)) {
      return yield* new FormatError({ path, position: "journal", detail: `${reuseLog} is not a temporary of this output` })
    }
    const rowLogPath = reuseLog ?? temporaryName(path)
    const rowLog = resume === undefined ? undefined : yield* attempt(path, "create", async () => openRowLog(rowLogPath, reuseLog !== undefined))
    if (rowLog !== undefined) yield* Effect.addFinalizer(() => Effect.sync(() => {
      rowLog.close()
      if (store.state.committed || resume?.keep?.() !== true) fs.rmSync(rowLogPath, { force: true })
    }))
    // Where each slice the log holds is in it.
    const logged = new Map<string, { readonly offset: number; readonly length: number }>()
    let liveBefore = new Set<string>()
    // The interrupted run's log, read once (for read-backs and the restore).
    let recovered: Map<string, Uint8Array> | undefined
    const sliceOf: SliceOf = async (l, z) => (recovered ??= rowLog?.read() ?? new Map()).get(rowLogKey(l, z)) ?? (await writers[l]!.readChunkSlice(z))
    // Slices an interrupted run wrote (markWritten), put back once, before anything else is written.
    const kept = new Set<number>()
    let restored = false
    const restoreOnce = async () => {
      if (restored) return
      restored = true
      if (kept.size > 0) await restorePyramid(levels, writers, pending, kept, info.dtype, sliceOf)
      // Kept in the log as it was read: found by reading it whole again if a compaction needs them.
      for (const key of recovered?.keys() ?? []) logged.set(key, { offset: -1, length: 0 })
      liveBefore = new Set(logged.keys())
    }
    /** Appends what the unfinished rows and waiting slices hold that the log does not, compacting it when it holds mostly old records. */
    const logRows = (log: RowLog) => {
      const live = new Map<string, Uint8Array>()
      writers.forEach((w, l) => {
        for (const [z, bytes] of w.unfinished()) live.set(rowLogKey(l, z), bytes)
        for (const [z, data] of pending[l] ?? []) live.set(rowLogKey(l, z), new Uint8Array(data.buffer, data.byteOffset, data.byteLength))
      })
      let liveBytes = 0
      for (const [key, bytes] of live) {
        liveBytes += bytes.byteLength
        if (logged.has(key)) continue
        const [l, z] = key.split(":").map(Number) as [number, number]
        logged.set(key, { offset: log.append(l, z, bytes), length: bytes.byteLength })
      }
      // The last journal may still need what was live at the last checkpoint: kept too, read back
      // from where the log has them.
      if (log.size() > 2 * liveBytes + 16 * 2 ** 20) {
        const keep = new Map(live)
        let whole: Map<string, Uint8Array> | undefined
        for (const key of liveBefore) {
          const at = logged.get(key)
          if (keep.has(key) || at === undefined) continue
          keep.set(key, at.offset >= 0 ? log.readAt(at.offset, at.length) : (whole ??= log.read()).get(key)!)
        }
        const offsets = log.rewrite(keep)
        logged.clear()
        for (const [key, bytes] of keep) logged.set(key, { offset: offsets.get(key)!, length: bytes.byteLength })
      }
      log.sync()
      liveBefore = new Set(live.keys())
    }
    const write = (z: number, data: ArrayOf<D>): Effect.Effect<void, IoError> => {
      if (finished) return Effect.die(new Error(`${path}: write after commit`))
      if (!Number.isInteger(z) || z < 0 || z >= depth) return Effect.die(new RangeError(`${path}: slice ${z} is outside 0…${depth - 1}`))
      if (data.length !== height * width) return Effect.die(new RangeError(`${path}: slice ${z} has ${data.length} voxels, a slice has ${height * width}`))
      if (seen[z]) return Effect.die(new Error(`${path}: slice ${z} written twice`))
      seen[z] = 1
      return Effect.uninterruptible(
        attempt(path, "write", () =>
          inTurn(async () => {
            await restoreOnce()
            await feed(z, data)
          })
        )
      )
    }
    const commit = Effect.suspend((): Effect.Effect<void, IoError> => {
      if (finished) return Effect.die(new Error(`${path}: commit called twice`))
      const first = seen.indexOf(0)
      if (first >= 0) {
        let count = 0
        for (const s of seen) count += s === 0 ? 1 : 0
        return Effect.fail(new FormatError({ path, position: `slice ${first}`, detail: `commit with ${count} of ${depth} slices never written (first: ${first}); the output would be incomplete` }))
      }
      finished = true
      return Effect.zipRight(
        attempt(path, "write", () => inTurn(restoreOnce)),
        commitStore(path, store, levels, writers, info, options, version, codec)
      )
    })
    const readBack = (z: number, into: ArrayOf<D>): Effect.Effect<boolean, IoError> =>
      attempt(path, "read", async () => {
        const bytes = await sliceOf(0, z).catch(() => undefined)
        if (bytes === undefined || bytes.byteLength !== into.byteLength) return false
        new Uint8Array(into.buffer, into.byteOffset, into.byteLength).set(bytes)
        return true
      })
    const sync = attempt(path, "write", () =>
      inTurn(async () => {
        await restoreOnce()
        // Complete rows' chunks first: a compacted log may leave out what they hold.
        await store.sync()
        if (rowLog !== undefined) logRows(rowLog)
      })
    )
    return {
      write: write as SliceWriter<D>["write"],
      commit,
      bytesWritten: store.bytesWritten,
      temporaries: [store.temp, rowLogPath],
      readBack,
      markWritten: (z: number) => {
        kept.add(z)
        seen[z] = 1
      },
      sync
    }
  })

const copyOf = (a: ArrayOf<DType>): ArrayOf<DType> => a.slice() as ArrayOf<DType>

/** Gathers the slices of one level into chunk-rows and writes each row's chunks when it is complete. */
const levelWriter = (
  level: Level,
  dtype: DType,
  version: 2 | 3,
  ome: boolean,
  codec: ChunkCodec,
  store: Pick<TemporaryStore, "writeObject" | "readObject">,
  concurrency: number
) => {
  const [Z, Y, X] = level.shape
  const [cz, cy, cx] = level.chunks
  const bpv = bytesPerVoxel(dtype)
  const sliceVoxels = Y * X
  // The rows being filled: their buffer, how many slices they have, and which.
  const rows = new Map<number, { buf: Uint8Array; count: number; present: Uint8Array }>()
  const spare: Array<Uint8Array> = []
  const scratch: Array<Uint8Array> = []
  const done = new Uint8Array(Math.ceil(Z / cz))
  const rowDepth = (r: number) => Math.min(cz, Z - r * cz)

  const tasks: Array<readonly [number, number]> = []
  for (let j = 0; j < Math.ceil(Y / cy); j++) for (let k = 0; k < Math.ceil(X / cx); k++) tasks.push([j, k])
  /** Calls `each(chunk offset, row offset, bytes)` for every run of bytes chunk (j, k) of row r shares with the row's buffer. */
  const spans = (r: number, j: number, k: number, each: (inChunk: number, inRow: number, bytes: number) => void) => {
    const ny = Math.min(cy, Y - j * cy)
    const nx = Math.min(cx, X - k * cx)
    for (let dz = 0; dz < rowDepth(r); dz++)
      for (let dy = 0; dy < ny; dy++) each(((dz * cy + dy) * cx) * bpv, (dz * sliceVoxels + (j * cy + dy) * X + k * cx) * bpv, nx * bpv)
  }

  /** Writes the chunks of row r from its buffer (all of it, or as far as it is filled). */
  const writeRow = (r: number, buf: Uint8Array) =>
    pool(tasks, concurrency, async ([j, k]) => {
      const chunk = scratch.pop() ?? new Uint8Array(cz * cy * cx * bpv)
      try {
        // Edge chunks are full size, padded with the fill value 0.
        chunk.fill(0)
        spans(r, j, k, (inChunk, inRow, bytes) => chunk.set(buf.subarray(inRow, inRow + bytes), inChunk))
        await store.writeObject(chunkKey(version, level, ome, [r, j, k]), await codec.encode(chunk))
      } finally {
        scratch.push(chunk)
      }
    })

  /** Reads row r's chunks into `buf`; false when one of them is not there. */
  const readRow = async (r: number, buf: Uint8Array): Promise<boolean> => {
    let whole = true
    await pool(tasks, concurrency, async ([j, k]) => {
      const stored = await store.readObject(chunkKey(version, level, ome, [r, j, k]))
      if (stored === undefined) return void (whole = false)
      const chunk = await codec.decode(stored)
      spans(r, j, k, (inChunk, inRow, bytes) => buf.set(chunk.subarray(inChunk, inChunk + bytes), inRow))
    })
    return whole
  }

  const flushRow = async (r: number, buf: Uint8Array) => {
    await writeRow(r, buf)
    done[r] = 1
  }
  const rowBuffer = () => spare.pop() ?? new Uint8Array(cz * sliceVoxels * bpv)
  // The row readSlice read last (dropped on any write: a read-back comes before them).
  let lastRead: { readonly r: number; readonly buf: Uint8Array } | undefined

  return {
    put: async (z: number, data: ArrayOf<DType>) => {
      lastRead = undefined
      const r = Math.floor(z / cz)
      let row = rows.get(r)
      if (row === undefined) {
        row = { buf: rowBuffer(), count: 0, present: new Uint8Array(cz) }
        rows.set(r, row)
      }
      row.buf.set(new Uint8Array(data.buffer, data.byteOffset, sliceVoxels * bpv), (z - r * cz) * sliceVoxels * bpv)
      row.present[z - r * cz] = 1
      row.count++
      if (row.count === rowDepth(r)) {
        rows.delete(r)
        await flushRow(r, row.buf)
        spare.push(row.buf)
      }
    },
    /** The slices of the rows being filled, as views of their buffers (valid until the next put). */
    unfinished: (): Array<readonly [number, Uint8Array]> => {
      const out: Array<readonly [number, Uint8Array]> = []
      const bytes = sliceVoxels * bpv
      for (const [r, row] of rows) {
        for (let dz = 0; dz < rowDepth(r); dz++) if (row.present[dz] === 1) out.push([r * cz + dz, row.buf.subarray(dz * bytes, (dz + 1) * bytes)])
      }
      return out
    },
    /**
     * Puts back the slices `have` of this level that an interrupted run wrote: their complete rows
     * are done (their chunks are in the store), the others filled again from `sliceOf`.
     */
    restore: async (have: ReadonlySet<number>, sliceOf: (z: number) => Promise<Uint8Array>) => {
      const bytes = sliceVoxels * bpv
      const byRow = new Map<number, Array<number>>()
      for (const z of have) byRow.set(Math.floor(z / cz), [...(byRow.get(Math.floor(z / cz)) ?? []), z])
      for (const [r, zs] of byRow) {
        if (zs.length === rowDepth(r)) {
          done[r] = 1
          continue
        }
        const row = { buf: rowBuffer(), count: zs.length, present: new Uint8Array(cz) }
        for (const z of zs) {
          row.buf.set(await sliceOf(z), (z - r * cz) * bytes)
          row.present[z - r * cz] = 1
        }
        rows.set(r, row)
      }
    },
    /** Slice z of this level as raw bytes, read back from the store's chunks (its row must be complete there). */
    readChunkSlice: async (z: number): Promise<Uint8Array> => {
      const r = Math.floor(z / cz)
      // Slices are read back in order, before anything is written: one read of each row.
      if (lastRead?.r !== r) {
        const buf = new Uint8Array(rowDepth(r) * sliceVoxels * bpv)
        if (!(await readRow(r, buf))) throw new Error(`level ${level.dir || 0} chunk-row ${r} is not in the store`)
        lastRead = { r, buf }
      }
      return lastRead.buf.slice((z - r * cz) * sliceVoxels * bpv, (z - r * cz + 1) * sliceVoxels * bpv)
    },
    /** Throws unless every chunk-row was written (a pyramid bug would otherwise pass silently). */
    check: () => {
      const r = done.indexOf(0)
      if (r >= 0) throw new Error(`slicewise: level ${level.dir || 0} chunk-row ${r} was never completed`)
    }
  }
}

/**
 * One slice of the next level: the 2×2×2 mean (cast by the one cast rule) or mode (ties to the
 * smaller value) of one or two slices of the level below. Blocks at odd edges use the voxels there.
 */
const downsample = (
  slices: ReadonlyArray<ArrayOf<DType>>,
  below: readonly [number, number, number],
  above: readonly [number, number, number],
  dtype: DType,
  labels: boolean
): ArrayOf<DType> => {
  const [, Y, X] = below
  const [, y2, x2] = above
  const Ctor = slices[0]!.constructor as new (n: number) => ArrayOf<DType>
  const out = new Ctor(y2 * x2)
  const o = out as unknown as { [i: number]: number }
  const vals = new Float64Array(8)
  const float = isFloat(dtype)
  for (let y = 0; y < y2; y++) {
    for (let x = 0; x < x2; x++) {
      let n = 0
      for (const s of slices) {
        for (let dy = 0; dy < 2; dy++) {
          const yy = 2 * y + dy
          if (yy >= Y) break
          for (let dx = 0; dx < 2; dx++) {
            const xx = 2 * x + dx
            if (xx >= X) break
            vals[n++] = s[yy * X + xx]!
          }
        }
      }
      if (labels) {
        let best = vals[0]!
        let bestCount = 0
        for (let a = 0; a < n; a++) {
          let c = 0
          for (let b = 0; b < n; b++) if (vals[b] === vals[a]) c++
          if (c > bestCount || (c === bestCount && vals[a]! < best)) {
            best = vals[a]!
            bestCount = c
          }
        }
        o[y * x2 + x] = best
      } else {
        let sum = 0
        for (let a = 0; a < n; a++) sum += vals[a]!
        o[y * x2 + x] = float ? sum / n : castValue(dtype, sum / n)
      }
    }
  }
  return out
}

/** The sink for a `.zarr` / `.ome.zarr` path under the generic sink options. */
export const zarrSinkFor = (path: string, options: SinkOptions): Effect.Effect<ZarrSink, IoError> => {
  const ome = /\.ome\.zarr$/i.test(path) || options.levels !== undefined || options.labels !== undefined
  const codec: CodecChoice = {
    codec: options.codec ?? "zstd",
    ...(options.compressionLevel !== undefined ? { level: options.compressionLevel } : {})
  }
  return Effect.succeed(
    zarrSink(path, {
      version: options.zarrVersion ?? 2,
      codec,
      ...(options.chunks ? { chunks: options.chunks } : {}),
      ...(ome ? { ome: { ...(options.levels !== undefined ? { levels: options.levels } : {}), labels: options.labels === true } } : {})
    })
  )
}
