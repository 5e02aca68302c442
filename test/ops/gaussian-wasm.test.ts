/**
 * The uint8, uint16 and float32 gaussians' WebAssembly sums (slices of 2¹⁶ voxels and more) against
 * the JavaScript loops, through the interpreters. The same volume as int32 takes the JavaScript
 * loops (the WebAssembly ones are for uint8, uint16 and float32 kept in their dtype) and, since a
 * gaussian keeps values within the input's range after every axis, gives the same voxels; so must
 * the uint8 and uint16 runs, whole or split among row threads. The float32 volume's reference is
 * the same values as float64 filtered into float32: the JavaScript loops read the same numbers and
 * store every axis as float32.
 */
import * as Effect from "effect/Effect"
import { describe, expect, it } from "vitest"
import type { Algebra, Repr } from "../../src/algebra/algebra.js"
import type { BoundaryMode } from "../../src/algebra/boundary.js"
import { volumeInfo, type Shape } from "../../src/algebra/volume.js"
import * as Memory from "../../src/interpreters/memory/index.js"
import * as Run from "../../src/interpreters/run/index.js"
import { arraySource } from "../../src/io/memory.js"
import { gaussian, type PerAxis } from "../../src/ops/gaussian.js"
import { firstDifference } from "../support/voxels.js"

// Slices, and the bands of two row threads, above 2¹⁶ voxels; a width that is not a multiple of 8.
const shape: Shape = [5, 400, 331]
const count = shape[0] * shape[1] * shape[2]
const data = new Uint8Array(count)
let seed = 7
for (let i = 0; i < count; i++) {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0
  // Smooth structure plus noise, and runs of 0 and 255.
  const y = Math.floor(i / shape[2]) % shape[1]
  data[i] = y % 50 < 5 ? 255 : y % 50 < 10 ? 0 : ((i % 97) + ((seed >>> 16) & 63)) & 255
}
// uint16 values spread over the whole range: the uint8 values times 257 (255 → 65535).
const u8 = arraySource(volumeInfo("uint8", shape), data, "u8")
const u16 = arraySource(volumeInfo("uint16", shape), Uint16Array.from(data, (v) => v * 257), "u16")
const i32For8 = arraySource(volumeInfo("int32", shape), Int32Array.from(data), "i32 (u8)")
const i32For16 = arraySource(volumeInfo("int32", shape), Int32Array.from(data, (v) => v * 257), "i32 (u16)")
// float32 values with fractions, signs and a wide range (the uint8 values, scaled and shifted).
const floats = Float32Array.from(data, (v, i) => (v - 100.25) * (i % 5 === 0 ? 1e-3 : i % 7 === 0 ? 1e6 : 1.37))
const f32 = arraySource(volumeInfo("float32", shape), floats, "f32")
const f64For32 = arraySource(volumeInfo("float64", shape), Float64Array.from(floats), "f64 (f32)")

const cases: ReadonlyArray<{ sigma: PerAxis; mode: BoundaryMode }> = [
  { sigma: 2, mode: "reflect" },
  { sigma: 1, mode: "nearest" },
  { sigma: 0.8, mode: "mirror" },
  { sigma: 1.5, mode: "wrap" },
  { sigma: [1, 0, 2.5], mode: "reflect" },
  { sigma: [0.6, 3, 0], mode: "nearest" }
]

describe("uint8, uint16 and float32 gaussians: WebAssembly sums = JavaScript sums", () => {
  for (const { sigma, mode } of cases) {
    it(`σ ${JSON.stringify(sigma)}, mode ${mode}: memory, run and run on 2 threads`, async () => {
      const program = <F extends Repr>(alg: Algebra<F>) => ({
        u8: gaussian(alg, alg.source(u8), { sigma, mode }),
        u16: gaussian(alg, alg.source(u16), { sigma, mode }),
        i32For8: gaussian(alg, alg.source(i32For8), { sigma, mode }),
        i32For16: gaussian(alg, alg.source(i32For16), { sigma, mode }),
        f32: gaussian(alg, alg.source(f32), { sigma, mode }),
        f64For32: gaussian(alg, alg.source(f64For32), { sigma, mode, dtype: "float32" })
      })
      const memory = await Effect.runPromise(Memory.evaluate(program))
      const references = {
        u8: Uint8Array.from(memory.volumes.i32For8!.data),
        u16: Uint16Array.from(memory.volumes.i32For16!.data),
        f32: memory.volumes.f64For32!.data
      }
      const results = [
        memory,
        await Effect.runPromise(Run.run(program)),
        await Effect.runPromise(Run.run(program, { threads: 2, minSplitOps: 0 }))
      ]
      for (const [i, r] of results.entries()) {
        for (const name of ["u8", "u16", "f32"] as const) {
          const v = r.volumes[name]!
          expect(v.info.dtype).toBe({ u8: "uint8", u16: "uint16", f32: "float32" }[name])
          expect(firstDifference(v.data, references[name]), `${name}, result ${i}: first differing voxel`).toBe(-1)
        }
      }
    })
  }
})
