/**
 * In-place byte-level transforms on decoded TIFF blocks: undoing the TIFF predictors (2: horizontal
 * differencing, 3: floating point byte-plane differencing). Each is one tight loop over typed
 * arrays, no per-sample calls. Byte swapping (big-endian files) is `swapBytes` in ../files.ts,
 * shared with the other formats; predictor 2 runs after it, on samples in host order.
 *
 * @example
 * ```ts
 * const block = new Uint8Array([0x01, 0x02, 0x03, 0x04])   // two uint16 samples, host order
 * undoHorizontalPredictor(block, 2, 1, 2)
 * ```
 */

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
