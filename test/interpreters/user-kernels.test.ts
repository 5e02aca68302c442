/**
 * Kernels of a user's own (test/support/user-kernels.ts, each with a recipe naming its module) run
 * on row threads as the built-in ones do, and what a kernel throws fails the run with a typed
 * KernelError naming the stage and slice, in every interpreter, instead of a defect.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { describe, expect, it } from "vitest"
import type { Program } from "../../src/algebra/algebra.js"
import type { KernelError } from "../../src/algebra/kernel-error.js"
import type { KernelRecipe, WindowKernel } from "../../src/algebra/kernel.js"
import { volumeInfo } from "../../src/algebra/volume.js"
import { evaluate } from "../../src/interpreters/memory/index.js"
import * as Plan from "../../src/interpreters/plan/index.js"
import { anySplit } from "../../src/interpreters/plan/threads.js"
import * as Run from "../../src/interpreters/run/index.js"
import { threadKernels } from "../../src/interpreters/run/threads/plan-kernels.js"
import { arraySource } from "../../src/io/memory.js"
import { nrrdSink } from "../../src/io/nrrd.js"
import { correlate } from "../../src/ops/correlate.js"
import { gaussian } from "../../src/ops/gaussian.js"
import { dilate, erode } from "../../src/ops/binary.js"
import { median } from "../../src/ops/median.js"
import { greyDilate } from "../../src/ops/morphology.js"
import { threshold } from "../../src/ops/pointwise.js"
import { uniform } from "../../src/ops/uniform.js"
import { firstDifference } from "../support/voxels.js"
import { newCounts, zMax, zyBoxSum, type Failure } from "../support/user-kernels.js"

const info = volumeInfo("uint16", [6, 24, 17])
const data = Uint16Array.from({ length: 6 * 24 * 17 }, (_, i) => ((i * 2654435761) >>> 9) % 3001)
const src = arraySource(info, data, "ramp")

/** zyBoxSum then zMax (a "rows" step, then a "band" step), counting calls in `counts`. */
const userProgram =
  (counts: Int32Array, fail?: Failure, strip?: "recipe"): Program =>
  (alg) => {
    const noRecipe = <K extends { readonly recipe?: KernelRecipe }>(k: K): K => (strip === "recipe" ? { ...k, recipe: undefined } : k)
    const box = alg.window(alg.source(src), noRecipe(zyBoxSum(counts, fail)) as never)
    return { out: alg.window(box, noRecipe(zMax("float32", counts)) as never) }
  }

const split = { threads: 2, minSplitOps: 0 } as const

/** The KernelError `effect` fails with (caught by its tag), or a description of what happened instead. */
const kernelErrorOf = async (effect: Effect.Effect<unknown, Run.RunError>): Promise<KernelError | string> => {
  const exit = await Effect.runPromiseExit(
    effect.pipe(
      Effect.map((): KernelError | string => "no failure"),
      Effect.catchTag("KernelError", (e) => Effect.succeed(e))
    )
  )
  return Exit.isSuccess(exit) ? exit.value : `not a KernelError: ${Cause.pretty(exit.cause)}`
}

describe("a kernel of the user's own", () => {
  it("runs on the row workers with its recipe: the same voxels as one thread and as the memory interpreter", async () => {
    const mem = await Effect.runPromise(evaluate(userProgram(newCounts())))
    const one = newCounts()
    const single = await Effect.runPromise(Run.run(userProgram(one)))
    const two = newCounts()
    const plan = await Effect.runPromise(Plan.make(userProgram(two), split))
    expect(anySplit(plan)).toBe(true)
    expect(threadKernels(plan).map((k) => k.kernel)).toEqual(["zy-box-sum", "z-max"])
    const threaded = await Effect.runPromise(Run.run(userProgram(two), split))
    expect(firstDifference(single.volumes.out!.data, mem.volumes.out!.data)).toBe(-1)
    expect(firstDifference(threaded.volumes.out!.data, mem.volumes.out!.data)).toBe(-1)
    expect(one[1]).toBe(0)
    // Each slice of each stage: one call on this thread and one in the worker.
    expect(two[0]).toBe(2 * 6)
    expect(two[1]).toBe(2 * 6)
  })

  it("without a recipe runs on the calling thread only", async () => {
    const counts = newCounts()
    const program = userProgram(counts, undefined, "recipe")
    expect(anySplit(await Effect.runPromise(Plan.make(program, split)))).toBe(false)
    const run = await Effect.runPromise(Run.run(program, split))
    const mem = await Effect.runPromise(evaluate(userProgram(newCounts())))
    expect(firstDifference(run.volumes.out!.data, mem.volumes.out!.data)).toBe(-1)
    expect(counts[0]).toBe(2 * 6)
    expect(counts[1]).toBe(0)
  })
})

describe("a kernel that throws", () => {
  const onSlice3: Failure = { in: "compute", z: 3, on: "any" }
  const runs: ReadonlyArray<readonly [string, (p: Program) => Effect.Effect<unknown, Run.RunError>]> = [
    ["fused, 1 thread", (p) => Run.run(p)],
    ["fused, 2 threads", (p) => Run.run(p, split)],
    ["unfused", (p) => Run.run(p, { mode: "unfused" })],
    ["memory", (p) => evaluate(p)]
  ]

  for (const [name, interpret] of runs) {
    it(`in compute fails the run with a KernelError naming the stage and the slice (${name})`, async () => {
      const e = await kernelErrorOf(interpret(userProgram(newCounts(), onSlice3)))
      expect(typeof e === "string" ? e : e._tag).toBe("KernelError")
      const error = e as KernelError
      expect(error.stage).toMatch(/^#\d+ zy-box-sum/)
      expect(error.kernel).toBe("zy-box-sum")
      expect(error.phase).toBe("compute")
      expect(error.z).toBe(3)
      expect(error.detail).toBe("user kernel exploded at z=3")
      expect(error.message).toBe(`kernel zy-box-sum of stage ${error.stage} failed on slice 3: user kernel exploded at z=3`)
    })
  }

  it("names the same stage in the unfused run and in the memory interpreter", async () => {
    const unfused = await kernelErrorOf(Run.run(userProgram(newCounts(), onSlice3), { mode: "unfused" }))
    const memory = await kernelErrorOf(evaluate(userProgram(newCounts(), onSlice3)))
    expect((unfused as KernelError).stage).toBe("#1 zy-box-sum")
    expect((memory as KernelError).stage).toBe("#1 zy-box-sum")
  })

  it("in a worker only fails the run with the worker's message", async () => {
    const e = await kernelErrorOf(Run.run(userProgram(newCounts(), { in: "compute", z: 2, on: "worker" }), split))
    expect(typeof e === "string" ? e : e.message).toMatch(/^kernel zy-box-sum of stage #\d+ zy-box-sum failed on slice 2: user kernel exploded at z=2$/)
  })

  it("in prepare fails the run with a KernelError, on the calling thread and in a worker", async () => {
    for (const interpret of [(p: Program) => Run.run(p, split), (p: Program) => Run.run(p, { mode: "unfused" }), evaluate]) {
      const e = await kernelErrorOf(interpret(userProgram(newCounts(), { in: "prepare", on: "any" })))
      expect(typeof e === "string" ? e : `${e.phase}: ${e.detail}`).toBe("prepare: user kernel exploded")
    }
    // A worker prepares its kernel at its first job: slice 0.
    const e = await kernelErrorOf(Run.run(userProgram(newCounts(), { in: "prepare", on: "worker" }), split))
    expect(typeof e === "string" ? e : `${e.phase} ${e.z}: ${e.detail}`).toBe("compute 0: user kernel exploded")
  })

  it("leaves no output behind", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "slicewise-user-kernel-"))
    try {
      const program: Program = (alg) => ({
        out: alg.write(alg.window(alg.source(src), zyBoxSum(newCounts(), onSlice3) as never), nrrdSink(path.join(dir, "out.nrrd")))
      })
      for (const options of [{}, split, { mode: "unfused" } as const]) {
        const e = await kernelErrorOf(Run.run(program, options))
        expect(typeof e === "string" ? e : e._tag).toBe("KernelError")
        expect(fs.readdirSync(dir)).toEqual([])
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe("a recipe the workers cannot follow", () => {
  const withRecipe = (recipe: Partial<KernelRecipe>): Program => (alg) => {
    const kernel = zyBoxSum(newCounts())
    return { out: alg.window(alg.source(src), { ...kernel, recipe: { ...kernel.recipe!, ...recipe } } as never) }
  }

  it("an export the module does not have: a KernelError before the first slice", async () => {
    const e = await kernelErrorOf(Run.run(withRecipe({ factory: "noSuchFactory" }), split))
    expect(typeof e === "string" ? e : `${e.phase} ${e.stage}`).toMatch(/^load #\d+ zy-box-sum$/)
    expect((e as KernelError).message).toContain('exports no function "noSuchFactory"')
  })

  it("a module that does not exist: a KernelError, not a hang", async () => {
    const e = await kernelErrorOf(Run.run(withRecipe({ module: "file:///no/such/kernels.js" }), split))
    expect(typeof e === "string" ? e : e.phase).toBe("load")
    expect((e as KernelError).detail).toContain("cannot import file:///no/such/kernels.js")
  })

  it("a module that is not an absolute URL: a KernelError that says so", async () => {
    const e = await kernelErrorOf(Run.run(withRecipe({ module: "./user-kernels.js" }), split))
    expect(typeof e === "string" ? e : e.detail).toBe('its recipe\'s module "./user-kernels.js" is not an absolute URL')
  })

  it("runs on one thread all the same: a recipe is read only by workers", async () => {
    const run = await Effect.runPromise(Run.run(withRecipe({ factory: "noSuchFactory" })))
    expect(run.volumes.out!.data.length).toBe(6 * 24 * 17)
  })
})

describe("the built-in kernels' recipes", () => {
  it("each names an export of its module that rebuilds the same kernel", async () => {
    const u8 = arraySource(volumeInfo("uint8", [5, 12, 11]), new Uint8Array(5 * 12 * 11), "zeros")
    const program: Program = (alg) => {
      const v = alg.source(u8)
      const mask = threshold(alg, v, { min: 1 })
      return {
        g: gaussian(alg, v, { sigma: 1 }),
        u: uniform(alg, v, { size: 3 }),
        m: median(alg, v, { radius: 1 }),
        c: correlate(alg, v, { z: [1, 2, 1], y: [1, 0, -1], x: [0.25, 0.5, 0.25], dtype: "float32" }),
        gd: greyDilate(alg, v, { radius: 1 }),
        rows: dilate(alg, mask, { radius: 1, footprint: "ball", method: "rows" }),
        dist: dilate(alg, mask, { radius: 3, footprint: "ball", method: "distance" }),
        box: erode(alg, mask, { radius: 1, footprint: "cube" })
      }
    }
    const graph = await Effect.runPromise(Plan.graphOf(program))
    const kernels = graph.nodes.flatMap((n) => (n.kind === "window" && n.kernel.recipe !== undefined ? [n.kernel] : []))
    const factories = new Set<string>()
    for (const kernel of kernels) {
      const { module, factory, args } = kernel.recipe!
      const exports = (await import(module)) as Record<string, (...a: ReadonlyArray<unknown>) => WindowKernel<never, never>>
      expect(typeof exports[factory], `${kernel.name}: ${factory} of ${module}`).toBe("function")
      const again = exports[factory]!(...structuredClone(args))
      expect([again.name, again.params]).toEqual([kernel.name, kernel.params])
      factories.add(factory)
    }
    expect(factories.size).toBeGreaterThanOrEqual(10)
  })
})
