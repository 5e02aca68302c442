/**
 * uniform's running z and y means of uint8 kept as uint8, and of uint16 as uint16, step in
 * WebAssembly SIMD (slices of 2¹² voxels and more): the same voxels as the JavaScript loops give
 * for the same values as int16 (int32), through the memory interpreter, a run and a run split
 * among row threads.
 */
import * as Effect from "effect/Effect"
import { describe, expect, it } from "vitest"
import type { Algebra, Repr } from "../../src/algebra/algebra.js"
import type { BoundaryMode } from "../../src/algebra/boundary.js"
import { volumeInfo, type Shape } from "../../src/algebra/volume.js"
import * as Memory from "../../src/interpreters/memory/index.js"
import * as Run from "../../src/interpreters/run/index.js"
import { arraySource } from "../../src/io/memory.js"
import { BOX_MEAN_WASM } from "../../src/ops/internal/box-mean-wasm.js"
import { uniform } from "../../src/ops/uniform.js"
import { assembleWasm } from "../../scripts/assemble-wasm.mjs"
import { firstDifference, xorshift32 } from "../support/voxels.js"

const shape: Shape = [9, 64, 75]
const next = xorshift32(11)
// Noise, with runs of 0 and 255 (the extremes of every sum).
const data = Uint8Array.from({ length: shape[0] * shape[1] * shape[2] }, (_, i) => ((i >> 6) % 9 === 0 ? 255 : (i >> 6) % 9 === 1 ? 0 : next() & 255))
const u8 = arraySource(volumeInfo("uint8", shape), data, "u8")
const i16 = arraySource(volumeInfo("int16", shape), Int16Array.from(data), "i16")
// The same for uint16, with runs of 65535 and 0.
const data16 = Uint16Array.from({ length: data.length }, (_, i) => ((i >> 6) % 9 === 0 ? 65535 : (i >> 6) % 9 === 1 ? 0 : next() & 0xffff))
const u16 = arraySource(volumeInfo("uint16", shape), data16, "u16")
const i32 = arraySource(volumeInfo("int32", shape), Int32Array.from(data16), "i32")

describe("uniform of uint8 and uint16: the WebAssembly steps = the JavaScript ones", () => {
  it("is what box-mean.wat assembles to", async () => {
    expect(BOX_MEAN_WASM).toBe(await assembleWasm("src/ops/internal/box-mean.wat"))
  })

  const cases: ReadonlyArray<{ size: number | [number, number, number]; mode: BoundaryMode }> = [
    { size: 3, mode: "reflect" },
    { size: 5, mode: "nearest" },
    { size: 7, mode: "mirror" },
    { size: 4, mode: "wrap" },
    { size: [9, 1, 1], mode: "reflect" },
    { size: [2, 3, 1], mode: "nearest" }
  ]
  for (const { size, mode } of cases) {
    it(`size ${JSON.stringify(size)}, mode ${mode}: memory, run and run on 2 threads`, async () => {
      const program = <F extends Repr>(alg: Algebra<F>) => ({
        u8: uniform(alg, alg.source(u8), { size, mode }),
        i16: uniform(alg, alg.source(i16), { size, mode }),
        u16: uniform(alg, alg.source(u16), { size, mode }),
        i32: uniform(alg, alg.source(i32), { size, mode })
      })
      const memory = await Effect.runPromise(Memory.evaluate(program))
      const reference = Uint8Array.from(memory.volumes.i16!.data)
      const reference16 = Uint16Array.from(memory.volumes.i32!.data)
      const results = [memory, await Effect.runPromise(Run.run(program)), await Effect.runPromise(Run.run(program, { threads: 2, minSplitOps: 0 }))]
      for (const [i, r] of results.entries()) {
        expect(r.volumes.u8!.info.dtype).toBe("uint8")
        expect(firstDifference(r.volumes.u8!.data, reference), `result ${i}: first differing voxel`).toBe(-1)
        expect(r.volumes.u16!.info.dtype).toBe("uint16")
        expect(firstDifference(r.volumes.u16!.data, reference16), `result ${i}, uint16: first differing voxel`).toBe(-1)
      }
    })
  }
})
