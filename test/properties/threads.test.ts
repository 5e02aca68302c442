/**
 * Row threads change who computes a slice's rows, never the voxels: a fused run split across
 * 2 and 3 threads (the caller and real worker threads over shared rings) equals the memory
 * interpreter on random programs, with buffers still within the plan. Fewer runs than the other
 * properties: every run starts its workers.
 */
import * as Effect from "effect/Effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import * as Memory from "../../src/interpreters/memory/index.js"
import * as Run from "../../src/interpreters/run/index.js"
import { firstDifference } from "../support/voxels.js"
import { programSpecArb, toProgram } from "./arbitraries.js"

const runs = Math.min(60, Number(process.env.PROPERTY_RUNS ?? 60))

describe("run with row threads = memory interpreter", () => {
  it("on random programs over random small volumes, with 2 and 3 threads", async () => {
    await fc.assert(
      fc.asyncProperty(programSpecArb, fc.constantFrom(2, 3), async (spec, threads) => {
        const { program } = toProgram(spec)
        const mem = await Effect.runPromise(Memory.evaluate(program))
        const run = await Effect.runPromise(Run.run(program, { threads, minSplitOps: 0 }))
        for (const [name, v] of Object.entries(mem.volumes)) {
          const r = run.volumes[name]
          expect(r, name).toBeDefined()
          expect(firstDifference(r!.data, v.data), `${threads} threads: ${name}: first differing voxel`).toBe(-1)
        }
        for (const [name, value] of Object.entries(mem.scalars)) expect(run.scalars[name]).toEqual(value)
        run.passes.forEach((p, i) => expect(p.peakBufferBytes).toBeLessThanOrEqual(run.plan.passes[i]!.bufferBytes))
      }),
      { numRuns: runs }
    )
  }, 300_000)
})
