/**
 * Codecs for Zarr chunks: decoding goes through zarrita's registry (so every codec zarrita knows is
 * read); gzip is replaced by one on node:zlib, which decodes natively in one call instead of through
 * zarrita's DecompressionStream, and encodes too (zarrita's gzip cannot). Encoding for the writer
 * is here too: raw, gzip (node:zlib), zstd and blosc (numcodecs' WebAssembly builds, as zarrita
 * uses).
 *
 * @example
 * ```ts
 * await registerNodeGzip()                          // once, before opening gzip arrays
 * const enc = await chunkEncoder({ codec: "zstd", level: 3, dtype: "uint16" })
 * const stored = await enc(rawChunkBytes)
 * ```
 */
import * as zlib from "node:zlib"
import { promisify } from "node:util"
import { bytesPerVoxel, type DType } from "../../algebra/dtype.js"

const gzipAsync = promisify(zlib.gzip)
const gunzipAsync = promisify(zlib.gunzip)

const asBytes = (b: Buffer): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.byteLength)

/** A zarrita bytes-to-bytes codec for gzip on node:zlib (level from the metadata, default 5). */
class NodeGzipCodec {
  readonly kind = "bytes_to_bytes"
  constructor(private readonly level: number) {}
  static fromConfig(config: { level?: number } | undefined) {
    return new NodeGzipCodec(config?.level ?? 5)
  }
  async encode(bytes: Uint8Array): Promise<Uint8Array> {
    return asBytes(await gzipAsync(bytes, { level: this.level }))
  }
  async decode(bytes: Uint8Array): Promise<Uint8Array> {
    // zarr-python's gzip writes gzip members; some writers use a bare zlib stream: accept both.
    return asBytes(await (bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipAsync(bytes) : promisify(zlib.inflate)(bytes)))
  }
}

let registered: Promise<typeof import("zarrita")> | undefined

/** Loads zarrita and puts the node:zlib gzip codec in its registry (v3 "gzip", v2 "numcodecs.gzip"). */
export const loadZarrita = (): Promise<typeof import("zarrita")> =>
  (registered ??= import("zarrita").then((zarr) => {
    const entry = () => Promise.resolve(NodeGzipCodec as never)
    zarr.registry.set("gzip", entry)
    zarr.registry.set("numcodecs.gzip", entry)
    return zarr
  }))

/** The codecs slicewise writes. */
export type CodecName = "raw" | "gzip" | "zstd" | "blosc"

export const CODECS: ReadonlyArray<CodecName> = ["raw", "gzip", "zstd", "blosc"]

export interface CodecChoice {
  readonly codec: CodecName
  /** gzip 1…9 (default 5, as numcodecs), zstd 1…22 (default 3), blosc 0…9 (default 5). */
  readonly level?: number
}

export const defaultLevel = (c: CodecName): number => (c === "gzip" ? 5 : c === "zstd" ? 3 : c === "blosc" ? 5 : 0)

/** v2 `compressor` for a choice (null for raw); blosc uses lz4 with byte shuffle, as numcodecs' default. */
export const v2Compressor = (choice: CodecChoice, dtype: DType): Record<string, unknown> | null => {
  const level = choice.level ?? defaultLevel(choice.codec)
  switch (choice.codec) {
    case "raw":
      return null
    case "gzip":
      return { id: "gzip", level }
    case "zstd":
      return { id: "zstd", level }
    case "blosc":
      return { id: "blosc", cname: "lz4", clevel: level, shuffle: bytesPerVoxel(dtype) > 1 ? 1 : 0, blocksize: 0 }
  }
}

/** v3 `codecs` for a choice: bytes (little-endian) then the compressor. */
export const v3Codecs = (choice: CodecChoice, dtype: DType): Array<Record<string, unknown>> => {
  const level = choice.level ?? defaultLevel(choice.codec)
  const bytes = { name: "bytes", configuration: { endian: "little" } }
  switch (choice.codec) {
    case "raw":
      return [bytes]
    case "gzip":
      return [bytes, { name: "gzip", configuration: { level } }]
    case "zstd":
      return [bytes, { name: "zstd", configuration: { level, checksum: false } }]
    case "blosc":
      return [
        bytes,
        {
          name: "blosc",
          configuration: { cname: "lz4", clevel: level, shuffle: bytesPerVoxel(dtype) > 1 ? "shuffle" : "noshuffle", typesize: bytesPerVoxel(dtype), blocksize: 0 }
        }
      ]
  }
}

/** A function from a chunk's raw little-endian bytes to its stored bytes. */
export type ChunkEncoder = (raw: Uint8Array) => Promise<Uint8Array>

/** Builds the encoder for a choice (loads the WebAssembly codec on first use). */
export const chunkEncoder = async (choice: CodecChoice & { readonly dtype: DType }): Promise<ChunkEncoder> => {
  const level = choice.level ?? defaultLevel(choice.codec)
  switch (choice.codec) {
    case "raw":
      return async (raw) => raw
    case "gzip": {
      const codec = new NodeGzipCodec(level)
      return (raw) => codec.encode(raw)
    }
    case "zstd": {
      const { default: Zstd } = await import("numcodecs/zstd")
      const codec = new Zstd(level)
      return async (raw) => codec.encode(raw)
    }
    case "blosc": {
      const { default: Blosc } = await import("numcodecs/blosc")
      const codec = new Blosc(level, "lz4", bytesPerVoxel(choice.dtype) > 1 ? 1 : 0, 0)
      return async (raw) => codec.encode(raw)
    }
  }
}

/** Parses "zstd", "zstd:7", "blosc:5", "gzip:9", "raw" (a CLI spelling); undefined if unknown. */
export const parseCodec = (text: string): CodecChoice | undefined => {
  const m = /^(raw|none|gzip|zstd|blosc)(?::(\d+))?$/i.exec(text.trim())
  if (m === null) return undefined
  const codec = (m[1]!.toLowerCase() === "none" ? "raw" : m[1]!.toLowerCase()) as CodecName
  return m[2] === undefined ? { codec } : { codec, level: Number(m[2]) }
}
