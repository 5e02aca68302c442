import * as zlib from "node:zlib"
import { describe, expect, it } from "vitest"
import { crcByTable } from "../../src/io/gzip.js"

describe("gzip CRC-32", () => {
  it("the table fallback for older Node equals node:zlib's crc32, continued across chunks", () => {
    const bytes = Uint8Array.from({ length: 70_001 }, (_, i) => (i * 2654435761) >>> 24)
    const whole = crcByTable(0, bytes)
    expect(whole).toBe(crcByTable(crcByTable(0, bytes.subarray(0, 12_345)), bytes.subarray(12_345)))
    // The CRC that gzip stores for these bytes (gzip's trailer: CRC-32 then size, little-endian).
    const gz = zlib.gzipSync(bytes)
    expect(whole).toBe(new DataView(gz.buffer, gz.byteOffset + gz.length - 8, 4).getUint32(0, true))
  })
})
