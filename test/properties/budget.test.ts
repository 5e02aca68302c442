import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { costOf } from "../../src/interpreters/cost/index.js"
import * as Memory from "../../src/interpreters/memory/index.js"
import * as Plan from "../../src/interpreters/plan/index.js"
import * as Run from "../../src/interpreters/run/index.js"
import { firstDifference } from "../support/voxels.js"
import { programSpecArb, toProgram } from "./arbitraries.js"

const runs = Math.max(50, Math.round(Number(process.env.PROPERTY_RUNS ?? 1000) / 3))

/** The smallest budget the planner can fit the program into, from its refusal of 1 byte. */
const minimumBudget = async (program: Parameters<typeof Plan.make>[0], options: Plan.PlanOptions): Promise<number> => {
  const exit = await Effect.runPromiseExit(Plan.make(program, { ...options, memoryBytes: 1 }))
  if (Exit.isSuccess(exit)) return exit.value.peakBufferBytes
  const error = exit.cause._tag === "Fail" ? exit.cause.error : undefined
  expect(error?._tag).toBe("BudgetError")
  return (error as Plan.BudgetError).minimumBytes
}

describe("memory budgets", () => {
  it("a plan fitted to any feasible budget stays within it and gives the same voxels; an infeasible one is refused", async () => {
    await fc.assert(
      fc.asyncProperty(programSpecArb, fc.double({ min: 0, max: 1, noNaN: true }), async (spec, where) => {
        const { program } = toProgram(spec)
        const mem = await Effect.runPromise(Memory.evaluate(program))
        for (const mode of ["fused", "unfused"] as const) {
          // The unfused executor plans with no optimising rewrite: its plan, and its minimum, differ.
          const options: Plan.PlanOptions = mode === "fused" ? {} : { rewrites: [] }
          const free = await Effect.runPromise(Plan.make(program, options))
          const minimum = await minimumBudget(program, options)
          expect(minimum).toBeLessThanOrEqual(free.peakBufferBytes)
          const budget = Math.floor(minimum + where * (free.peakBufferBytes - minimum))
          const run = await Effect.runPromise(Run.run(program, { memoryBytes: budget, mode }))
          expect(run.plan.peakBufferBytes).toBeLessThanOrEqual(budget)
          for (const [name, v] of Object.entries(mem.volumes)) {
            expect(firstDifference(run.volumes[name]!.data, v.data), `${mode} under ${budget}: ${name}`).toBe(-1)
          }
          for (const [name, value] of Object.entries(mem.scalars)) expect(run.scalars[name]).toEqual(value)
          const cost = costOf(run.plan)
          expect(run.bytesRead).toBe(cost.bytesRead)
          expect(run.bytesWritten).toBe(cost.bytesWritten)
          // The fused executor's buffers are the plan's; the unfused one is a reference, not bounded by it.
          if (mode === "fused") for (const p of run.passes) expect(p.peakBufferBytes).toBeLessThanOrEqual(budget)
          if (minimum > 1) {
            const exit = await Effect.runPromiseExit(Plan.make(program, { ...options, memoryBytes: minimum - 1 }))
            expect(Exit.isFailure(exit)).toBe(true)
          }
        }
      }),
      { numRuns: runs }
    )
  })
})
