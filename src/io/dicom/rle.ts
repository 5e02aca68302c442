/**
 * DICOM RLE Lossless (PS3.5 annex G), the one encapsulated syntax simple enough to decode here: a
 * frame is a 64-byte header (the number of segments and their offsets) followed by one PackBits
 * segment per byte plane, most significant byte first. A slice of 16-bit pixels is two segments:
 * the high bytes of every pixel, then the low bytes.
 *
 * @example
 * ```ts
 * const frame = rleFrame(encapsulated, "IM0001")          // the fragments after the offset table
 * decodeRle(frame, "IM0001", 2, 64 * 64, sliceBytes)        // 16-bit pixels in host order
 * ```
 */
import { FormatError } from "../../algebra/io-errors.js"
import { HOST_LITTLE_ENDIAN } from "../files.js"

const u32 = (b: Uint8Array, o: number) => (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0

/**
 * The bytes of the one frame in an encapsulated PixelData value (`data` starts at its first
 * item): the fragments after the Basic Offset Table item, joined. Items are little endian.
 */
export const rleFrame = (data: Uint8Array, path: string): Uint8Array => {
  const fragments: Uint8Array[] = []
  let pos = 0
  let first = true
  for (;;) {
    if (pos + 8 > data.length)
      throw new FormatError({ path, position: "tag (7FE0,0010)", detail: "the encapsulated PixelData ends without its sequence delimiter (FFFE,E0DD)", hint: "the file is truncated" })
    const group = data[pos]! | (data[pos + 1]! << 8)
    const element = data[pos + 2]! | (data[pos + 3]! << 8)
    const length = u32(data, pos + 4)
    if (group === 0xfffe && element === 0xe0dd) break
    if (group !== 0xfffe || element !== 0xe000 || pos + 8 + length > data.length)
      throw new FormatError({ path, position: `tag (7FE0,0010), byte ${pos} of its value`, detail: "an item (FFFE,E000) of the encapsulated PixelData expected" })
    if (!first) fragments.push(data.subarray(pos + 8, pos + 8 + length))
    first = false
    pos += 8 + length
  }
  if (fragments.length === 1) return fragments[0]!
  const out = new Uint8Array(fragments.reduce((n, f) => n + f.length, 0))
  let at = 0
  for (const f of fragments) {
    out.set(f, at)
    at += f.length
  }
  return out
}

/**
 * Decodes an RLE frame of `voxels` single-sample pixels of `width` bytes into `out` (voxels·width
 * bytes) in the host's byte order. A frame with another number of segments, a segment that runs
 * past its end or decodes to the wrong length is a FormatError naming `path` and the segment.
 */
export const decodeRle = (frame: Uint8Array, path: string, width: number, voxels: number, out: Uint8Array): void => {
  const bad = (detail: string) => new FormatError({ path, position: "tag (7FE0,0010)", detail: `RLE: ${detail}` })
  if (frame.length < 64) throw bad(`a frame of ${frame.length} bytes has no 64-byte header`)
  const segments = u32(frame, 0)
  if (segments !== width) throw bad(`${segments} segments, ${width} expected for one sample of ${8 * width} bits`)
  for (let k = 0; k < segments; k++) {
    const start = u32(frame, 4 + 4 * k)
    const end = k + 1 < segments ? u32(frame, 8 + 4 * k) : frame.length
    if (start < 64 || end > frame.length || end < start) throw bad(`segment ${k} at bytes ${start}…${end} of a ${frame.length}-byte frame`)
    // Byte plane k holds the k-th most significant byte of every pixel.
    const lane = HOST_LITTLE_ENDIAN ? width - 1 - k : k
    const got = unpackBits(frame, start, end, out, lane, width, voxels)
    if (got !== voxels) throw bad(`segment ${k} decodes to ${got} bytes, ${voxels} expected`)
  }
}

/**
 * PackBits from `src[start…end)` into every `stride`-th byte of `out` from `lane`, at most `count`
 * bytes; returns how many it wrote (more than `count` is reported as count + 1).
 */
const unpackBits = (src: Uint8Array, start: number, end: number, out: Uint8Array, lane: number, stride: number, count: number): number => {
  let i = start
  let n = 0
  while (i < end && n < count) {
    const h = src[i++]!
    if (h < 128) {
      // h + 1 literal bytes.
      const m = h + 1
      if (i + m > end || n + m > count) return count + 1
      for (let j = 0; j < m; j++) out[(n + j) * stride + lane] = src[i + j]!
      i += m
      n += m
    } else if (h > 128) {
      // The next byte, 257 − h times.
      const m = 257 - h
      if (i >= end || n + m > count) return count + 1
      const v = src[i++]!
      for (let j = 0; j < m; j++) out[(n + j) * stride + lane] = v
      n += m
    }
    // 128: no operation.
  }
  return n
}
