import * as Effect from "effect/Effect"
import { describe, expect, it } from "vitest"
import { allocSlice, castValue, type DType } from "../../src/algebra/dtype.js"
import * as E from "../../src/algebra/expr.js"
import type { Reducer } from "../../src/algebra/kernel.js"
import { volumeInfo } from "../../src/algebra/volume.js"
import * as Memory from "../../src/interpreters/memory/index.js"
import { compilePointwise } from "../../src/interpreters/run/compile.js"
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

describe("compiled lookup loops", () => {
  // lookup(table, x) of an unsigned input takes a loop of its own when the table is a typed array of
  // the output's dtype; every other table goes through the general loop. Both must agree with
  // the expression's own evaluation, inside and outside the table.
  const index = Uint32Array.from([0, 1, 2, 3, 4, 5, 6, 7, 4294967295, 3, 100])
  const cases: ReadonlyArray<readonly [string, DType, ArrayLike<number>]> = [
    ["a Uint32Array into uint32 (the fast loop)", "uint32", Uint32Array.from([0, 7, 4294967295, 3, 9, 12])],
    ["a Uint8Array into uint8 (the fast loop)", "uint8", Uint8Array.from([0, 255, 3, 9])],
    ["a Float64Array into uint8 (the general loop: truncated and clamped)", "uint8", Float64Array.from([0, 300.7, -4, 2.9, 17])],
    ["a Uint32Array into int16 (the general loop: clamped)", "int16", Uint32Array.from([0, 70000, 5])]
  ]
  for (const [what, output, table] of cases) {
    it(`maps through ${what}`, () => {
      const expr = E.lookup(table, "t", E.input(0))
      const loop = compilePointwise(expr, ["uint32"], output)
      const out = allocSlice(output, index.length)
      loop(out, [index], index.length, [table])
      const expected = Array.from(index, (x) => castValue(output, E.tableAt(table, x)))
      expect(Array.from(out)).toEqual(expected)
    })
  }
})
