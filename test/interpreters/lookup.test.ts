import * as Effect from "effect/Effect"
import { describe, expect, it } from "vitest"
import * as E from "../../src/algebra/expr.js"
import type { Reducer } from "../../src/algebra/kernel.js"
import { volumeInfo } from "../../src/algebra/volume.js"
import * as Memory from "../../src/interpreters/memory/index.js"
import * as Run from "../../src/interpreters/run/index.js"
import { arraySource } from "../../src/io/memory.js"

/** Ranks of the distinct values, in order of first appearance: a table from value to rank. */
const firstSeenRanks: Reducer<"uint8", Float64Array> = {
  name: "ranks",
  params: {},
  opsPerVoxel: 1,
  start: () => {
    const table = new Float64Array(256)
    let next = 1
    return {
      add: (slice) => {
        for (let i = 0; i < slice.length; i++) if (table[slice[i]!] === 0) table[slice[i]!] = next++
      },
      result: () => table
    }
  }
}

describe("lookup", () => {
  it("maps voxels through a table computed by an earlier pass, the same in memory and streamed", async () => {
    const data = Uint8Array.from([5, 5, 9, 2, 9, 200, 2, 7, 5, 7, 1, 1])
    const src = arraySource(volumeInfo("uint8", [3, 2, 2]), data)
    const program = <F extends import("../../src/algebra/algebra.js").Repr>(alg: import("../../src/algebra/algebra.js").Algebra<F>) => {
      const v = alg.source(src)
      const ranks = alg.reduce(v, firstSeenRanks)
      return { ranked: alg.map(v, (x) => alg.lookup(ranks, x)), outside: alg.map(v, (x) => alg.lookup(ranks, E.add(x, 300))) }
    }
    const mem = await Effect.runPromise(Memory.evaluate(program))
    const run = await Effect.runPromise(Run.run(program))
    expect(Array.from(mem.volumes.ranked!.data)).toEqual([1, 1, 2, 3, 2, 4, 3, 5, 1, 5, 6, 6])
    expect(Array.from(run.volumes.ranked!.data)).toEqual(Array.from(mem.volumes.ranked!.data))
    expect(Array.from(run.volumes.outside!.data)).toEqual(new Array(12).fill(0))
    expect(run.plan.passes).toHaveLength(2)
  })
})
