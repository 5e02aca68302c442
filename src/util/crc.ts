/**
 * Table-driven CRC-32 of the reflected kind, for any polynomial: zlib's (gzip's trailer) and
 * Castagnoli's (Zarr v3's crc32c codec) differ only in the table.
 *
 * @example
 * ```ts
 * const CASTAGNOLI = crcTable(0x82f63b78)
 * crcWith(CASTAGNOLI, 0, bytes)   // the CRC-32C of bytes
 * ```
 */

/** The byte table of the reflected CRC-32 with polynomial `poly` (0xedb88320 for zlib's). */
export const crcTable = (poly: number): Uint32Array => {
  const t = new Uint32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? poly ^ (c >>> 1) : c >>> 1
    t[n] = c >>> 0
  }
  return t
}

/** The CRC of `bytes` by `table`, continuing `crc` (0 to start). */
export const crcWith = (table: Uint32Array, crc: number, bytes: Uint8Array): number => {
  let c = ~crc >>> 0
  for (let i = 0; i < bytes.length; i++) c = table[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8)
  return ~c >>> 0
}
