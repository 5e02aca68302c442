/**
 * Unit properties of the TIFF building blocks: natural name order and the two TIFF predictors
 * (checked against straightforward reference encoders). Byte swapping is tested in files.test.ts.
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { undoFloatPredictor, undoHorizontalPredictor } from "../../src/io/tiff/bytes.js"
import { naturalCompare } from "../../src/io/tiff/natural.js"

describe("naturalCompare", () => {
  it("orders digit runs by value (equal values: plain code-unit order)", () => {
    const names = ["img10.tif", "img2.tif", "img1.tif", "img002.tif", "a.tif", "img1b.tif", "IMG3.tif"]
    expect([...names].sort(naturalCompare)).toEqual(["IMG3.tif", "a.tif", "img1.tif", "img1b.tif", "img002.tif", "img2.tif", "img10.tif"])
    expect(naturalCompare("slice_9", "slice_10")).toBeLessThan(0)
    expect(naturalCompare("x", "x")).toBe(0)
  })

  it("is a consistent total order", () => {
    const name = fc.stringMatching(/^[a-c0-9_]{0,8}$/)
    fc.assert(
      fc.property(name, name, name, (a, b, c) => {
        const ab = Math.sign(naturalCompare(a, b))
        expect(Math.sign(naturalCompare(b, a))).toBe(-ab || 0)
        if (ab === 0) expect(a).toBe(b)
        if (naturalCompare(a, b) <= 0 && naturalCompare(b, c) <= 0) expect(naturalCompare(a, c)).toBeLessThanOrEqual(0)
      })
    )
  })
})

/** Reference encoder for predictor 2: each sample minus its left neighbour, modulo 2^bits. */
const horizontalEncode = (samples: bigint[], width: number, bits: number): bigint[] => {
  const mod = 1n << BigInt(bits)
  return samples.map((v, i) => (i % width === 0 ? v : (((v - samples[i - 1]!) % mod) + mod) % mod))
}

const toBytes = (samples: bigint[], bytes: number): Uint8Array => {
  const out = new Uint8Array(samples.length * bytes)
  samples.forEach((v, i) => {
    for (let b = 0; b < bytes; b++) out[i * bytes + b] = Number((v >> BigInt(8 * b)) & 0xffn)
  })
  return out
}

describe("predictors", () => {
  for (const bytes of [1, 2, 4, 8]) {
    it(`horizontal, ${bytes * 8}-bit samples`, () => {
      const sample = fc.bigInt({ min: 0n, max: (1n << BigInt(bytes * 8)) - 1n })
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 4 }), fc.array(sample, { minLength: 24, maxLength: 24 }), (width, rows, pool) => {
          const samples = pool.slice(0, width * rows)
          while (samples.length < width * rows) samples.push(0n)
          const block = toBytes(horizontalEncode(samples, width, bytes * 8), bytes)
          undoHorizontalPredictor(block, width, rows, bytes)
          expect(Array.from(block)).toEqual(Array.from(toBytes(samples, bytes)))
        })
      )
    })
  }

  for (const bytes of [4, 8]) {
    it(`floating point, ${bytes * 8}-bit samples`, () => {
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 3 }), fc.uint8Array({ minLength: 144, maxLength: 144 }), (width, rows, pool) => {
          const rowBytes = width * bytes
          const original = pool.slice(0, rowBytes * rows)
          // Encode as libtiff does: per row, bytes as planes (most significant first), then byte differences.
          const block = new Uint8Array(original.length)
          for (let r = 0; r < rows; r++) {
            const planes = new Uint8Array(rowBytes)
            for (let i = 0; i < width; i++) {
              for (let p = 0; p < bytes; p++) planes[p * width + i] = original[r * rowBytes + i * bytes + (bytes - 1 - p)]!
            }
            for (let i = 0; i < rowBytes; i++) block[r * rowBytes + i] = (planes[i]! - (i > 0 ? planes[i - 1]! : 0)) & 0xff
          }
          undoFloatPredictor(block, width, rows, bytes, new Uint8Array(rowBytes))
          expect(Array.from(block)).toEqual(Array.from(original))
        })
      )
    })
  }
})
