/**
 * Bounded decoders for TIFF's LZW (5) and PackBits (32773) blocks: each writes into an output of
 * a given capacity (the block's size from its tags) and throws as soon as the data would decode
 * to more, so a corrupt or hostile block can never make the reader allocate beyond one block.
 * (geotiff's decoders grow their output as long as the data says: a flipped byte in a 64 KiB
 * LZW strip could ask for gigabytes.) Called by decode.ts; tested in test/io/tiff-unpack.test.ts.
 *
 * @example
 * ```ts
 * const strip = lzwDecode(compressed, rowsPerStrip * rowBytes)   // a view of at most that many bytes
 * ```
 */

const CLEAR = 256
const EOI = 257

/**
 * Decodes TIFF LZW (codes of 9–12 bits, most significant bit first, the width growing one code
 * early, as libtiff writes it). Returns a view of the decoded bytes, at most `capacity` of them;
 * throws on a code past the table or on output beyond `capacity`. Data ending without EOI end
 * where they end, as libtiff reads them.
 */
export const lzwDecode = (input: Uint8Array, capacity: number): Uint8Array => {
  const out = new Uint8Array(capacity)
  const prefix = new Uint16Array(4096)
  const suffix = new Uint8Array(4096)
  const length = new Uint16Array(4096)
  for (let i = 0; i < 256; i++) {
    suffix[i] = i
    length[i] = 1
  }
  const bits = input.length * 8
  let at = 0
  let n = 0
  let width = 9
  let next = 258
  let prev = -1
  while (at + width <= bits) {
    const byte = at >>> 3
    const window = (input[byte]! << 16) | ((input[byte + 1] ?? 0) << 8) | (input[byte + 2] ?? 0)
    const code = (window >>> (24 - (at & 7) - width)) & ((1 << width) - 1)
    at += width
    if (code === EOI) break
    if (code === CLEAR) {
      width = 9
      next = 258
      prev = -1
      continue
    }
    if (code > next || (prev < 0 && code >= 256)) throw new Error(`LZW code ${code} at bit ${at - width} is not in the table (${next} entries)`)
    // The string of `code`, or for the code being defined (KwKwK) the previous string plus its own first byte.
    const known = code < next
    const len = known ? length[code]! : length[prev]! + 1
    if (n + len > capacity) throw new Error(`LZW data decode to more than ${capacity} bytes`)
    let c = known ? code : prev
    for (let i = n + length[c]! - 1; i >= n; i--) {
      out[i] = suffix[c]!
      c = prefix[c]!
    }
    if (!known) out[n + len - 1] = out[n]!
    if (prev >= 0 && next < 4096) {
      prefix[next] = prev
      suffix[next] = out[n]!
      length[next] = length[prev]! + 1
      next++
    }
    n += len
    prev = code
    if (next >= (1 << width) - 1 && width < 12) width++
  }
  return out.subarray(0, n)
}

/**
 * Decodes PackBits: a header byte h, then h + 1 literal bytes (0 ≤ h ≤ 127) or one byte repeated
 * 1 − h times (−127 ≤ h ≤ −1); −128 is a no-op. Returns at most `capacity` bytes; throws on
 * output beyond it or on a literal run cut short.
 */
export const packBitsDecode = (input: Uint8Array, capacity: number): Uint8Array => {
  const out = new Uint8Array(capacity)
  let i = 0
  let n = 0
  while (i < input.length) {
    const h = (input[i++]! << 24) >> 24
    if (h >= 0) {
      if (i + h + 1 > input.length) throw new Error(`a PackBits literal run of ${h + 1} bytes at byte ${i - 1} is cut short`)
      if (n + h + 1 > capacity) throw new Error(`PackBits data decode to more than ${capacity} bytes`)
      out.set(input.subarray(i, i + h + 1), n)
      i += h + 1
      n += h + 1
    } else if (h !== -128) {
      if (i >= input.length) break
      if (n + 1 - h > capacity) throw new Error(`PackBits data decode to more than ${capacity} bytes`)
      out.fill(input[i++]!, n, n + 1 - h)
      n += 1 - h
    }
  }
  return out.subarray(0, n)
}
