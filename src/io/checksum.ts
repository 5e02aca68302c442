/**
 * Checksums of slices, for the journal of a resumable run: CRC-32 of a slice's bytes as they are in
 * memory (host byte order), computed by zlib's native code on the slice the run already holds, so
 * a checksum costs no copy and no per-voxel JavaScript.
 *
 * @example
 * ```ts
 * const crc = sliceChecksum(ring.get(s))        // when slice s is written
 * sliceChecksum(readBackBuffer) === crc         // when a resumed run verifies it
 * ```
 */
import * as zlib from "node:zlib"

/** CRC-32 of the bytes of `data` (a typed array or a view); an unsigned 32-bit integer. */
export const sliceChecksum = (data: ArrayBufferView): number =>
  zlib.crc32(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)) >>> 0
