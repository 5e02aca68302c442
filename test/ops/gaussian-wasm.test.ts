/**
 * The uint8 gaussian's WebAssembly sums (slices of 2¹⁶ voxels and more) against the JavaScript
 * loops, through the interpreters. The same volume as uint16 takes the JavaScript loops (the
 * WebAssembly ones are for uint8 only) and, since a gaussian of values in 0–255 stays in 0–255
 * after every axis, gives the same voxels; so must the uint8 run, whole or split among row threads.
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
const u8 = arraySource(volumeInfo("uint8", shape), data, "u8")
const u16 = arraySource(volumeInfo("uint16", shape), Uint16Array.from(data), "u16")

const cases: ReadonlyArray<{ sigma: PerAxis; mode: BoundaryMode }> = [
  { sigma: 2, mode: "reflect" },
  { sigma: 1, mode: "nearest" },
  { sigma: 0.8, mode: "mirror" },
  { sigma: 1.5, mode: "wrap" },
  { sigma: [1, 0, 2.5], mode: "reflect" },
  { sigma: [0.6, 3, 0], mode: "nearest" }
]

describe("uint8 gaussian: WebAssembly sums = JavaScript sums", () => {
  for (const { sigma, mode } of cases) {
    it(`σ ${JSON.stringify(sigma)}, mode ${mode}: memory, run and run on 2 threads`, async () => {
      const program = <F extends Repr>(alg: Algebra<F>) => ({
        u8: gaussian(alg, alg.source(u8), { sigma, mode }),
        u16: gaussian(alg, alg.source(u16), { sigma, mode })
      })
      const reference = Uint8Array.from((await Effect.runPromise(Memory.evaluate(program))).volumes.u16!.data)
      const results = [
        (await Effect.runPromise(Memory.evaluate(program))).volumes.u8!,
        (await Effect.runPromise(Run.run(program))).volumes.u8!,
        (await Effect.runPromise(Run.run(program, { threads: 2, minSplitOps: 0 }))).volumes.u8!
      ]
      for (const [i, r] of results.entries()) {
        expect(r.info.dtype).toBe("uint8")
        expect(firstDifference(r.data, reference), `result ${i}: first differing voxel`).toBe(-1)
      }
    })
  }
})
