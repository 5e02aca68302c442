import * as Effect from "effect/Effect"
import { describe, expect, it } from "vitest"
import type { Program } from "../../src/algebra/algebra.js"
import * as E from "../../src/algebra/expr.js"
import { volumeInfo } from "../../src/algebra/volume.js"
import * as Memory from "../../src/interpreters/memory/index.js"
import * as Run from "../../src/interpreters/run/index.js"
import { zsum } from "../support/kernels.js"
import { arraySource } from "../../src/io/memory.js"

describe("smoke", () => {
  it("memory = run on a small DAG", async () => {
    for (const depth of [1, 2, 3, 7]) {
      const info = volumeInfo("float32", [depth, 3, 4])
      const data = Float32Array.from({ length: depth * 12 }, (_, i) => (i * 7919) % 13)
      const src = arraySource(info, data)
      const program: Program = (alg) => {
        const v = alg.source(src)
        const w = alg.window(v, zsum)
        const m = alg.zip([v, w], (a, b) => E.sub(b!, a!))
        const w2 = alg.window(m, zsum)
        const total = alg.derive(alg.reduce(w2, { name: "max", params: {}, opsPerVoxel: 1, start: () => { let mx = -Infinity; return { add: (s) => { for (const x of s) if (x > mx) mx = x }, result: () => mx } } }), (x) => x / 2, "half")
        const t = alg.map(w2, (x) => E.gt(x, alg.scalar(total)), { dtype: "uint8" })
        return { w2, t, total }
      }
      const mem = await Effect.runPromise(Memory.evaluate(program))
      const run = await Effect.runPromise(Run.run(program))
      expect(Array.from(run.volumes.w2!.data)).toEqual(Array.from(mem.volumes.w2!.data))
      expect(Array.from(run.volumes.t!.data)).toEqual(Array.from(mem.volumes.t!.data))
      expect(run.scalars.total).toEqual(mem.scalars.total)
      expect(run.plan.passes.length).toBe(2)
    }
  })
})
