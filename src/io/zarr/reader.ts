/**
 * Reading Zarr v2/v3 arrays (plain, sharded, or one level of an OME-Zarr image) slice by slice,
 * from a local directory or over HTTP.
 *
 * A slice stream over a chunked store reads a slab: one chunk-row (all chunks, or shards, whose z
 * range holds the slice) is fetched and decoded into a buffer of cz · y · x voxels, and slices
 * are copied out of it until the stream moves to the next chunk-row. Read in z order, up or down,
 * every stored object is read exactly once. The objects of a row are fetched and decoded several
 * at a time (8 locally, 16 over HTTP), each straight into its place in the slab.
 *
 * Over HTTP, a request that fails transiently (a dropped connection, a stall, 5xx) is retried with
 * backoff and a timeout per attempt (`http` option, ./http.ts); a partial body is discarded and the
 * whole object fetched again, so only whole objects reach the slab and the byte count.
 *
 * Where zarrita's own `get` is slow per slice (it fetches and decodes every chunk touching the
 * slice, cz times per chunk-row, and assembles the result voxel by voxel through strides), the
 * slab reads each chunk once and copies contiguous rows; zarrita still parses the metadata and
 * runs the codec pipeline (with gzip on node:zlib).
 *
 * Byte accounting: every stored object's size is taken from the store (stat, or HEAD) when the
 * source is opened, without reading it. `sliceReadBytes(z)` is the whole chunk-row's stored bytes
 * at the row's first slice and 0 elsewhere: exact per slice for an ascending pass, exact in sum
 * over any pass that reads each row once (so descending passes too). Missing objects are fill
 * value and cost nothing.
 *
 * @example
 * ```ts
 * const src = yield* openZarr("scan.zarr")                       // v2 or v3, sharded or not
 * const lvl = yield* openZarr("cells.ome.zarr", { level: 2 })    // an OME-Zarr level
 * const web = yield* openZarr("https://example.org/vol.zarr")    // read-only over HTTP
 * ```
 */
import { setMaxListeners } from "node:events"
import * as Effect from "effect/Effect"
import { bytesPerVoxel, isDType, type ArrayOf, type DType } from "../../algebra/dtype.js"
import { volumeInfo, type Spacing, type VolumeInfo } from "../../algebra/volume.js"
import { IDENTITY_DIRECTION, isDefaultGeometry, parseLengthUnit, unitFactor, type Geometry } from "../../algebra/geometry.js"
import { fileError, FormatError, UnsupportedError, type IoError } from "../../algebra/io-errors.js"
import { attempt, isIoError } from "../files.js"
import type { SliceReader, SliceSource } from "../../algebra/slices.js"
import { declaredSize, loadZarrita } from "./codecs.js"
import { gridOf, locateArray, type Grid, type Located } from "./metadata.js"
import type { HttpOptions } from "./http.js"
import { backendFor, pool, withSignal, type Backend } from "./store.js"

export interface ZarrOptions {
  /** OME-Zarr: the resolution level (default 0). */
  readonly level?: number
  /** Index along a leading time axis ("t", or the first of more than three axes); default 0. */
  readonly t?: number
  /** Index along a channel axis ("c"); default 0. */
  readonly c?: number
  /** What a missing chunk is: "fill" (the Zarr rule, default) or "error" (when every chunk should be there). */
  readonly missingChunks?: "fill" | "error"
  /** Objects fetched and decoded at a time (default 8 locally, 16 over HTTP). */
  readonly concurrency?: number
  /**
   * HTTP(S) stores: retries, backoff and the timeout of each attempt (defaults 5 retries, 0.5 s
   * doubling to at most 10 s, 30 s; or SLICEWISE_HTTP_RETRIES / _BACKOFF / _TIMEOUT).
   */
  readonly http?: HttpOptions
}

/** A Zarr source also tells the cost model its chunk geometry. */
export interface ZarrSource extends SliceSource {
  /** Stored bytes of each chunk-row (index r covers z in [r·cz, (r+1)·cz)). */
  readonly rowBytes: ReadonlyArray<number>
  /** Depth of a chunk-row (the outer chunk's z size). */
  readonly rowDepth: number
}

type Typed = ArrayOf<DType>

/** Minimal shape of the zarrita objects used here. */
interface ZArray {
  readonly dtype: string
  readonly shape: ReadonlyArray<number>
  readonly fillValue: unknown
  getChunk(coords: Array<number>): Promise<{ data: Typed; shape: Array<number>; stride: Array<number> }>
}

/**
 * The store zarrita sees: metadata from the backend, chunk bytes only from the slab being loaded
 * (the reader fetches them itself, counting bytes). A chunk key the reader did not put there is
 * a bug, not a fill value.
 */
class SlabStore {
  readonly slab = new Map<string, Uint8Array | undefined>()
  constructor(private readonly backend: Backend) {}
  async get(key: string): Promise<Uint8Array | undefined> {
    if (this.slab.has(key)) return this.slab.get(key)
    if (/(^|\/)(\.zarray|\.zattrs|\.zgroup|zarr\.json)$/.test(key)) return this.backend.get(key)
    throw new Error(`slicewise: zarrita asked for ${key}, which is not in the slab being loaded`)
  }
  async getRange(key: string, range: { offset: number; length: number } | { suffixLength: number }): Promise<Uint8Array | undefined> {
    const bytes = await this.get(key)
    if (bytes === undefined) return undefined
    const [start, end] = "suffixLength" in range ? [bytes.length - range.suffixLength, bytes.length] : [range.offset, range.offset + range.length]
    if (start < 0 || end > bytes.length)
      throw new FormatError({
        path: this.backend.locate(key),
        position: `byte ${Math.max(start, 0)}`,
        detail: `the shard index points at bytes ${start}…${end}, past the end of the ${bytes.length}-byte shard`,
        hint: "the shard is truncated or its index is corrupt"
      })
    return bytes.subarray(start, end)
  }
}

/** Which array axes are z, y, x, and the fixed index of every other (leading) axis. */
interface AxisMap {
  readonly names: ReadonlyArray<string>
  /** Index along each leading axis (all axes but the last three). */
  readonly lead: ReadonlyArray<number>
}

const mapAxes = (located: Located, shape: ReadonlyArray<number>, where: string, options: ZarrOptions): AxisMap => {
  const rank = shape.length
  const names = located.ome?.image.axes ?? ((located.attrs._ARRAY_DIMENSIONS as Array<string> | undefined) ?? located.meta.dimension_names as Array<string> | undefined) ?? []
  if (rank < 3)
    throw new UnsupportedError({ path: where, detail: `a ${rank}-dimensional array`, hint: "slicewise streams 3D volumes (z, y, x); a 2D image is one slice of a 3D array of depth 1" })
  if (located.ome !== undefined) {
    const tail = names.slice(-3).map((n) => n.toLowerCase())
    if (tail.join("") !== "zyx")
      throw new UnsupportedError({ path: where, detail: `OME-Zarr axes [${names.join(", ")}] do not end with z, y, x`, hint: "slicewise streams along z; a 2D or y/x-only image cannot be streamed" })
  }
  const lead = names.slice(0, rank - 3).map((n, i) => {
    const name = (n ?? "").toLowerCase()
    const want = name === "c" ? options.c ?? 0 : name === "t" ? options.t ?? 0 : i === 0 ? options.t ?? 0 : 0
    if (!Number.isInteger(want) || want < 0 || want >= shape[i]!)
      throw new UnsupportedError({ path: where, detail: `index ${want} along axis "${n}" of size ${shape[i]}`, hint: `choose 0…${shape[i]! - 1}` })
    return want
  })
  while (lead.length < rank - 3) lead.push(0)
  return { names, lead }
}

const product = (a: ReadonlyArray<number>) => a.reduce((p, n) => p * n, 1)

/**
 * Opens a Zarr array, or a level of an OME-Zarr image, as a slice source (a local directory or an
 * http(s) URL). Fails with FormatError (no array, malformed metadata, naming the field),
 * UnsupportedError (a dtype or codec slicewise cannot read, axes that are not …z, y, x) or
 * FileError. Corrupt or truncated chunks fail when read, naming the chunk.
 *
 * @example
 * ```ts
 * const src = yield* openZarr("vol.zarr")
 * src.details   // { "zarr format": 2, chunks: "64×64×64", codecs: "blosc/lz4(level 5)", … }
 * ```
 */
export const openZarr = (path: string, options: ZarrOptions = {}): Effect.Effect<ZarrSource, IoError> =>
  abortable(path, async (signal) => {
    const zarr = await loadZarrita()
    const backend = backendFor(path, options.http)
    // Requests made while opening are aborted if opening is interrupted; the readers' own are theirs.
    const opening = withSignal(backend, signal)
    const located = await locateArray(opening, options.level)
    const metaKey = `${located.prefix}/${located.zarrFormat === 3 ? "zarr.json" : ".zarray"}`
    const where = backend.locate(metaKey)
    const grid = gridOf(located, where)
    const dtype = await openArrayDtype(zarr, opening, located, where)
    const unknown = grid.registryNames.filter((n) => !zarr.registry.has(n))
    if (unknown.length > 0)
      throw new UnsupportedError({ path: where, detail: `codec ${unknown.join(", ")}`, hint: "slicewise reads raw, gzip, zlib, zstd, blosc and lz4 (and the other codecs zarrita knows)" })
    const axes = mapAxes(located, grid.shape, where, options)
    // Each reader gets its own zarrita array over its own slab store: readers never share a slab.
    const reopen = (readerSignal: AbortSignal) => openArrayDtype(zarr, withSignal(backend, readerSignal), located, where)
    return await buildSource(path, backend, opening, located, grid, dtype.dtype, axes, options, reopen)
  })

/**
 * `attempt` (read) for steps that make network requests: `f`'s signal aborts when the Effect is
 * interrupted, so an interrupted run leaves no request waiting on a stalled server.
 */
const abortable = <A>(path: string, f: (signal: AbortSignal) => Promise<A>): Effect.Effect<A, IoError> =>
  Effect.suspend(() => {
    const controller = new AbortController()
    // Every request in flight (up to the concurrency, 32 while sizes are taken) listens to it.
    setMaxListeners(0, controller.signal)
    return attempt(path, "read", () => f(controller.signal)).pipe(Effect.onInterrupt(() => Effect.sync(() => controller.abort())))
  })

const openArrayDtype = async (zarr: typeof import("zarrita"), backend: Backend, located: Located, where: string) => {
  const store = new SlabStore(backend)
  const loc = zarr.root(store as never).resolve(located.prefix || "/")
  let array: ZArray
  try {
    array = (located.zarrFormat === 3 ? await zarr.open.v3(loc, { kind: "array" }) : await zarr.open.v2(loc, { kind: "array" })) as unknown as ZArray
  } catch (e) {
    if (isIoError(e)) throw e
    throw new FormatError({ path: where, position: "metadata", detail: `zarrita cannot open the array: ${e instanceof Error ? e.message : String(e)}` })
  }
  if (!isDType(array.dtype))
    throw new UnsupportedError({ path: where, detail: `dtype ${array.dtype}`, hint: "slicewise reads uint8, int8, uint16, int16, uint32, int32, float32 and float64" })
  return { dtype: array.dtype as DType, array, store }
}

/** The chunk-rows of the (t, c)-fixed 3D volume: a slab's depth and the stored objects of each row. */
interface RowGrid {
  /** The volume's shape (z, y, x). */
  readonly shape: readonly [number, number, number]
  /** A stored object's (chunk's, or shard's) shape (z, y, x); outer[0] is a chunk-row's depth. */
  readonly outer: readonly [number, number, number]
  readonly rows: number
  /** Objects down and across one chunk-row. */
  readonly cols: readonly [number, number]
  readonly objectsPerRow: number
  /** The store key of object (j, k) of chunk-row r. */
  readonly keyOf: (r: number, j: number, k: number) => string
}

const rowGridOf = (located: Located, grid: Grid, axes: AxisMap): RowGrid => {
  const [Z, Y, X] = grid.shape.slice(-3) as [number, number, number]
  const [oz, oy, ox] = grid.outer.slice(-3) as [number, number, number]
  const leadOuter = axes.lead.map((t, i) => Math.floor(t / grid.outer[i]!))
  const cols = [Math.ceil(Y / oy), Math.ceil(X / ox)] as const
  const prefix = located.prefix
  return {
    shape: [Z, Y, X],
    outer: [oz, oy, ox],
    rows: Math.ceil(Z / oz),
    cols,
    objectsPerRow: cols[0] * cols[1],
    keyOf: (r, j, k) => `${prefix}/${grid.key([...leadOuter, r, j, k])}`
  }
}

/** The stored objects of a RowGrid as the store held them when the source was opened. */
interface StoredObjects {
  /** Every object's key, row by row: index r · objectsPerRow + j · cols[1] + k. */
  readonly keys: ReadonlyArray<string>
  /** Every object's stored size; undefined where it is missing (fill value). */
  readonly sizes: ReadonlyArray<number | undefined>
  /** Stored bytes of each chunk-row. */
  readonly rowBytes: ReadonlyArray<number>
  readonly missing: number
}

/**
 * The most stored objects an array may have: each has its key and size held, and is stat'ed (or
 * HEAD-requested) when it is opened; larger arrays are v3 sharded ones (a shard is one object).
 */
export const MAX_OBJECTS = 2 ** 20
/** The most bytes of one slice, one chunk-row slab or one decoded chunk: each is held whole in memory. */
export const MAX_BUFFER_BYTES = 2 ** 31

/**
 * Refuses, before anything is listed or allocated, metadata whose grid could not be read: more
 * stored objects than MAX_OBJECTS, or a slice, slab or decoded chunk over MAX_BUFFER_BYTES (a
 * shape of 10¹² voxels with no chunk present is a valid Zarr array of fill values; reading it is not).
 */
const checkLimits = (where: string, grid: Grid, rows: RowGrid, bpv: number): void => {
  const [Z, Y, X] = rows.shape
  const objects = rows.rows * rows.objectsPerRow
  const refuse = (detail: string, hint: string) => {
    throw new UnsupportedError({ path: where, detail, hint })
  }
  if (objects > MAX_OBJECTS)
    refuse(`${objects} stored objects (shape ${grid.shape.join("×")}, ${grid.sharded ? "shards" : "chunks"} ${grid.outer.join("×")}); slicewise reads at most ${MAX_OBJECTS}`, "rechunk with larger chunks or shards")
  if (Y * X * bpv > MAX_BUFFER_BYTES) refuse(`a slice of ${Y * X * bpv} bytes (${Y}×${X}); slicewise holds whole slices, at most ${MAX_BUFFER_BYTES} bytes`, "crop the volume")
  if (Math.min(rows.outer[0], Z) * Y * X * bpv > MAX_BUFFER_BYTES)
    refuse(`a chunk-row of ${Math.min(rows.outer[0], Z) * Y * X * bpv} bytes (${rows.outer[0]} slices deep); slicewise holds one, at most ${MAX_BUFFER_BYTES} bytes`, "rechunk with fewer slices per chunk")
  if (product(grid.inner) * bpv > MAX_BUFFER_BYTES) refuse(`a chunk of ${product(grid.inner) * bpv} bytes (${grid.inner.join("×")}); at most ${MAX_BUFFER_BYTES}`, "rechunk with smaller chunks")
}

/** Stored sizes of every object of the grid: stat or HEAD, no voxel read. */
const storedObjects = async (backend: Backend, g: RowGrid): Promise<StoredObjects> => {
  const { rows, cols, objectsPerRow } = g
  const [Z, Y, X] = g.shape
  const sizes = new Array<number | undefined>(rows * objectsPerRow)
  const keys = Array.from({ length: rows * objectsPerRow }, (_, i) => {
    const r = Math.floor(i / objectsPerRow)
    const rest = i % objectsPerRow
    return g.keyOf(r, Math.floor(rest / cols[1]), rest % cols[1])
  })
  // Locally, one listing per directory: an object not listed is missing without a stat of its own
  // (a sparse grid of a million chunks costs a readdir, not a million failed stats).
  const listings = new Map<string, Promise<ReadonlySet<string> | undefined>>()
  const listed = (key: string): Promise<boolean> => {
    if (backend.list === undefined) return Promise.resolve(true)
    const slash = key.lastIndexOf("/")
    const dir = key.slice(0, slash)
    let names = listings.get(dir)
    if (names === undefined) listings.set(dir, (names = backend.list(dir)))
    return names.then((n) => n?.has(key.slice(slash + 1)) === true)
  }
  if (Z * Y * X > 0)
    await pool(keys, backend.remote ? 32 : 64, async (key, i) => {
      sizes[i] = (await listed(key)) ? await backend.size(key) : undefined
    })
  const rowBytes = Array.from({ length: rows }, (_, r) => {
    let s = 0
    for (let i = r * objectsPerRow; i < (r + 1) * objectsPerRow; i++) s += sizes[i] ?? 0
    return s
  })
  const missing = sizes.filter((s) => s === undefined).length
  return { keys, sizes, rowBytes, missing }
}

/** With `missingChunks: "error"`, throws a FormatError naming the first missing object. */
const checkNoneMissing = (backend: Backend, prefix: string, objects: StoredObjects, options: ZarrOptions): void => {
  const { keys, sizes, missing } = objects
  if (missing > 0 && options.missingChunks === "error") {
    const i = sizes.findIndex((s) => s === undefined)
    throw new FormatError({ path: backend.locate(keys[i]!), position: `chunk ${keys[i]!.slice(prefix.length + 1)}`, detail: `chunk missing (${missing} of ${keys.length} missing)`, hint: "a missing chunk is fill value in Zarr; pass missingChunks: \"fill\" to accept that" })
  }
}

/**
 * Voxel spacing (z, y, x) and geometry: the OME level's scale, translation and axis units (spacing
 * 1 and no geometry for a plain array). Axes in different units are converted to the x axis's.
 */
const gridGeometry = (located: Located, rank: number): { spacing: Spacing; geometry?: Geometry } => {
  const ome = located.ome
  if (ome === undefined) return { spacing: [1, 1, 1] }
  const { scale: s, translation: t } = ome.image.levels[ome.level]!
  const units = [rank - 3, rank - 2, rank - 1].map((k) => parseLengthUnit(ome.image.units[k]))
  const unit = units[2]
  const k = units.map((u) => (u === undefined || unit === undefined ? 1 : unitFactor(u, unit)))
  const spacing: Spacing = [s[rank - 3]! * k[0]!, s[rank - 2]! * k[1]!, s[rank - 1]! * k[2]!]
  const geometry: Geometry = {
    ...(unit === undefined ? {} : { unit }),
    origin: [t[rank - 1]! * k[2]!, t[rank - 2]! * k[1]!, t[rank - 3]! * k[0]!],
    direction: IDENTITY_DIRECTION
  }
  return isDefaultGeometry(geometry) ? { spacing } : { spacing, geometry }
}

/** Facts for `slicewise info`. */
const zarrDetails = (backend: Backend, located: Located, grid: Grid, axes: AxisMap, objects: StoredObjects): Record<string, string | number | boolean> => {
  const { prefix, ome } = located
  const rank = grid.shape.length
  const { keys, missing } = objects
  return {
    "zarr format": located.zarrFormat,
    store: backend.remote ? "http" : "local",
    ...(prefix ? { array: prefix.slice(1) } : {}),
    "array shape": grid.shape.join("×"),
    "stored dtype": grid.dtypeText,
    chunks: grid.inner.join("×"),
    ...(grid.sharded ? { shards: grid.outer.join("×") } : {}),
    codecs: grid.codecText,
    order: grid.order,
    "fill value": String(located.meta.fill_value ?? null),
    "chunk files": `${keys.length - missing} of ${keys.length}${missing ? ` (${missing} missing: fill value)` : ""}`,
    "stored bytes": objects.rowBytes.reduce((a, b) => a + b, 0),
    ...(axes.names.length > 0 ? { axes: axes.names.join(" ") } : {}),
    ...(axes.lead.length > 0 ? { "leading index": axes.lead.join(", ") } : {}),
    ...(ome
      ? {
          "ngff version": ome.image.version,
          level: `${ome.level} of ${ome.image.levels.length}`,
          levels: ome.image.levels.map((l) => `${l.path}: scale ${l.scale.slice(-3).join("×")}`).join("; "),
          ...(ome.image.units[rank - 1] ? { unit: String(ome.image.units[rank - 1]) } : {})
        }
      : {})
  }
}

/** What every reader of one source shares. */
interface SlabPlan {
  readonly path: string
  readonly backend: Backend
  readonly prefix: string
  readonly grid: Grid
  /** Index along each leading axis. */
  readonly lead: ReadonlyArray<number>
  readonly dtype: DType
  readonly rows: RowGrid
  /** Stored sizes when the source was opened: a read that finds another size fails. */
  readonly sizes: ReadonlyArray<number | undefined>
  /** Objects fetched and decoded at a time. */
  readonly limit: number
  /**
   * A v2 array stored raw or with one compressor: its numcodecs id ("raw" for none), whose header
   * states each chunk's decoded size (checked against the chunk's size before decoding).
   */
  readonly v2Codec: string | undefined
}

const buildSource = async (
  path: string,
  backend: Backend,
  opening: Backend,
  located: Located,
  grid: Grid,
  dtype: DType,
  axes: AxisMap,
  options: ZarrOptions,
  reopen: (signal: AbortSignal) => Promise<{ readonly array: ZArray; readonly store: SlabStore }>
): Promise<ZarrSource> => {
  const rows = rowGridOf(located, grid, axes)
  checkLimits(backend.locate(`${located.prefix}/${located.zarrFormat === 3 ? "zarr.json" : ".zarray"}`), grid, rows, bytesPerVoxel(dtype))
  const objects = await storedObjects(opening, rows)
  checkNoneMissing(backend, located.prefix, objects, options)
  const [Z, Y, X] = rows.shape
  const oz = rows.outer[0]
  const { spacing, geometry } = gridGeometry(located, grid.shape.length)
  const info: VolumeInfo = volumeInfo(dtype, [Z, Y, X], spacing, geometry)
  const limit = options.concurrency ?? (backend.remote ? 16 : 8)
  const v2Codec = located.zarrFormat === 2 && grid.codecs.length <= 1 ? (grid.codecs[0] ?? "raw") : undefined
  const plan: SlabPlan = { path, backend, prefix: located.prefix, grid, lead: axes.lead, dtype, rows, sizes: objects.sizes, limit, v2Codec }
  const bpv = bytesPerVoxel(dtype)
  const slabVoxels = Math.min(oz, Z) * Y * X
  const innerBytes = product(grid.inner) * bpv
  const maxObject = objects.sizes.reduce<number>((m, s) => Math.max(m, s ?? 0), 0)
  const inFlight = Math.min(limit, rows.objectsPerRow)
  const details = zarrDetails(backend, located, grid, axes, objects)
  const rowBytes = objects.rowBytes
  return {
    format: located.ome ? "ome-zarr" : "zarr",
    path,
    info,
    details,
    sliceReadBytes: (z) => (z % oz === 0 ? rowBytes[z / oz]! : 0),
    readerBufferBytes: slabVoxels * bpv + inFlight * (maxObject + 2 * innerBytes),
    rowBytes,
    rowDepth: oz,
    open: Effect.map(abortable(path, reopen), ({ array, store }) => makeReader(plan, array, store))
  }
}

/**
 * A reader with a slab of its own: a slice in the slab's chunk-row is copied out of it; any other
 * slice first loads its chunk-row, every object of it fetched and decoded once.
 */
const makeReader = (plan: SlabPlan, array: ZArray, slabStore: SlabStore): SliceReader => {
  const { path, backend, rows, sizes, limit, dtype } = plan
  const [Z, Y, X] = rows.shape
  const oz = rows.outer[0]
  const sliceVoxels = Y * X
  const slabVoxels = Math.min(oz, Z) * sliceVoxels
  let bytesRead = 0
  let slab: Typed | undefined
  let slabRow = -1

  const loadRow = async (r: number, signal: AbortSignal) => {
    slabRow = -1
    slab ??= new (ctorOf(dtype))(slabVoxels) as Typed
    const target = slab
    const z0 = r * oz
    const depth = Math.min(oz, Z - z0)
    const objects = Array.from({ length: rows.objectsPerRow }, (_, i) => i)
    await pool(objects, limit, async (i) => {
      const j = Math.floor(i / rows.cols[1])
      const k = i % rows.cols[1]
      const key = rows.keyOf(r, j, k)
      const expected = sizes[r * rows.objectsPerRow + i]
      // A missing object is fill value: written into its region here, without a decoded chunk of fill.
      if (expected === undefined) return fillRegion(target, rows, j, k, depth, Number(array.fillValue ?? 0))
      const bytes = await getObject(backend, key, signal, z0, depth)
      if (bytes !== undefined) bytesRead += bytes.length
      checkObject(plan, key, bytes, expected)
      if (bytes !== undefined) checkDeclaredSize(plan, key, bytes)
      slabStore.slab.set(key, bytes)
      try {
        await decodeInto(plan, array, target, r, j, k, z0, depth, key)
      } finally {
        slabStore.slab.delete(key)
      }
    })
    slabRow = r
  }

  const read = (z: number, into: Typed): Effect.Effect<void, IoError> => {
    if (!Number.isInteger(z) || z < 0 || z >= Z) return Effect.die(new RangeError(`${path}: slice ${z} is outside 0…${Z - 1}`))
    if (into.length !== sliceVoxels || bytesPerVoxel(dtype) !== into.BYTES_PER_ELEMENT)
      return Effect.die(new RangeError(`${path}: slice buffer has ${into.length} voxels, a slice has ${sliceVoxels}`))
    const r = Math.floor(z / oz)
    const copy = Effect.sync(() => {
      const off = (z - r * oz) * sliceVoxels
      into.set(slab!.subarray(off, off + sliceVoxels) as never)
    })
    if (r === slabRow) return copy
    return Effect.zipRight(
      abortable(path, (signal) => loadRow(r, signal)),
      copy
    )
  }
  return { read, bytesRead: () => bytesRead }
}

/**
 * Object `key` of the chunk-row of slices `z0`…`z0 + depth − 1`, read whole. A failure the backend
 * did not type (a local read's EIO) names the object and its slices rather than the store: an
 * object is read whole, so there is no byte to name.
 *
 * @example
 * ```ts
 * await getObject(backend, "/4.1.0", signal, 64, 16)
 * // on EIO: "cannot read /data/in.zarr/4.1.0: slices 64…79: input/output error"
 * ```
 */
const getObject = async (backend: Backend, key: string, signal: AbortSignal, z0: number, depth: number): Promise<Uint8Array | undefined> => {
  try {
    return await backend.get(key, signal)
  } catch (e) {
    throw isIoError(e) ? e : fileError(backend.locate(key), "read", e, depth > 1 ? `slices ${z0}…${z0 + depth - 1}` : `slice ${z0}`)
  }
}

/** Sets the slab region of object (j, k) of a chunk-row (`depth` slices) to `value`. */
const fillRegion = (slab: Typed, rows: RowGrid, j: number, k: number, depth: number, value: number): void => {
  const [, Y, X] = rows.shape
  const [, oy, ox] = rows.outer
  const x0 = k * ox
  const x1 = Math.min(X, x0 + ox)
  for (let z = 0; z < depth; z++)
    for (let y = j * oy; y < Math.min(Y, (j + 1) * oy); y++) slab.fill(value as never, (z * Y + y) * X + x0, (z * Y + y) * X + x1)
}

/** Throws unless a fetched object is as the store held it when the source was opened. */
const checkObject = (plan: SlabPlan, key: string, bytes: Uint8Array | undefined, expected: number | undefined): void => {
  const { backend, prefix } = plan
  if (bytes !== undefined) {
    if (bytes.length !== expected)
      throw new FormatError({ path: backend.locate(key), position: `chunk ${key.slice(prefix.length + 1)}`, detail: `the object holds ${bytes.length} bytes; it held ${expected} when the store was opened`, hint: "the store changed while it was read" })
  } else if (expected !== undefined) {
    throw new FormatError({ path: backend.locate(key), position: `chunk ${key.slice(prefix.length + 1)}`, detail: "the object disappeared after the store was opened" })
  }
}

/**
 * A v2 chunk (raw, or with one compressor) whose own header states a decoded size other than the
 * chunk's (its shape × the dtype's bytes) fails before decoding: zarrita would read the decoded bytes
 * as the whole voxels they hold, however many that is.
 */
const checkDeclaredSize = (plan: SlabPlan, key: string, bytes: Uint8Array): void => {
  if (plan.v2Codec === undefined) return
  const declared = declaredSize(plan.v2Codec, bytes)
  const need = product(plan.grid.inner) * bytesPerVoxel(plan.dtype)
  if (declared === undefined || declared === (plan.v2Codec === "gzip" ? need % 2 ** 32 : need)) return
  const why = plan.v2Codec === "raw" ? "uncompressed" : `its ${plan.v2Codec} header says`
  throw new FormatError({
    path: plan.backend.locate(key),
    position: `chunk ${key.slice(plan.prefix.length + 1).split(/[./]/).join(".")}`,
    detail: `the chunk decodes to ${declared} bytes (${why}); its shape ${plan.grid.inner.join("×")} of ${plan.dtype} needs ${need}`,
    hint: "the chunk is truncated or corrupt, or the metadata's dtype or chunk shape is wrong"
  })
}

/** Decodes every inner chunk of outer object (r, j, k), whose chunk-row starts at z0, into `slab`. */
const decodeInto = async (plan: SlabPlan, array: ZArray, slab: Typed, r: number, j: number, k: number, z0: number, depth: number, key: string) => {
  const { grid, backend } = plan
  const [Z, Y, X] = plan.rows.shape
  const [oz, oy, ox] = plan.rows.outer
  const [iz, iy, ix] = grid.inner.slice(-3) as [number, number, number]
  const leadInner = plan.lead.map((t, a) => Math.floor(t / grid.inner[a]!))
  const leadOffset = plan.lead.map((t, a) => t % grid.inner[a]!)
  const per = [oz / iz, oy / iy, ox / ix] as const
  for (let a = 0; a < per[0]; a++) {
    const zc = r * per[0] + a
    if (zc * iz >= Math.min(Z, z0 + depth)) break
    for (let b = 0; b < per[1]; b++) {
      const yc = j * per[1] + b
      if (yc * iy >= Y) break
      for (let c = 0; c < per[2]; c++) {
        const xc = k * per[2] + c
        if (xc * ix >= X) break
        const coords = [...leadInner, zc, yc, xc]
        let chunk: { data: Typed; shape: Array<number>; stride: Array<number> }
        try {
          chunk = await array.getChunk(coords)
        } catch (e) {
          if (isIoError(e)) throw e
          const cause = e instanceof Error ? (e.cause instanceof Error ? `${e.message}: ${e.cause.message}` : e.message) : String(e)
          throw new FormatError({ path: backend.locate(key), position: `chunk ${coords.join(".")}`, detail: `cannot decode: ${cause}`, hint: "the chunk is corrupt, truncated or not in the declared codec" })
        }
        if (chunk.data.length !== product(grid.inner))
          throw new FormatError({
            path: backend.locate(key),
            position: `chunk ${coords.join(".")}`,
            detail: `the chunk decodes to ${chunk.data.length} voxels; its shape ${grid.inner.join("×")} needs ${product(grid.inner)}`,
            hint: "the chunk is truncated, or the metadata's dtype or chunk shape is wrong"
          })
        copyChunk(slab, X, Y * X, chunk, leadOffset, zc * iz - z0, yc * iy, xc * ix, Math.min(iz, Z - zc * iz), Math.min(iy, Y - yc * iy), Math.min(ix, X - xc * ix))
      }
    }
  }
}

/** Copies the in-volume part of a decoded chunk to slab position (sz, sy, sx); slab rows are X voxels, slices sliceVoxels. */
const copyChunk = (dst: Typed, X: number, sliceVoxels: number, chunk: { data: Typed; stride: Array<number> }, leadOffset: ReadonlyArray<number>, sz: number, sy: number, sx: number, nz: number, ny: number, nx: number) => {
  const st = chunk.stride
  const [tz, ty, tx] = st.slice(-3) as [number, number, number]
  let base = 0
  leadOffset.forEach((o, a) => (base += o * st[a]!))
  const data = chunk.data
  for (let dz = 0; dz < nz; dz++) {
    for (let dy = 0; dy < ny; dy++) {
      const from = base + dz * tz + dy * ty
      const to = (sz + dz) * sliceVoxels + (sy + dy) * X + sx
      if (tx === 1) dst.set(data.subarray(from, from + nx) as never, to)
      else for (let dx = 0; dx < nx; dx++) dst[to + dx] = data[from + dx * tx]!
    }
  }
}

const ctorOf = (d: DType) =>
  ({ uint8: Uint8Array, int8: Int8Array, uint16: Uint16Array, int16: Int16Array, uint32: Uint32Array, int32: Int32Array, float32: Float32Array, float64: Float64Array })[d]
