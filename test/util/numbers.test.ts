import { describe, expect, it } from "vitest"
import { numberText, shortest, shortestFloat32 } from "../../src/util/numbers.js"

describe("shortestFloat32", () => {
  it("prints a float32 as the shortest decimal that gives the same float32", () => {
    expect(String(Math.fround(0.9))).toBe("0.8999999761581421")
    expect(shortestFloat32(Math.fround(0.9))).toBe(0.9)
    expect(shortestFloat32(Math.fround(0.1))).toBe(0.1)
    expect(shortestFloat32(Math.fround(1 / 3))).toBe(0.33333334)
    expect(shortestFloat32(Math.fround(2.5e-7))).toBe(2.5e-7)
    expect(shortestFloat32(Math.fround(123456.789))).toBe(123456.79)
    expect(shortestFloat32(Math.fround(-0.75))).toBe(-0.75)
    expect(shortestFloat32(2)).toBe(2)
  })

  it("always reads back as the same float32, for random float32s", () => {
    const bits = new Uint32Array(1)
    const f = new Float32Array(bits.buffer)
    let seed = 12345
    for (let i = 0; i < 20000; i++) {
      seed = (seed * 1103515245 + 12345) >>> 0
      bits[0] = seed ^ (seed << 13)
      const v = f[0]!
      if (!Number.isFinite(v)) continue
      const s = shortestFloat32(v)
      expect(Math.fround(s)).toBe(v)
      expect(s.toExponential().replace(/e.*$|[-.]/g, "").length).toBeLessThanOrEqual(9) // significant digits
    }
  })

  it("leaves zero, infinities, NaN and values beyond float32's range alone", () => {
    expect(Object.is(shortestFloat32(-0), -0)).toBe(true)
    expect(shortestFloat32(0)).toBe(0)
    expect(shortestFloat32(Infinity)).toBe(Infinity)
    expect(shortestFloat32(NaN)).toBeNaN()
    expect(shortestFloat32(1e300)).toBe(1e300)
  })
})

describe("numberText", () => {
  it("prints float32 values short and float64 values as JavaScript does", () => {
    expect(numberText(Math.fround(0.9), "float32")).toBe("0.9")
    expect(numberText(Math.fround(0.9), "float64")).toBe("0.8999999761581421")
    expect(numberText(0.1 + 0.2, "float64")).toBe("0.30000000000000004")
    expect(shortest(0.30000000000000004, "float32")).toBe(0.3)
  })
})
