/**
 * Decompression of TIFF blocks through geotiff's decoders (LZW, Deflate, PackBits, Zstd). geotiff is
 * imported lazily, on the first compressed block, so reading uncompressed files never loads it.
 * Predictors and byte order are handled by slicewise (see bytes.ts), not by geotiff, whose
 * predictor code assumes little-endian data.
 *
 * @example
 * ```ts
 * const decoded = await decompressBlock(8, compressedBytes)   // ArrayBuffer of raw samples
 * ```
 */
import type * as GeoTiff from "geotiff"

type BaseDecoderParameters = Parameters<typeof GeoTiff.getDecoder>[1]

interface BlockDecoder {
  decodeBlock(buffer: ArrayBuffer): ArrayBufferLike | Promise<ArrayBufferLike>
}

const decoders = new Map<number, Promise<BlockDecoder>>()

// Only the codecs we call decodeBlock on are created; their parameters matter only to geotiff's own
// predictor step, which we bypass.
const PARAMETERS: BaseDecoderParameters = {
  tileWidth: 1,
  tileHeight: 1,
  predictor: 1,
  bitsPerSample: 8,
  planarConfiguration: 1
}

const decoderFor = (compression: number): Promise<BlockDecoder> => {
  let decoder = decoders.get(compression)
  if (decoder === undefined) {
    decoder = import("geotiff").then((g) => g.getDecoder(compression, PARAMETERS))
    // A failed import is not cached, so that a later call can retry.
    decoder.catch(() => decoders.delete(compression))
    decoders.set(compression, decoder)
  }
  return decoder
}

/**
 * Decompresses one block's bytes (passed as an ArrayBuffer of exactly those bytes).
 *
 * @example
 * ```ts
 * const raw = await decompressBlock(5, lzwBytes.buffer)   // LZW
 * ```
 */
export const decompressBlock = async (compression: number, data: ArrayBuffer): Promise<ArrayBufferLike> => {
  const decoder = await decoderFor(compression)
  return decoder.decodeBlock(data)
}
