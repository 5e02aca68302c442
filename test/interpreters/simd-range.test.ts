/**
 * The SIMD range loops (threshold and comparisons with a number) against JavaScript's own
 * comparisons, voxel for voxel: every dtype, every comparison in both orientations, ranges, bounds
 * that are not integers, not float32, out of the dtype's range or infinite, and NaN voxels.
 */
import { describe, expect, it } from "vitest"
import { allocSlice, type DType } from "../../src/algebra/dtype.js"
import * as E from "../../src/algebra/expr.js"
import { compilePointwise, pointwiseSource } from "../../src/interpreters/run/compile.js"
import { rangeLoop, voxelRange, type RangeDType } from "../../src/interpreters/run/simd-range.js"

const DTYPES: ReadonlyArray<RangeDType> = ["uint8", "int8", "uint16", "int16", "uint32", "int32", "float32"]

const f32 = (v: number) => Math.fround(v)
const next32 = (v: number, up: boolean) => {
  const a = new Float32Array([v])
  const b = new Int32Array(a.buffer)
  b[0]! += (v > 0) === up || (v === 0 && up) ? 1 : -1
  return a[0]!
}

/** Voxel values that sit on and around every bound below. */
const interesting = (dtype: DType): number[] => {
  const base = [0, 1, -1, 2, 3, 100, 127, 128, 129, 254, 255, 256, -127, -128, -129, 32767, 32768, 65535, 65536, -32768]
  if (dtype === "float32") {
    const tenth = f32(0.1)
    return [
      ...base,
      -0,
      0.5,
      2.5,
      tenth,
      next32(tenth, true),
      next32(tenth, false),
      2 ** -149,
      -(2 ** -149),
      3.4028234663852886e38,
      -3.4028234663852886e38,
      Infinity,
      -Infinity,
      NaN
    ]
  }
  return [...base, 2147483647, -2147483648, 4294967295, 2147483648]
}

/** A slice of `length` voxels cycling through `values` (stored with the dtype's rules), plus noise. */
const sliceOf = (dtype: DType, values: number[], length: number) => {
  const a = allocSlice(dtype, length)
  let s = 12345
  for (let i = 0; i < length; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0
    a[i] = i % 3 === 0 ? values[(i / 3) % values.length]! : s % 300
  }
  return a
}

const BOUNDS = [128, 127.5, -0.5, 0, -200, 70000, 5e9, -5e9, 0.1, 1e39, -1e39, 2 ** -149, Infinity, -Infinity]
const OPS = [E.ge, E.gt, E.le, E.lt] as const

const expectSameAsJavaScript = (expr: E.Expr, dtype: RangeDType, input: ArrayLike<number> & ArrayBufferView) => {
  const range = voxelRange(expr, dtype)
  expect(range).toBeDefined()
  const loop = rangeLoop(dtype, range!)
  expect(loop).toBeDefined()
  const length = (input as unknown as { length: number }).length
  const got = new Uint8Array(length)
  loop!(got, [input as never], length, [])
  for (let i = 0; i < length; i++) {
    const want = E.evaluate(expr, [input[i]!], () => undefined) !== 0 ? 1 : 0
    if (got[i] !== want) {
      throw new Error(`${dtype} ${JSON.stringify(expr)} at voxel ${i} = ${input[i]}: got ${got[i]}, want ${want}`)
    }
  }
}

describe("SIMD range loops", () => {
  for (const dtype of DTYPES) {
    it(`${dtype}: every comparison with every bound, both ways round, as JavaScript compares`, () => {
      // More than one piece (2¹⁶ voxels) and not a multiple of 16.
      const input = sliceOf(dtype, interesting(dtype), (1 << 16) + 37)
      const x = E.input(0)
      for (const c of BOUNDS) {
        for (const op of OPS) {
          expectSameAsJavaScript(op(x, c), dtype, input)
          expectSameAsJavaScript(op(c, x), dtype, input)
        }
      }
    })

    it(`${dtype}: ranges, empty and full ones included`, () => {
      const input = sliceOf(dtype, interesting(dtype), 1000)
      const x = E.input(0)
      for (const [lo, hi] of [[100, 200], [127.5, 128.5], [200, 100], [-Infinity, Infinity], [0.1, 0.1], [-5e9, 5e9], [3, 3]] as const) {
        expectSameAsJavaScript(E.and(E.ge(x, lo), E.le(x, hi)), dtype, input)
        expectSameAsJavaScript(E.and(E.gt(x, lo), E.lt(x, hi)), dtype, input)
      }
    })
  }

  it("only comparisons of input 0 with numbers, and their `and`, are ranges", () => {
    const x = E.input(0)
    expect(voxelRange(E.ge(x, 3), "uint8")).toEqual({ lo: 3, hi: 255 })
    expect(voxelRange(E.gt(x, 2.5), "int16")).toEqual({ lo: 3, hi: 32767 })
    expect(voxelRange(E.ge(x, NaN), "uint8")).toBeUndefined()
    expect(voxelRange(E.ge(E.input(1), 3), "uint8")).toBeUndefined()
    expect(voxelRange(E.or(E.ge(x, 3), E.le(x, 1)), "uint8")).toBeUndefined()
    expect(voxelRange(E.ge(E.add(x, 1), 3), "uint8")).toBeUndefined()
    expect(voxelRange(E.ge(x, 3), "float64")).toBeUndefined()
  })

  it("a pointwise loop of a threshold runs the SIMD loop, into any output dtype and on a subarray", () => {
    const expr = E.and(E.ge(E.input(0), 100), E.le(E.input(0), 20000))
    expect(pointwiseSource(expr, ["uint16"], "uint8").range).toEqual({ dtype: "uint16", lo: 100, hi: 20000 })
    const data = sliceOf("uint16", interesting("uint16"), 5000)
    const view = data.subarray(7, 4007)
    for (const out of ["uint8", "float32"] as const) {
      const got = allocSlice(out, 4000)
      compilePointwise(expr, ["uint16"], out)(got, [view], 4000, [])
      for (let i = 0; i < 4000; i++) expect(got[i]).toBe(view[i]! >= 100 && view[i]! <= 20000 ? 1 : 0)
    }
  })
})
