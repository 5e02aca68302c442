/**
 * Zarr metadata as slicewise needs it: which array a path names (a plain v2/v3 array, or one level
 * of an OME-Zarr image), its geometry in slicewise's (z, y, x) terms, its stored chunk grid
 * (shards, when sharded) and codecs. zarrita parses and validates the array metadata and decodes
 * chunks; this module reads the raw JSON only for what zarrita does not expose (chunk key
 * encoding, shard shape, codec names, OME multiscales).
 *
 * @example
 * ```ts
 * const found = await locateArray(backend, { level: 1 })
 * found.prefix     // "/1": the array of level 1
 * found.axes       // { lead: [0, 0], names: ["t", "c", "z", "y", "x"] }
 * ```
 */
import { FormatError, UnsupportedError } from "../../algebra/io-errors.js"
import type { Backend } from "./store.js"

export type Json = Record<string, unknown>

const decoder = new TextDecoder()

/** Reads and parses a JSON object at `key`; undefined when absent. */
export const readJson = async (backend: Backend, key: string): Promise<Json | undefined> => {
  const bytes = await backend.get(key)
  if (bytes === undefined) return undefined
  try {
    const v = JSON.parse(decoder.decode(bytes)) as unknown
    if (v === null || typeof v !== "object" || Array.isArray(v)) throw new Error("not a JSON object")
    return v as Json
  } catch (e) {
    throw new FormatError({ path: backend.locate(key), position: "byte 0", detail: `metadata is not valid JSON: ${e instanceof Error ? e.message : String(e)}` })
  }
}

/** One level of an OME-Zarr image. */
export interface OmeLevel {
  readonly path: string
  /** Scale per axis (in the image's axis order), dataset and global transformations combined. */
  readonly scale: ReadonlyArray<number>
  /** Translation per axis: the physical position of the first voxel's centre, combined likewise. */
  readonly translation: ReadonlyArray<number>
}

export interface OmeImage {
  readonly version: string
  readonly name: string | undefined
  readonly axes: ReadonlyArray<string>
  readonly units: ReadonlyArray<string | undefined>
  readonly levels: ReadonlyArray<OmeLevel>
}

export interface Located {
  /** Zarr format of the array. */
  readonly zarrFormat: 2 | 3
  /** The array's key prefix in the store ("" for the root, "/0" for level 0 of an image). */
  readonly prefix: string
  /** The array metadata as stored (.zarray or zarr.json). */
  readonly meta: Json
  /** Attributes of the array (.zattrs or zarr.json attributes). */
  readonly attrs: Json
  /** The OME image this array is a level of, and which level. */
  readonly ome?: { readonly image: OmeImage; readonly level: number }
}

interface Transform {
  readonly scale: Array<number>
  readonly translation: Array<number>
}

/** A list of scale and translation transformations, applied in order, as one scale then translation. */
const transformOf = (transforms: unknown, rank: number): Transform => {
  const scale = new Array<number>(rank).fill(1)
  const translation = new Array<number>(rank).fill(0)
  if (!Array.isArray(transforms)) return { scale, translation }
  for (const t of transforms as Array<Json>) {
    if (t?.type === "scale" && Array.isArray(t.scale) && t.scale.length === rank)
      (t.scale as Array<number>).forEach((s, i) => {
        scale[i] = scale[i]! * Number(s)
        translation[i] = translation[i]! * Number(s)
      })
    if (t?.type === "translation" && Array.isArray(t.translation) && t.translation.length === rank)
      (t.translation as Array<number>).forEach((v, i) => (translation[i] = translation[i]! + Number(v)))
  }
  return { scale, translation }
}

/** Parses the `multiscales` of an NGFF 0.4 (.zattrs) or 0.5 (zarr.json attributes.ome) image. */
export const parseMultiscales = (attrs: Json, where: string): OmeImage | undefined => {
  const ome = (attrs.ome as Json | undefined) ?? attrs
  const list = ome.multiscales
  if (!Array.isArray(list) || list.length === 0) return undefined
  const ms = list[0] as Json
  const version = String(ome.version ?? ms.version ?? "0.4")
  const rawAxes = ms.axes
  if (!Array.isArray(rawAxes))
    throw new FormatError({ path: where, position: "multiscales[0].axes", detail: "an OME-Zarr image without axes", hint: "NGFF 0.4 and later list the axes" })
  const axes = rawAxes.map((a) => (typeof a === "string" ? a : String((a as Json).name)))
  const units = rawAxes.map((a) => (typeof a === "string" ? undefined : ((a as Json).unit as string | undefined)))
  const datasets = ms.datasets
  if (!Array.isArray(datasets) || datasets.length === 0)
    throw new FormatError({ path: where, position: "multiscales[0].datasets", detail: "an OME-Zarr image without datasets" })
  const global = transformOf(ms.coordinateTransformations, axes.length)
  const levels = datasets.map((d: Json, i) => {
    if (typeof d?.path !== "string") throw new FormatError({ path: where, position: `multiscales[0].datasets[${i}].path`, detail: "a dataset without a path" })
    const own = transformOf(d.coordinateTransformations, axes.length)
    return {
      path: d.path,
      scale: own.scale.map((v, k) => v * global.scale[k]!),
      translation: own.translation.map((v, k) => v * global.scale[k]! + global.translation[k]!)
    }
  })
  return { version, name: typeof ms.name === "string" ? ms.name : undefined, axes, units, levels }
}

/**
 * Finds the array a store path names: the array at the root, or level `level` of the OME-Zarr
 * image at the root. Fails with FormatError when there is neither.
 */
export const locateArray = async (backend: Backend, level: number | undefined): Promise<Located> => {
  const v3 = await readJson(backend, "/zarr.json")
  if (v3 !== undefined) {
    if (v3.node_type === "array") return { zarrFormat: 3, prefix: "", meta: v3, attrs: (v3.attributes as Json) ?? {} }
    const image = parseMultiscales((v3.attributes as Json) ?? {}, backend.locate("/zarr.json"))
    if (image === undefined)
      throw new FormatError({ path: backend.locate("/zarr.json"), position: "attributes", detail: "a Zarr v3 group that is not an OME-Zarr image (no multiscales)", hint: "name an array inside it" })
    return levelOf(backend, image, level)
  }
  const zarray = await readJson(backend, "/.zarray")
  if (zarray !== undefined) return { zarrFormat: 2, prefix: "", meta: zarray, attrs: (await readJson(backend, "/.zattrs")) ?? {} }
  const zattrs = await readJson(backend, "/.zattrs")
  const image = zattrs === undefined ? undefined : parseMultiscales(zattrs, backend.locate("/.zattrs"))
  if (image === undefined)
    throw new FormatError({
      path: backend.root,
      position: "metadata",
      detail: "no Zarr array here: neither zarr.json nor .zarray, and no OME-Zarr multiscales in .zattrs",
      hint: "name the array's directory (for a group, the array inside it)"
    })
  return levelOf(backend, image, level)
}

const levelOf = async (backend: Backend, image: OmeImage, level: number | undefined): Promise<Located> => {
  const l = level ?? 0
  if (!Number.isInteger(l) || l < 0 || l >= image.levels.length)
    throw new UnsupportedError({ path: backend.root, detail: `level ${l} of an image with ${image.levels.length} levels`, hint: `choose 0…${image.levels.length - 1}` })
  const prefix = "/" + image.levels[l]!.path.replace(/^\/+|\/+$/g, "")
  const v3 = await readJson(backend, `${prefix}/zarr.json`)
  if (v3 !== undefined && v3.node_type === "array") return { zarrFormat: 3, prefix, meta: v3, attrs: (v3.attributes as Json) ?? {}, ome: { image, level: l } }
  const zarray = await readJson(backend, `${prefix}/.zarray`)
  if (zarray === undefined)
    throw new FormatError({ path: backend.locate(prefix), position: `multiscales[0].datasets[${l}]`, detail: `level ${l} names "${image.levels[l]!.path}", which holds no Zarr array` })
  return { zarrFormat: 2, prefix, meta: zarray, attrs: (await readJson(backend, `${prefix}/.zattrs`)) ?? {}, ome: { image, level: l } }
}

/** The stored chunk grid: outer chunk (shard) shape, inner chunk shape and the key encoder. */
export interface Grid {
  readonly shape: ReadonlyArray<number>
  /** The shape of one stored object (a chunk, or a shard). */
  readonly outer: ReadonlyArray<number>
  /** The shape of one decoded chunk (= outer unless sharded). */
  readonly inner: ReadonlyArray<number>
  readonly sharded: boolean
  /** The key of the stored object at outer-grid coordinates, relative to the array ("0.1.2", "c/0/1/2"). */
  readonly key: (coords: ReadonlyArray<number>) => string
  /** Codec names, outermost last, for `info` and for checking they can be decoded. */
  readonly codecs: ReadonlyArray<string>
  readonly codecText: string
  /** The registry names zarrita will look up. */
  readonly registryNames: ReadonlyArray<string>
  readonly dtypeText: string
  readonly order: string
}

const describe = (c: Json): string => {
  const cfg = (c.configuration ?? {}) as Json
  const name = String(c.name ?? c.id)
  const level = cfg.level ?? cfg.clevel ?? c.level ?? c.clevel
  const cname = cfg.cname ?? c.cname
  return `${name}${cname ? `/${cname}` : ""}${level !== undefined ? `(level ${level})` : ""}`
}

/**
 * A codec list as the metadata gives it (absent or null: none), each codec an object naming itself
 * by `key` ("id" in v2, "name" in v3). Checked here: zarrita would iterate a string's characters
 * as codecs and leave the lookups it does not await to reject unhandled.
 */
const codecList = (value: unknown, field: string, key: "id" | "name", bad: (field: string, detail: string) => FormatError): Array<Json> => {
  if (value === null || value === undefined) return []
  if (!Array.isArray(value)) throw bad(field, `${JSON.stringify(value).slice(0, 80)} is not a list of codecs`)
  const wrong = value.findIndex((c: unknown) => typeof c !== "object" || c === null || Array.isArray(c) || typeof (c as Json)[key] !== "string")
  if (wrong >= 0) throw bad(field, `codec ${wrong} has no ${key}: ${JSON.stringify(value[wrong]).slice(0, 80)}`)
  return value as Array<Json>
}

/** Reads the grid from raw array metadata. */
export const gridOf = (located: Located, where: string): Grid => {
  const m = located.meta
  const shape = m.shape as Array<number>
  const bad = (field: string, detail: string) => new FormatError({ path: where, position: `metadata field ${field}`, detail })
  if (!Array.isArray(shape) || !shape.every((n) => Number.isSafeInteger(n) && n >= 0)) throw bad("shape", `shape ${JSON.stringify(m.shape)} is not a list of sizes`)
  if (located.zarrFormat === 2) {
    const chunks = m.chunks as Array<number>
    if (!Array.isArray(chunks) || chunks.length !== shape.length || !chunks.every((n) => Number.isSafeInteger(n) && n >= 1))
      throw bad("chunks", `chunks ${JSON.stringify(m.chunks)} do not match shape ${JSON.stringify(shape)}`)
    const sep = typeof m.dimension_separator === "string" ? m.dimension_separator : "."
    const filters = codecList(m.filters, "filters", "id", bad)
    const compressor = m.compressor === null || m.compressor === undefined ? [] : codecList([m.compressor], "compressor", "id", bad)
    const parts = [...filters, ...compressor]
    return {
      shape,
      outer: chunks,
      inner: chunks,
      sharded: false,
      key: (c) => c.join(sep) || "0",
      codecs: parts.map((p) => String(p.id)),
      codecText: parts.length === 0 ? "raw" : parts.map(describe).join(", "),
      registryNames: parts.map((p) => `numcodecs.${String(p.id)}`),
      dtypeText: String(m.dtype),
      order: String(m.order ?? "C")
    }
  }
  const gridCfg = ((m.chunk_grid as Json | undefined)?.configuration ?? {}) as Json
  const outer = gridCfg.chunk_shape as Array<number>
  if (!Array.isArray(outer) || outer.length !== shape.length || !outer.every((n) => Number.isSafeInteger(n) && n >= 1))
    throw bad("chunk_grid", `chunk_shape ${JSON.stringify(gridCfg.chunk_shape)} does not match shape ${JSON.stringify(shape)}`)
  const enc = (m.chunk_key_encoding ?? { name: "default" }) as Json
  const encCfg = (enc.configuration ?? {}) as Json
  const key =
    enc.name === "v2"
      ? ((sep: string) => (c: ReadonlyArray<number>) => c.join(sep) || "0")(String(encCfg.separator ?? "."))
      : ((sep: string) => (c: ReadonlyArray<number>) => ["c", ...c].join(sep))(String(encCfg.separator ?? "/"))
  const codecs = codecList(m.codecs, "codecs", "name", bad)
  const sharding = codecs.find((c) => c.name === "sharding_indexed")
  const shardCfg = (sharding?.configuration ?? {}) as Json
  const innerCodecs = sharding ? codecList(shardCfg.codecs, "codecs[sharding_indexed].codecs", "name", bad) : codecs
  const inner = sharding ? (shardCfg.chunk_shape as Array<number>) : outer
  if (sharding && (!Array.isArray(inner) || inner.length !== shape.length || inner.some((n, i) => !(n >= 1) || outer[i]! % n !== 0)))
    throw bad("codecs[sharding_indexed].chunk_shape", `inner chunk shape ${JSON.stringify(inner)} does not divide the shard shape ${JSON.stringify(outer)}`)
  const all = [...innerCodecs, ...(sharding ? codecList(shardCfg.index_codecs, "codecs[sharding_indexed].index_codecs", "name", bad) : [])]
  const transpose = innerCodecs.find((c) => c.name === "transpose")
  return {
    shape,
    outer,
    inner,
    sharded: sharding !== undefined,
    key,
    codecs: innerCodecs.map((c) => String(c.name)),
    codecText: (sharding ? "sharding_indexed → " : "") + innerCodecs.map(describe).join(", "),
    registryNames: all.map((c) => String(c.name)),
    dtypeText: String(m.data_type),
    order: transpose ? `transpose ${JSON.stringify((transpose.configuration as Json)?.order)}` : "C"
  }
}
