import { describe, expect, it } from "vitest"
import { decodeValue, encodeValue } from "../../src/util/json-value.js"

const roundTrip = (v: unknown) => decodeValue(JSON.parse(JSON.stringify(encodeValue(v))))

describe("encodeValue / decodeValue", () => {
  it("round-trips numbers exactly, NaN, ±∞ and −0 included", () => {
    for (const n of [0, -0, 1.5, -3, NaN, Infinity, -Infinity, 2 ** 53 + 2, 5e-324]) expect(Object.is(roundTrip(n), n)).toBe(true)
  })
  it("round-trips reductions' results: plain objects, arrays, typed arrays of every kind", () => {
    const v = {
      edges: new Float64Array([0, 0.5, 1]),
      counts: new Float64Array([3, NaN]),
      table: new Uint32Array([0, 1, 1, 4_000_000_000]),
      small: [new Int8Array([-1, 2]), new Float32Array([0.1]), new Uint16Array([65535])],
      min: -0,
      name: "otsu",
      ok: true,
      none: null
    }
    const back = roundTrip(v) as typeof v
    expect(back).toEqual(v)
    expect(back.table).toBeInstanceOf(Uint32Array)
    expect(Object.is(back.min, -0)).toBe(true)
  })
  it("gives undefined for what it cannot encode", () => {
    expect(encodeValue(new Map())).toBeUndefined()
    expect(encodeValue({ f: () => 1 })).toBeUndefined()
    expect(encodeValue([1n])).toBeUndefined()
    expect(encodeValue({ $typed: "x" })).toBeUndefined()
  })
})
