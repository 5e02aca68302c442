/**
 * Decompression of TIFF blocks (LZW, Deflate, PackBits, Zstd), each bounded by the block's size
 * from its tags: no block decodes to more than `capacity` bytes, whatever its data claim, so a
 * corrupt or hostile strip costs at most one block of memory. LZW and PackBits are slicewise's
 * own (unpack.ts); Deflate is node:zlib with `maxOutputLength`; Zstd is zstddec (geotiff's
 * decoder, loaded on the first Zstd block) given the output size, so that it decodes into a buffer
 * of that size instead of growing one. Predictors and byte order are handled by slicewise
 * (bytes.ts).
 *
 * @example
 * ```ts
 * const decoded = await decompressBlock(8, compressedBytes, 65536)   // at most 64 KiB of raw samples
 * ```
 */
import { inflateSync } from "node:zlib"
import { Compression } from "./tags.js"
import { lzwDecode, packBitsDecode } from "./unpack.js"

interface Zstd {
  decode(array: Uint8Array, uncompressedSize?: number): Uint8Array
}

let zstd: Promise<Zstd> | undefined

const loadZstd = (): Promise<Zstd> => {
  zstd ??= import("zstddec/stream").then(async ({ ZSTDDecoder }) => {
    const decoder = new ZSTDDecoder()
    await decoder.init()
    return decoder as Zstd
  })
  // A failed load is not kept, so that a later call can retry.
  zstd.catch(() => (zstd = undefined))
  return zstd
}

/**
 * The most bytes `n` compressed bytes can decode to: deflate 1032:1 (a 258-byte match per
 * 2 bits, plus stream overhead); LZW one 12-bit code per at most 4096 bytes; PackBits 2 bytes
 * per 128; a Zstd block of 3 header bytes and 1 RLE byte per 128 KiB.
 */
const maxDecoded = (compression: number, n: number): number => {
  switch (compression) {
    case Compression.LZW:
      return Math.ceil((n * 8) / 9) * 4096
    case Compression.PackBits:
      return Math.ceil(n / 2) * 128
    case Compression.Deflate:
    case Compression.AdobeDeflate:
      return n * 1032 + 1024
    default:
      return Math.ceil(n / 4) * 131072
  }
}

/**
 * Decompresses one block's bytes into at most `blockBytes` bytes (its size from its tags); throws when the data are corrupt
 * or would decode to more.
 *
 * @example
 * ```ts
 * const raw = await decompressBlock(5, lzwBytes, rowsPerStrip * rowBytes)   // LZW
 * ```
 */
export const decompressBlock = async (compression: number, data: Uint8Array, blockBytes: number): Promise<Uint8Array> => {
  // No codec expands its input past a fixed ratio: what a block could decode to is allocated, not what
  // its tags claim (a 100-byte strip claiming 4 GiB then decodes short, a FormatError, instead).
  const capacity = Math.min(blockBytes, maxDecoded(compression, data.length))
  switch (compression) {
    case Compression.LZW:
      return lzwDecode(data, capacity)
    case Compression.PackBits:
      return packBitsDecode(data, capacity)
    case Compression.Deflate:
    case Compression.AdobeDeflate:
      try {
        return inflateSync(data, { maxOutputLength: Math.max(1, capacity) })
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE") throw new Error(`deflate data decode to more than ${capacity} bytes`)
        throw e
      }
    case Compression.Zstd: {
      const decoder = await loadZstd()
      const out = decoder.decode(data, Math.max(1, capacity))
      return out
    }
    default:
      throw new Error(`compression ${compression} is not decoded here`)
  }
}
