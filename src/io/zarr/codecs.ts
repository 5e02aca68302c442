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
import { crcTable, crcWith } from "../../util/crc.js"

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

/**
 * A zarrita bytes-to-bytes codec for zlib on node:zlib: the stream must end exactly where the chunk
 * ends (zlib itself stops at the stream's end and would ignore whatever follows).
 */
class NodeZlibCodec {
  readonly kind = "bytes_to_bytes"
  static fromConfig() {
    return new NodeZlibCodec()
  }
  async encode(bytes: Uint8Array): Promise<Uint8Array> {
    return asBytes(await promisify(zlib.deflate)(bytes))
  }
  async decode(bytes: Uint8Array): Promise<Uint8Array> {
    const { buffer, engine } = (await inflateInfo(bytes, { info: true })) as unknown as { buffer: Buffer; engine: { bytesWritten: number } }
    if (engine.bytesWritten !== bytes.length)
      throw new Error(`the zlib stream ends after ${engine.bytesWritten} of the chunk's ${bytes.length} bytes`)
    return asBytes(buffer)
  }
}
const inflateInfo = promisify(zlib.inflate) as (b: Uint8Array, o: zlib.ZlibOptions & { info: true }) => Promise<unknown>

/** A zarrita codec as its registry holds it (only what the wrappers below use). */
interface RegistryCodec {
  readonly kind: string
  encode(data: never): unknown
  decode(data: Uint8Array): unknown
}
type CodecClass = { fromConfig(config: unknown, meta: unknown): RegistryCodec }

/** The 16-byte header of a blosc 1 buffer (little-endian fields). */
export interface BloscHeader {
  readonly version: number
  readonly flags: number
  readonly typesize: number
  /** Bytes the buffer decompresses to. */
  readonly nbytes: number
  readonly blocksize: number
  /** Bytes of the whole compressed buffer, header included. */
  readonly cbytes: number
}

const BLOSC_HEADER = 16
const BLOSC_MEMCPYED = 0x2

/**
 * Checks a blosc buffer's header against the bytes present: at least the header, exactly the
 * `cbytes` it states, `nbytes + 16` for a stored (memcpyed) buffer, and block starts inside the
 * buffer. Throws an Error saying what disagrees; returns the header. numcodecs' WebAssembly blosc
 * trusts the header: a buffer cut short decodes, without an error, into whatever its heap held.
 */
export const checkBloscHeader = (bytes: Uint8Array): BloscHeader => {
  if (bytes.length < BLOSC_HEADER) throw new Error(`the blosc buffer holds ${bytes.length} bytes, less than its ${BLOSC_HEADER}-byte header`)
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const h: BloscHeader = {
    version: bytes[0]!,
    flags: bytes[2]!,
    typesize: bytes[3]!,
    nbytes: dv.getUint32(4, true),
    blocksize: dv.getUint32(8, true),
    cbytes: dv.getUint32(12, true)
  }
  if (h.cbytes !== bytes.length)
    throw new Error(`the blosc header says ${h.cbytes} compressed bytes, the chunk holds ${bytes.length}`)
  if (h.typesize === 0) throw new Error("the blosc header says type size 0")
  if ((h.flags & BLOSC_MEMCPYED) !== 0) {
    if (h.cbytes !== h.nbytes + BLOSC_HEADER)
      throw new Error(`the blosc header says ${h.nbytes} bytes stored uncompressed, but the buffer holds ${h.cbytes - BLOSC_HEADER} after its header`)
    return h
  }
  // Blosc 1 (format versions 1 and 2): after the header, one 32-bit start per block.
  if (h.version <= 2 && h.nbytes > 0) {
    if (h.blocksize === 0) throw new Error(`the blosc header says ${h.nbytes} bytes in blocks of 0 bytes`)
    const blocks = Math.ceil(h.nbytes / h.blocksize)
    const first = BLOSC_HEADER + 4 * blocks
    if (first > h.cbytes) throw new Error(`the blosc header says ${blocks} blocks, whose starts alone need ${first} bytes; the buffer holds ${h.cbytes}`)
    for (let b = 0; b < blocks; b++) {
      const start = dv.getInt32(BLOSC_HEADER + 4 * b, true)
      if (start < first || start >= h.cbytes) throw new Error(`blosc block ${b} starts at byte ${start}, outside the buffer's data (${first}…${h.cbytes - 1})`)
    }
  }
  return h
}

/**
 * A registry codec class wrapping `Inner`'s: encoding passes through, decoding goes through
 * `decode` (given the bytes and the wrapped codec), which checks what the wrapped one trusts.
 */
const checkedCodec = <Kind extends string, Out>(
  Inner: CodecClass,
  kind: Kind,
  decode: (bytes: Uint8Array, inner: RegistryCodec) => Out
) =>
  class Checked {
    readonly kind = kind
    constructor(private readonly inner: RegistryCodec) {}
    static fromConfig(config: unknown, meta: unknown) {
      return new this(Inner.fromConfig(config, meta))
    }
    encode(data: unknown) {
      return this.inner.encode(data as never)
    }
    decode(bytes: Uint8Array): Out {
      return decode(bytes, this.inner)
    }
  }

/** Wraps numcodecs' blosc: the header is checked against the buffer before, the length after decoding. */
const checkedBlosc = (Blosc: CodecClass) =>
  checkedCodec(Blosc, "bytes_to_bytes", async (bytes, inner): Promise<Uint8Array> => {
    const h = checkBloscHeader(bytes)
    const out = (await inner.decode(bytes)) as Uint8Array
    if (out.length !== h.nbytes) throw new Error(`the blosc buffer decodes to ${out.length} bytes; its header says ${h.nbytes}`)
    return out
  })

/**
 * Wraps zarrita's bytes codec (the array-to-bytes step of every pipeline): the bytes must be
 * exactly the chunk's voxels. zarrita's own would read a buffer whose length is not a multiple
 * of the voxel size as the whole voxels it holds.
 */
const checkedBytes = (Bytes: CodecClass) =>
  class CheckedBytes extends checkedCodec(Bytes, "array_to_bytes", (bytes, inner) => {
    const chunk = inner.decode(bytes) as { data: { length: number; BYTES_PER_ELEMENT: number }; shape: ReadonlyArray<number> }
    const voxels = chunk.shape.reduce((a, b) => a * b, 1)
    const need = voxels * chunk.data.BYTES_PER_ELEMENT
    if (bytes.byteLength !== need) throw new Error(`the chunk's data are ${bytes.byteLength} bytes; ${chunk.shape.join("×")} voxels of ${chunk.data.BYTES_PER_ELEMENT} bytes need ${need}`)
    return chunk
  }) {
    computeEncodedSize(size: number) {
      return size
    }
  }

const CRC32C_TABLE = crcTable(0x82f63b78)

/** CRC-32C (Castagnoli), as Zarr v3's crc32c codec stores it. */
export const crc32c = (bytes: Uint8Array): number => crcWith(CRC32C_TABLE, 0, bytes)

/** Zarr v3 crc32c that checks the checksum (zarrita's drops the 4 bytes unchecked). */
class CheckedCrc32c {
  readonly kind = "bytes_to_bytes"
  static fromConfig() {
    return new CheckedCrc32c()
  }
  encode(bytes: Uint8Array): Uint8Array {
    const out = new Uint8Array(bytes.length + 4)
    out.set(bytes)
    new DataView(out.buffer).setUint32(bytes.length, crc32c(bytes), true)
    return out
  }
  computeEncodedSize(size: number) {
    return size + 4
  }
  decode(bytes: Uint8Array): Uint8Array {
    if (bytes.length < 4) throw new Error(`a crc32c-checked buffer of ${bytes.length} bytes has no room for its checksum`)
    const data = bytes.subarray(0, bytes.length - 4)
    const stored = new DataView(bytes.buffer, bytes.byteOffset + bytes.length - 4, 4).getUint32(0, true)
    const actual = crc32c(data)
    if (stored !== actual) throw new Error(`crc32c checksum mismatch: stored ${stored.toString(16)}, computed ${actual.toString(16)}`)
    return data
  }
}

/**
 * The decoded size a chunk's own header states, for a Zarr v2 chunk stored with just a compressor
 * (`id`, numcodecs' name; "raw" for none): blosc's nbytes, lz4's size prefix, gzip's ISIZE (modulo
 * 2³²), a zstd frame's content size; undefined where the codec's header states none. zarrita
 * reads a v2 chunk's decoded bytes as whatever whole voxels they hold, so the reader compares this
 * with the chunk's size before decoding.
 *
 * @example
 * ```ts
 * declaredSize("blosc", chunkBytes)   // nbytes from the blosc header
 * ```
 */
export const declaredSize = (id: string, bytes: Uint8Array): number | undefined => {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  switch (id) {
    case "raw":
      return bytes.length
    case "blosc":
      return bytes.length >= BLOSC_HEADER ? dv.getUint32(4, true) : undefined
    case "lz4":
      return bytes.length >= 4 ? dv.getUint32(0, true) : undefined
    case "gzip":
      return bytes.length >= 18 && bytes[0] === 0x1f && bytes[1] === 0x8b ? dv.getUint32(bytes.length - 4, true) : undefined
    case "zstd": {
      if (bytes.length < 6 || dv.getUint32(0, true) !== 0xfd2fb528) return undefined
      const fhd = bytes[4]!
      const single = (fhd >> 5) & 1
      const fcsFlag = fhd >> 6
      const at = 5 + (single ? 0 : 1) + [0, 1, 2, 4][fhd & 3]!
      const size = fcsFlag === 0 ? single : [1, 2, 4, 8][fcsFlag]!
      if (size === 0 || at + size > bytes.length) return undefined
      if (size === 1) return bytes[at]!
      if (size === 2) return dv.getUint16(at, true) + 256
      if (size === 4) return dv.getUint32(at, true)
      return Number(dv.getBigUint64(at, true))
    }
    default:
      return undefined
  }
}

let registered: Promise<typeof import("zarrita")> | undefined

/**
 * Loads zarrita and puts slicewise's codecs in its registry: gzip and zlib on node:zlib, and
 * checking wrappers around blosc, bytes and crc32c (v3 names and v2 "numcodecs.*" names), so that
 * a chunk whose header or length disagrees with its bytes fails instead of decoding to garbage.
 */
export const loadZarrita = (): Promise<typeof import("zarrita")> =>
  (registered ??= import("zarrita").then((zarr) => {
    // Each entry loads its codec on first use, as zarrita's do (blosc's WebAssembly only when needed).
    const set = (names: ReadonlyArray<string>, load: () => Promise<unknown>) => {
      let loaded: Promise<unknown> | undefined
      for (const n of names) zarr.registry.set(n, () => (loaded ??= load()) as Promise<never>)
    }
    const originalOf = (name: string) => {
      const load = zarr.registry.get(name)!
      return async () => (await load()) as unknown as CodecClass
    }
    const blosc = originalOf("blosc")
    const bytes = originalOf("bytes")
    set(["gzip", "numcodecs.gzip"], async () => NodeGzipCodec)
    set(["zlib", "numcodecs.zlib"], async () => NodeZlibCodec)
    set(["blosc", "numcodecs.blosc"], async () => checkedBlosc(await blosc()))
    set(["bytes"], async () => checkedBytes(await bytes()))
    set(["crc32c", "numcodecs.crc32c"], async () => CheckedCrc32c)
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

/** The chunk codec of a choice: stored bytes from raw bytes, and back. */
export interface ChunkCodec {
  readonly encode: ChunkEncoder
  readonly decode: (stored: Uint8Array) => Promise<Uint8Array>
}

/** Builds the codec for a choice (loads the WebAssembly codec on first use). */
export const chunkCodec = async (choice: CodecChoice & { readonly dtype: DType }): Promise<ChunkCodec> => {
  const level = choice.level ?? defaultLevel(choice.codec)
  switch (choice.codec) {
    case "raw":
      return { encode: async (raw) => raw, decode: async (stored) => stored }
    case "gzip": {
      const codec = new NodeGzipCodec(level)
      return { encode: (raw) => codec.encode(raw), decode: (stored) => codec.decode(stored) }
    }
    case "zstd": {
      const { default: Zstd } = await import("numcodecs/zstd")
      const codec = new Zstd(level)
      return { encode: async (raw) => codec.encode(raw), decode: async (stored) => codec.decode(stored) }
    }
    case "blosc": {
      const { default: Blosc } = await import("numcodecs/blosc")
      const codec = new Blosc(level, "lz4", bytesPerVoxel(choice.dtype) > 1 ? 1 : 0, 0)
      return { encode: async (raw) => codec.encode(raw), decode: async (stored) => codec.decode(stored) }
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
