import * as Effect from "effect/Effect"
import fc from "fast-check"
import { runUnfused } from "../src/interpreters/run/unfused.js"
import * as Memory from "../src/interpreters/memory/index.js"
import { firstDifference } from "../test/support/voxels.js"
import { programSpecArb, toProgram } from "../test/properties/arbitraries.js"
const margin = Number(process.argv[2])
const arb = fc.tuple(programSpecArb, fc.integer({ min: 10, max: 40 })).map(([s, d]) => ({ ...s, shape: [d, 2, 3] as const }))
let n = 0, dead = 0
fc.assert(fc.asyncProperty(arb, async (spec) => {
  const { program } = toProgram(spec as any)
  const exit = await Effect.runPromiseExit(Effect.timeout(runUnfused(program, { broadcastMargin: margin }), "3 seconds"))
  n++
  if (exit._tag === "Failure") { dead++; console.log("FAIL", String(exit.cause).slice(0, 200)); return false }
  const mem = await Effect.runPromise(Memory.evaluate(program))
  for (const [k, v] of Object.entries(mem.volumes)) if (firstDifference(exit.value.volumes[k]!.data, v.data) !== -1) { console.log("DIFF", k); return false }
  return true
}), { numRuns: Number(process.argv[3] ?? 500), endOnFailure: true }).then(() => console.log("ok", n), (e) => console.log(String(e).slice(0, 3000)))
