/**
 * TIFF's LZW (compression 5) encoder, as libtiff writes it: codes of 9 to 12 bits packed most
 * significant bit first, ClearCode 256 first and whenever the table reaches 4094 entries, EOI 257
 * last, and the code width growing one code early (the "early change" every TIFF LZW decoder
 * expects: libtiff, Pillow, tifffile/imagecodecs, geotiff).
 *
 * The string table is a direct index of (prefix code, next byte) → code, 4096 × 256 entries
 * stamped with a generation number, so that a ClearCode resets it in O(1) instead of refilling
 * 4 MiB; one encoder is reused for every strip a writer compresses.
 *
 * @example
 * ```ts
 * const lzw = new LzwEncoder()
 * const out = new Uint8Array(lzwBound(strip.length))
 * const n = lzw.encode(strip, out, 0)   // out[0…n) is the compressed strip
 * ```
 */

const CLEAR = 256
const EOI = 257
const FIRST = 258
/** libtiff emits ClearCode when the next free code would be 4094 (CODE_MAX − 1). */
const TABLE_LIMIT = 4094

/**
 * The most bytes `encode` writes for `n` input bytes: every byte its own 12-bit code, a ClearCode
 * every 3836 codes, the first ClearCode and EOI, and a partial last byte.
 */
export const lzwBound = (n: number): number => Math.ceil(((n + Math.ceil(n / 3836) + 3) * 12) / 8) + 1

export class LzwEncoder {
  /** (prefix · 256 + byte) → generation · 4096 + code; an entry of an older generation is empty. */
  private readonly table = new Uint32Array(4096 * 256)
  private generation = 1

  private reset(): void {
    this.generation++
    // The stamp keeps 20 bits of generation; on wrap-around, clear for real.
    if (this.generation >= 1 << 20) {
      this.table.fill(0)
      this.generation = 1
    }
  }

  /**
   * Compresses `input` into `out` from `at` on (which must have `lzwBound(input.length)` bytes
   * free) and returns the number of bytes written.
   */
  encode(input: Uint8Array, out: Uint8Array, at: number): number {
    const table = this.table
    let p = at
    let bits = 0 // pending bits, right-aligned in `acc`
    let acc = 0
    let width = 9
    let next = FIRST
    this.reset()
    let stamp = this.generation * 4096
    // Writes `code` in `width` bits, most significant first. acc never holds more than 7 + 12 bits.
    const put = (code: number) => {
      acc = (acc << width) | code
      bits += width
      while (bits >= 8) {
        bits -= 8
        out[p++] = (acc >>> bits) & 0xff
      }
      acc &= (1 << bits) - 1
    }
    put(CLEAR)
    const n = input.length
    if (n === 0) {
      put(EOI)
      if (bits > 0) out[p++] = (acc << (8 - bits)) & 0xff
      return p - at
    }
    let prefix = input[0]!
    for (let i = 1; i < n; i++) {
      const c = input[i]!
      const key = prefix * 256 + c
      const entry = table[key]!
      if (entry >= stamp && entry < stamp + 4096) {
        prefix = entry - stamp
        continue
      }
      put(prefix)
      table[key] = stamp + next
      next++
      if (next === TABLE_LIMIT) {
        put(CLEAR)
        this.reset()
        stamp = this.generation * 4096
        next = FIRST
        width = 9
      } else if (next === 1 << width) {
        width++
      }
      prefix = c
    }
    put(prefix)
    // The decoder adds an entry for this last code before it reads EOI: widen as it will.
    next++
    if (next === 1 << width && width < 12) width++
    put(EOI)
    if (bits > 0) out[p++] = (acc << (8 - bits)) & 0xff
    return p - at
  }
}
