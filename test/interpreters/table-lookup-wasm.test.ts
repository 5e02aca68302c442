/**
 * The uint32 table lookup as WebAssembly (src/interpreters/run/table-lookup.ts): the module is what
 * table-lookup.wat assembles to, and it gives what the JavaScript rule gives — `table[x]`, 0 past
 * the table, whatever the table's entry 0 — over lengths that are and are not whole chunks; through
 * the compiled pointwise loop too, where tables too large for it fall back to JavaScript.
 */
import { describe, expect, it } from "vitest"
import * as E from "../../src/algebra/expr.js"
import { compilePointwise } from "../../src/interpreters/run/compile.js"
import { TABLE_LOOKUP_WASM } from "../../src/interpreters/run/table-lookup-wasm.js"
import { lookupUint32 } from "../../src/interpreters/run/table-lookup.js"
import { assembleWasm } from "../../scripts/assemble-wasm.mjs"
import { xorshift32 } from "../support/voxels.js"

const reference = (input: Uint32Array, table: Uint32Array): Uint32Array => input.map((x) => (x < table.length ? table[x]! : 0))

describe("table-lookup.wat", () => {
  it("is what table-lookup-wasm.ts holds", async () => {
    expect(TABLE_LOOKUP_WASM).toBe(await assembleWasm("src/interpreters/run/table-lookup.wat"))
  })

  const next = xorshift32(5)
  const table = Uint32Array.from({ length: 1000 }, (_, i) => (i === 0 ? 7 : next()))
  for (const length of [1, 3, 16384, 16385, 50000]) {
    it(`looks up ${length} voxels as the rule says, indices past the table included`, () => {
      // Indices up to 1100 (a tenth past the table) and the largest uint32.
      const input = Uint32Array.from({ length }, (_, i) => (i % 97 === 0 ? 0xffffffff : next() % 1100))
      const out = new Uint32Array(length).fill(123)
      expect(lookupUint32(out, input, length, table)).toBe(true)
      expect(out).toEqual(reference(input, table))
    })
  }

  it("leaves tables of more than 2²² entries to JavaScript, which the compiled loop then runs", () => {
    const big = new Uint32Array(2 ** 22 + 1).map((_, i) => i ^ 0x55)
    const input = Uint32Array.from([0, 1, 2 ** 22, 2 ** 22 + 1, 5])
    expect(lookupUint32(new Uint32Array(5), input, 5, big)).toBe(false)
    const loop = compilePointwise(E.lookup(big, "t", E.input(0)), ["uint32"], "uint32")
    const out = new Uint32Array(5)
    loop(out, [input], 5, [big])
    expect(out).toEqual(reference(input, big))
  })

  it("runs in the compiled loop of lookup(table, x) for uint32 voxels", () => {
    const input = Uint32Array.from({ length: 40000 }, () => next() % 1200)
    const loop = compilePointwise(E.lookup(table, "t", E.input(0)), ["uint32"], "uint32")
    const out = new Uint32Array(input.length)
    loop(out, [input], input.length, [table])
    expect(out).toEqual(reference(input, table))
  })
})
