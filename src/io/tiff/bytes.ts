/**
 * In-place byte-level transforms on decoded TIFF blocks: byte swapping (big-endian files on a
 * little-endian host) and undoing the TIFF predictors (2: horizontal differencing, 3: floating
 * point byte-plane differencing). Each is one tight loop over typed arrays, no per-sample calls.
 *
 * @example
 * ```ts
 * const block = new Uint8Array([0x01, 0x02, 0x03, 0x04])
 * swapBytes(block, 2)                 // block is now 02 01 04 03
 * undoHorizontalPredictor(block, 2, 1, 2)
 * ```
 */

/**
 * True when this machine stores numbers little-endian (every platform Node supports in practice).
 *
 * @example
 * ```ts
 * if (!HOST_LITTLE_ENDIAN) throw new Error("unsupported host")
 * ```
 */
export const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1

/**
 * Reverses the byte order of every `width`-byte word of `bytes` in place.
 *
 * @example
 * ```ts
 * swapBytes(new Uint8Array([1, 2, 3, 4]), 4)   // 4 3 2 1
 * ```
 */
export const swapBytes = (bytes: Uint8Array, width: number): void => {
  if (width === 1) return
  const n = bytes.length
  const aligned = bytes.byteOffset % width === 0 && n % width === 0
  if (width === 2) {
    if (aligned) {
      const w = new Uint16Array(bytes.buffer, bytes.byteOffset, n >>> 1)
      for (let i = 0; i < w.length; i++) {
        const v = w[i]!
        w[i] = (v >>> 8) | (v << 8)
      }
    } else {
      for (let i = 0; i + 1 < n; i += 2) {
        const t = bytes[i]!
        bytes[i] = bytes[i + 1]!
        bytes[i + 1] = t
      }
    }
  } else if (width === 4 || width === 8) {
    if (aligned && bytes.byteOffset % 4 === 0) {
      const w = new Uint32Array(bytes.buffer, bytes.byteOffset, n >>> 2)
      if (width === 4) {
        for (let i = 0; i < w.length; i++) {
          const v = w[i]!
          w[i] = (v >>> 24) | ((v >>> 8) & 0xff00) | ((v & 0xff00) << 8) | (v << 24)
        }
      } else {
        // A 64-bit word is two 32-bit words, each reversed, in swapped order.
        for (let i = 0; i < w.length; i += 2) {
          const a = w[i]!
          const b = w[i + 1]!
          w[i] = (b >>> 24) | ((b >>> 8) & 0xff00) | ((b & 0xff00) << 8) | (b << 24)
          w[i + 1] = (a >>> 24) | ((a >>> 8) & 0xff00) | ((a & 0xff00) << 8) | (a << 24)
        }
      }
    } else {
      const half = width >>> 1
      for (let i = 0; i + width <= n; i += width) {
        for (let j = 0; j < half; j++) {
          const t = bytes[i + j]!
          bytes[i + j] = bytes[i + width - 1 - j]!
          bytes[i + width - 1 - j] = t
        }
      }
    }
  }
}

/**
 * Undoes predictor 2 (horizontal differencing) on `rows` rows of `width` samples of `bytesPerSample`
 * bytes each, stored contiguously in host byte order starting at `block[0]` (which must be aligned
 * to the sample size). Sums wrap modulo 2^bits, as the encoder's differences did; for float data
 * the sums run on the bit patterns, as libtiff does.
 *
 * @example
 * ```ts
 * const row = new Uint8Array([10, 1, 1, 255])
 * undoHorizontalPredictor(row, 4, 1, 1)   // 10 11 12 11
 * ```
 */
export const undoHorizontalPredictor = (
  block: Uint8Array,
  width: number,
  rows: number,
  bytesPerSample: number
): void => {
  const buffer = block.buffer
  const base = block.byteOffset
  if (bytesPerSample === 1) {
    for (let r = 0; r < rows; r++) {
      const start = r * width
      for (let i = start + 1; i < start + width; i++) block[i] = block[i]! + block[i - 1]!
    }
  } else if (bytesPerSample === 2) {
    const w = new Uint16Array(buffer, base, width * rows)
    for (let r = 0; r < rows; r++) {
      const start = r * width
      for (let i = start + 1; i < start + width; i++) w[i] = w[i]! + w[i - 1]!
    }
  } else if (bytesPerSample === 4) {
    const w = new Uint32Array(buffer, base, width * rows)
    for (let r = 0; r < rows; r++) {
      const start = r * width
      for (let i = start + 1; i < start + width; i++) w[i] = w[i]! + w[i - 1]!
    }
  } else if (bytesPerSample === 8) {
    // 64-bit sums as two 32-bit halves with a carry (host little-endian: low word first).
    const w = new Uint32Array(buffer, base, width * rows * 2)
    for (let r = 0; r < rows; r++) {
      const start = r * width * 2
      for (let i = start + 2; i < start + width * 2; i += 2) {
        const lo = w[i]! + w[i - 2]!
        w[i] = lo
        w[i + 1] = w[i + 1]! + w[i - 1]! + (lo > 0xffffffff ? 1 : 0)
      }
    }
  }
}

/**
 * Undoes predictor 3 (floating point): each row holds its samples' bytes as planes, most
 * significant plane first, byte-differenced. The result is in little-endian order whatever the
 * file's byte order (libtiff's rule), so the caller must not byte-swap it afterwards. `scratch`
 * must hold at least one row (`width * bytesPerSample` bytes).
 *
 * @example
 * ```ts
 * undoFloatPredictor(block, tileWidth, tileHeight, 4, new Uint8Array(tileWidth * 4))
 * ```
 */
export const undoFloatPredictor = (
  block: Uint8Array,
  width: number,
  rows: number,
  bytesPerSample: number,
  scratch: Uint8Array
): void => {
  const rowBytes = width * bytesPerSample
  for (let r = 0; r < rows; r++) {
    const start = r * rowBytes
    const end = start + rowBytes
    for (let i = start + 1; i < end; i++) block[i] = block[i]! + block[i - 1]!
    for (let plane = 0; plane < bytesPerSample; plane++) {
      // plane 0 holds the most significant bytes, which go last in little-endian order.
      const src = start + plane * width
      const byteInSample = bytesPerSample - 1 - plane
      for (let i = 0; i < width; i++) scratch[i * bytesPerSample + byteInSample] = block[src + i]!
    }
    block.set(scratch.subarray(0, rowBytes), start)
  }
}
