import * as Effect from "effect/Effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { volumeBytes } from "../../src/algebra/volume.js"
import * as Memory from "../../src/interpreters/memory/index.js"
import * as Run from "../../src/interpreters/run/index.js"
import { firstDifference } from "../support/voxels.js"
import { programSpecArb, toProgram } from "./arbitraries.js"


describe("run interpreter = memory interpreter", () => {
  it("on random DAG programs over random small volumes, voxel for voxel", async () => {
    await fc.assert(
      fc.asyncProperty(programSpecArb, async (spec) => {
        const { program, sources } = toProgram(spec)
        const mem = await Effect.runPromise(Memory.evaluate(program))
        const run = await Effect.runPromise(Run.run(program))
        for (const [name, v] of Object.entries(mem.volumes)) {
          const r = run.volumes[name]
          expect(r, name).toBeDefined()
          expect(r!.info.dtype).toBe(v.info.dtype)
          expect(firstDifference(r!.data, v.data), `${name}: first differing voxel`).toBe(-1)
        }
        // Buffers: what the run allocated never exceeds what the plan predicted, pass by pass.
        run.passes.forEach((p, i) => expect(p.peakBufferBytes).toBeLessThanOrEqual(run.plan.passes[i]!.bufferBytes))
        // Reads: every pass reads each source it uses once, whole.
        let expected = 0
        for (const pass of run.plan.passes) {
          for (const s of pass.stages) if (s.node.kind === "source") expected += volumeBytes(s.node.info)
        }
        expect(run.bytesRead).toBe(expected)
        expect(sources.length).toBe(2)
      }),
      { numRuns: Number(process.env.PROPERTY_RUNS ?? 1000) }
    )
  })
})
