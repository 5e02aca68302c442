import * as Effect from "effect/Effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { volumeBytes } from "../../src/algebra/volume.js"
import { costOf } from "../../src/interpreters/cost/index.js"
import * as Memory from "../../src/interpreters/memory/index.js"
import { ALL_REWRITES, type RewriteName } from "../../src/interpreters/plan/index.js"
import * as Run from "../../src/interpreters/run/index.js"
import { firstDifference } from "../support/voxels.js"
import { programSpecArb, toProgram } from "./arbitraries.js"

const runs = Number(process.env.PROPERTY_RUNS ?? 1000)

/** The plans compared: no rewrite (one stage per node), each rewrite alone, and all (fused). */
const variants: ReadonlyArray<{ name: string; rewrites: ReadonlyArray<RewriteName> }> = [
  { name: "unfused", rewrites: [] },
  ...ALL_REWRITES.map((r) => ({ name: r, rewrites: [r] })),
  { name: "fused", rewrites: ALL_REWRITES }
]

describe("run interpreter = memory interpreter", () => {
  it("on random DAG programs over random small volumes, voxel for voxel, with every set of rewrites", async () => {
    await fc.assert(
      fc.asyncProperty(programSpecArb, async (spec) => {
        const { program } = toProgram(spec)
        const mem = await Effect.runPromise(Memory.evaluate(program))
        const planned = new Map<string, number>()
        const io = new Map<string, number>()
        for (const variant of variants) {
          const run = await Effect.runPromise(Run.run(program, { rewrites: variant.rewrites }))
          for (const [name, v] of Object.entries(mem.volumes)) {
            const r = run.volumes[name]
            expect(r, name).toBeDefined()
            expect(r!.info.dtype).toBe(v.info.dtype)
            expect(firstDifference(r!.data, v.data), `${variant.name}: ${name}: first differing voxel`).toBe(-1)
          }
          for (const [name, value] of Object.entries(mem.scalars)) expect(run.scalars[name]).toEqual(value)
          // Buffers: what the run allocated never exceeds what the plan predicted, pass by pass.
          run.passes.forEach((p, i) => expect(p.peakBufferBytes).toBeLessThanOrEqual(run.plan.passes[i]!.bufferBytes))
          // Reads: every pass reads each source it uses (spills included) once, whole.
          let expected = 0
          for (const pass of run.plan.passes) {
            for (const s of pass.stages) if (s.node.kind === "source") expected += volumeBytes(s.node.info)
          }
          expect(run.bytesRead).toBe(expected)
          // The dry run predicts the bytes read and written exactly.
          const cost = costOf(run.plan)
          expect(run.bytesRead).toBe(cost.bytesRead)
          expect(run.bytesWritten).toBe(cost.bytesWritten)
          planned.set(variant.name, run.plan.peakBufferBytes)
          let spillWritten = 0
          for (const pass of run.plan.passes) {
            for (const r of pass.roots) if (r.kind === "write" && r.sink.format === "spill") spillWritten += volumeBytes(r.input.info)
          }
          io.set(variant.name, run.bytesRead + spillWritten)
        }
        // Fusion never costs memory, and spilling for reuse only where it saves I/O.
        expect(planned.get("fused")!).toBeLessThanOrEqual(planned.get("unfused")!)
        expect(io.get("fused")!).toBeLessThanOrEqual(io.get("unfused")!)
      }),
      { numRuns: runs }
    )
  })
})
