/**
 * uniform of float32 kept as float32 sums in WebAssembly SIMD along z and y (slices of 2¹² voxels
 * and more): bit for bit what scipy's order of float64 operations gives, computed here directly
 * (fresh sums along z, running sums `s + (in − out)` along y and x, each mean rounded once to
 * float32), through the memory interpreter, a run and a run split among row threads; NaN, ±∞, −0,
 * subnormals and values whose running sums cancel included.
 */
import * as Effect from "effect/Effect"
import { describe, expect, it } from "vitest"
import type { Algebra, Repr } from "../../src/algebra/algebra.js"
import { extensionTable, type BoundaryMode } from "../../src/algebra/boundary.js"
import { volumeInfo, type Shape } from "../../src/algebra/volume.js"
import * as Memory from "../../src/interpreters/memory/index.js"
import * as Run from "../../src/interpreters/run/index.js"
import { arraySource } from "../../src/io/memory.js"
import { uniform } from "../../src/ops/uniform.js"
import { firstDifference, xorshift32 } from "../support/voxels.js"

const shape: Shape = [8, 64, 70]
const next = xorshift32(23)
const specials = [NaN, Infinity, -Infinity, -0, 1e-40, -1e-42, 3e38, -3e38, 1e8, -1e8]
const data = Float32Array.from({ length: shape[0] * shape[1] * shape[2] }, (_, i) => {
  const r = next()
  if (i % 997 === 0) return specials[(i / 997) % specials.length]!
  // Mostly ordinary values, and some 2¹⁰⁰ times larger: a running sum that adds one of them before
  // taking another away loses the small ones, so only scipy's order gives scipy's means.
  return r % 40 === 0 ? (r % 80 === 0 ? 1e30 : -1e30) : ((r >>> 8) / 2 ** 24) * 200 - 100
})

/** scipy's box mean along one axis of a float32 volume, straight from its definition. */
const mean1d = (input: Float32Array, axis: 0 | 1 | 2, size: number, mode: BoundaryMode, running: boolean): Float32Array => {
  const [, h, w] = shape
  const len = shape[axis]
  const stride = axis === 0 ? h * w : axis === 1 ? w : 1
  const before = size >> 1
  const table = extensionTable(mode, len, before, size - before - 1)
  const out = new Float32Array(input.length)
  for (let base = 0; base < input.length; base++) {
    // One line per starting voxel whose coordinate along the axis is 0.
    if (Math.floor(base / stride) % len !== 0) continue
    const at = (p: number) => input[base + table[p]! * stride]!
    let s = 0
    for (let p = 0; p < size; p++) s += at(p)
    out[base] = s / size
    for (let i = 1; i < len; i++) {
      if (running) s = s + (at(i + size - 1) - at(i - 1))
      else {
        s = 0
        for (let p = 0; p < size; p++) s += at(i + p)
      }
      out[base + i * stride] = s / size
    }
  }
  return out
}

describe("uniform of float32: the WebAssembly sums = scipy's order of operations", () => {
  const cases: ReadonlyArray<{ size: [number, number, number]; mode: BoundaryMode }> = [
    { size: [3, 3, 3], mode: "reflect" },
    { size: [5, 4, 1], mode: "nearest" },
    { size: [7, 1, 5], mode: "mirror" },
    { size: [4, 6, 2], mode: "wrap" },
    { size: [2, 1, 1], mode: "reflect" }
  ]
  for (const { size, mode } of cases) {
    it(`size ${JSON.stringify(size)}, mode ${mode}: memory, run and run on 2 threads`, async () => {
      let reference: Float32Array = data
      for (const axis of [0, 1, 2] as const) if (size[axis] > 1) reference = mean1d(reference, axis, size[axis], mode, axis !== 0)
      const source = arraySource(volumeInfo("float32", shape), data, "f32")
      const program = <F extends Repr>(alg: Algebra<F>) => ({ mean: uniform(alg, alg.source(source), { size, mode }) })
      const results = [
        await Effect.runPromise(Memory.evaluate(program)),
        await Effect.runPromise(Run.run(program)),
        await Effect.runPromise(Run.run(program, { threads: 2, minSplitOps: 0 }))
      ]
      for (const [i, r] of results.entries()) {
        expect(r.volumes.mean!.info.dtype).toBe("float32")
        expect(firstDifference(r.volumes.mean!.data, reference), `result ${i}: first differing voxel`).toBe(-1)
      }
    })
  }
})
