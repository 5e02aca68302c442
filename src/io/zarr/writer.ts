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
import { bytesPerVoxel, castValue, isFloat, type ArrayOf, type DType } from "../../algebra/dtype.js"
import { sliceBytes, type VolumeInfo } from "../../algebra/volume.js"
import { geometryDrops, geometryOf, UNIT_NAMES, type Geometry } from "../../algebra/geometry.js"
import { pathKind, removeQuietly, temporaryName } from "../atomic.js"
import { FileError, FormatError, UnsupportedError, type IoError } from "../../algebra/io-errors.js"
import { attempt } from "../files.js"
import type { SinkOptions } from "../options.js"
import type { SliceSink, SliceWriter } from "../../algebra/slices.js"
import { chunkEncoder, v2Compressor, v3Codecs, type ChunkEncoder, type CodecChoice } from "./codecs.js"
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
    create: <D extends DType>(info: VolumeInfo<D>) => createWriter(path, info, options, version, codec)
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
  /** Bytes of every object written so far. */
  readonly bytesWritten: () => number
}

/** Creates `<path>.partial-…` in the scope, which removes it unless the store was committed. */
const temporaryStore = (path: string): Effect.Effect<TemporaryStore, IoError, Scope.Scope> =>
  Effect.gen(function* () {
    const temp = temporaryName(path)
    const state = { committed: false }
    yield* Effect.acquireRelease(
      attempt(path, "create", async () => {
        await fs.promises.mkdir(temp)
      }),
      () => (state.committed ? Effect.void : removeQuietly(temp))
    )
    let bytesWritten = 0
    const made = new Set<string>()
    const writeObject = async (key: string, bytes: Uint8Array) => {
      const file = nodePath.join(temp, ...key.split("/"))
      const dir = nodePath.dirname(file)
      if (!made.has(dir)) {
        await fs.promises.mkdir(dir, { recursive: true })
        made.add(dir)
      }
      await fs.promises.writeFile(file, bytes)
      bytesWritten += bytes.length
    }
    return { temp, state, writeObject, bytesWritten: () => bytesWritten }
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
  return (z: number, data: ArrayOf<DType>) => feed(0, z, data)
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

const createWriter = <D extends DType>(
  path: string,
  info: VolumeInfo<D>,
  options: ZarrSinkOptions,
  version: 2 | 3,
  codec: CodecChoice
): Effect.Effect<SliceWriter<D>, IoError, Scope.Scope> =>
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
    const encode = yield* attempt(path, "create", () => chunkEncoder({ ...codec, dtype: info.dtype }))
    const store = yield* temporaryStore(path)
    const concurrency = options.concurrency ?? 4
    const writers = levels.map((l) => levelWriter(l, info.dtype, version, ome, encode, store.writeObject, concurrency))
    const feed = pyramidFeed(levels, writers, info.dtype, options.ome?.labels === true)
    const seen = new Uint8Array(depth)
    let finished = false
    const write = (z: number, data: ArrayOf<D>): Effect.Effect<void, IoError> => {
      if (finished) return Effect.die(new Error(`${path}: write after commit`))
      if (!Number.isInteger(z) || z < 0 || z >= depth) return Effect.die(new RangeError(`${path}: slice ${z} is outside 0…${depth - 1}`))
      if (data.length !== height * width) return Effect.die(new RangeError(`${path}: slice ${z} has ${data.length} voxels, a slice has ${height * width}`))
      if (seen[z]) return Effect.die(new Error(`${path}: slice ${z} written twice`))
      seen[z] = 1
      return Effect.uninterruptible(attempt(path, "write", () => feed(z, data)))
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
      return commitStore(path, store, levels, writers, info, options, version, codec)
    })
    return { write: write as SliceWriter<D>["write"], commit, bytesWritten: store.bytesWritten }
  })

const copyOf = (a: ArrayOf<DType>): ArrayOf<DType> => a.slice() as ArrayOf<DType>

/** Gathers the slices of one level into chunk-rows and writes each row's chunks when it is complete. */
const levelWriter = (
  level: Level,
  dtype: DType,
  version: 2 | 3,
  ome: boolean,
  encode: ChunkEncoder,
  writeObject: (key: string, bytes: Uint8Array) => Promise<void>,
  concurrency: number
) => {
  const [Z, Y, X] = level.shape
  const [cz, cy, cx] = level.chunks
  const bpv = bytesPerVoxel(dtype)
  const sliceVoxels = Y * X
  const rows = new Map<number, { buf: Uint8Array; count: number }>()
  const spare: Array<Uint8Array> = []
  const scratch: Array<Uint8Array> = []
  const done = new Uint8Array(Math.ceil(Z / cz))
  const rowDepth = (r: number) => Math.min(cz, Z - r * cz)

  const flushRow = async (r: number, buf: Uint8Array) => {
    const depth = rowDepth(r)
    const tasks: Array<readonly [number, number]> = []
    for (let j = 0; j < Math.ceil(Y / cy); j++) for (let k = 0; k < Math.ceil(X / cx); k++) tasks.push([j, k])
    await pool(tasks, concurrency, async ([j, k]) => {
      const chunk = scratch.pop() ?? new Uint8Array(cz * cy * cx * bpv)
      try {
        // Edge chunks are full size, padded with the fill value 0.
        chunk.fill(0)
        const ny = Math.min(cy, Y - j * cy)
        const nx = Math.min(cx, X - k * cx)
        for (let dz = 0; dz < depth; dz++)
          for (let dy = 0; dy < ny; dy++) {
            const from = (dz * sliceVoxels + (j * cy + dy) * X + k * cx) * bpv
            chunk.set(buf.subarray(from, from + nx * bpv), ((dz * cy + dy) * cx) * bpv)
          }
        const stored = await encode(chunk)
        await writeObject(chunkKey(version, level, ome, [r, j, k]), stored)
      } finally {
        scratch.push(chunk)
      }
    })
    done[r] = 1
  }

  return {
    put: async (z: number, data: ArrayOf<DType>) => {
      const r = Math.floor(z / cz)
      let row = rows.get(r)
      if (row === undefined) {
        row = { buf: spare.pop() ?? new Uint8Array(cz * sliceVoxels * bpv), count: 0 }
        rows.set(r, row)
      }
      row.buf.set(new Uint8Array(data.buffer, data.byteOffset, sliceVoxels * bpv), (z - r * cz) * sliceVoxels * bpv)
      row.count++
      if (row.count === rowDepth(r)) {
        rows.delete(r)
        await flushRow(r, row.buf)
        spare.push(row.buf)
      }
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
