/**
 * Row threads: what the property test does not reach. Banded passes under a budget split across
 * threads; the plan counts every thread's kernel scratch; a worker's failure reaches the caller as
 * an error (not a hang); and the workers are stopped when the run ends.
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { pathToFileURL } from "node:url"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { describe, expect, it } from "vitest"
import type { Program } from "../../src/algebra/algebra.js"
import { allocShared } from "../../src/algebra/dtype.js"
import { volumeInfo, type Shape } from "../../src/algebra/volume.js"
import { costOf } from "../../src/interpreters/cost/index.js"
import { evaluate } from "../../src/interpreters/memory/index.js"
import * as Plan from "../../src/interpreters/plan/index.js"
import * as Run from "../../src/interpreters/run/index.js"
import { anySplit } from "../../src/interpreters/plan/threads.js"
import { acquireRowThreads, type RowThreads } from "../../src/interpreters/run/threads/pool.js"
import { arraySource } from "../../src/io/memory.js"
import { gaussian } from "../../src/ops/gaussian.js"
import { median, medianKernel } from "../../src/ops/median.js"
import { threshold } from "../../src/ops/pointwise.js"
import { uniform } from "../../src/ops/uniform.js"
import { firstDifference } from "../support/voxels.js"

const volume = (shape: Shape) => {
  const n = shape[0] * shape[1] * shape[2]
  const data = Uint16Array.from({ length: n }, (_, i) => ((i * 2654435761) >>> 7) % 4099)
  return arraySource(volumeInfo("uint16", shape) as never, data as never, `ramp-${shape.join("x")}`)
}

describe("row threads", () => {
  it("split banded passes too: a budget that forces bands gives the memory interpreter's voxels", async () => {
    const src = volume([9, 96, 200])
    const program: Program = (alg) => ({
      out: median(alg, uniform(alg, gaussian(alg, alg.source(src), { sigma: 1.5 }), { size: 3 }), { radius: 1 })
    })
    const mem = await Effect.runPromise(evaluate(program))
    const whole = await Effect.runPromise(Plan.make(program, { threads: 2, minSplitOps: 0 }))
    const budget = Math.floor(whole.peakBufferBytes * 0.7)
    const run = await Effect.runPromise(Run.run(program, { threads: 2, minSplitOps: 0, memoryBytes: budget }))
    expect(run.plan.passes.some((p) => p.bands !== undefined)).toBe(true)
    expect(run.peakBufferBytes).toBeLessThanOrEqual(budget)
    expect(firstDifference(run.volumes.out!.data, mem.volumes.out!.data)).toBe(-1)
  })

  it("the plan counts each thread's kernel scratch: a median's is held once per thread", async () => {
    const src = volume([5, 40, 30])
    const program: Program = (alg) => ({ out: median(alg, alg.source(src), { radius: 1 }) })
    const stage = (threads: number) =>
      Effect.runPromise(Plan.make(program, { threads, minSplitOps: 0 })).then((p) => p.passes[0]!.stages.find((s) => s.node.kind === "window")!)
    const one = await stage(1)
    const three = await stage(3)
    const kernelScratch = medianKernel("uint16", 1, "reflect", 0).scratchBytes(volumeInfo("uint16", [5, 40, 30]))
    expect(three.scratchBytes - one.scratchBytes).toBe(2 * kernelScratch)
    const plan = await Effect.runPromise(Plan.make(program, { threads: 3, minSplitOps: 0 }))
    expect(Plan.planText(plan)).toContain("3 threads")
  })

  it("splits only steps worth it: a threshold on 512² slices is not, a gaussian is; tiny slices never", async () => {
    const big = arraySource(volumeInfo("uint8", [3, 512, 512]) as never, new Uint8Array(3 * 512 * 512) as never, "big")
    const splits = (program: Program, options: Plan.PlanOptions = {}) =>
      Effect.runPromise(Plan.make(program, { threads: 2, ...options })).then(anySplit)
    expect(await splits((alg) => ({ out: threshold(alg, alg.source(big), { min: 128 }) }))).toBe(false)
    expect(await splits((alg) => ({ out: gaussian(alg, alg.source(big), { sigma: 2 }) }))).toBe(true)
    expect(await splits((alg) => ({ out: gaussian(alg, alg.source(volume([3, 8, 8])), { sigma: 2 }) }))).toBe(false)
    expect(await splits((alg) => ({ out: threshold(alg, alg.source(big), { min: 128 }) }), { minSplitOps: 0 })).toBe(true)
  })

  it("the dry run's time counts split steps' work once per thread", async () => {
    const big = arraySource(volumeInfo("uint8", [3, 512, 512]) as never, new Uint8Array(3 * 512 * 512) as never, "big")
    const throughput = { readBytesPerSecond: Infinity, writeBytesPerSecond: Infinity, voxelOpsPerSecond: 1e9 }
    const seconds = (program: Program, threads: number) =>
      Effect.runPromise(Plan.make(program, { threads })).then((p) => costOf(p, throughput).estimatedSeconds)
    const smooth: Program = (alg) => ({ out: gaussian(alg, alg.source(big), { sigma: 2 }) })
    const binary: Program = (alg) => ({ out: threshold(alg, alg.source(big), { min: 128 }) })
    // Every pass of a gaussian is split: half the compute with 2 threads, a quarter with 4.
    expect(await seconds(smooth, 2)).toBeCloseTo((await seconds(smooth, 1)) / 2, 9)
    expect(await seconds(smooth, 4)).toBeCloseTo((await seconds(smooth, 1)) / 4, 9)
    expect(await seconds(binary, 2)).toBe(await seconds(binary, 1))
  })

  it("run from the compiled library (dist/, as an installed package is), the workers load its worker.js", () => {
    const dist = path.resolve(__dirname, "../../dist")
    expect(fs.existsSync(path.join(dist, "interpreters/run/threads/worker.js")), "dist/ is missing: npm run build").toBe(true)
    const script = `
      import * as Effect from "effect/Effect"
      import * as Run from "${pathToFileURL(path.join(dist, "interpreters/run/index.js")).href}"
      import { arraySource } from "${pathToFileURL(path.join(dist, "io/memory.js")).href}"
      import { gaussian } from "${pathToFileURL(path.join(dist, "ops/gaussian.js")).href}"
      const info = { dtype: "uint8", shape: [4, 40, 30], spacing: [1, 1, 1] }
      const src = arraySource(info, Uint8Array.from({ length: 4800 }, (_, i) => (i * 7919) % 251), "ramp")
      const program = (alg) => ({ out: gaussian(alg, alg.source(src), { sigma: 1 }) })
      const one = await Effect.runPromise(Run.run(program))
      const two = await Effect.runPromise(Run.run(program, { threads: 2, minSplitOps: 0 }))
      console.log(JSON.stringify({ same: Buffer.compare(Buffer.from(one.volumes.out.data), Buffer.from(two.volumes.out.data)) === 0, threads: two.plan.passes[0].threads.threads }))`
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { cwd: path.resolve(__dirname, "../.."), encoding: "utf8" })
    expect(r.status, r.stderr).toBe(0)
    expect(JSON.parse(r.stdout)).toEqual({ same: true, threads: 2 })
  })

  it("a failure in a worker is an error of the step, and the workers stop with the scope", async () => {
    const failure = await Effect.runPromiseExit(
      Effect.scoped(
        Effect.gen(function* () {
          const threads = yield* acquireRowThreads(2)
          // A recipe the workers were not asked to load when they started.
          const step = threads.defineKernel({ module: import.meta.url, factory: "noSuchKernel", args: [] }, volumeInfo("uint8", [1, 4, 4]), "rows")
          const out = allocShared("uint8", 16)
          let mine: [number, number] | undefined
          threads.run(step, 0, 4, [out], (start, end) => (mine = [start, end]))
          return mine
        })
      )
    )
    expect(Exit.isFailure(failure) && Cause.pretty(failure.cause)).toContain('did not load "noSuchKernel"')
  })

  /** Runs `use` with 2 row threads and a median step on 4×4 uint8 slices; the failure's text. */
  const failureOf = async (use: (threads: RowThreads, step: number) => Effect.Effect<void>): Promise<string> => {
    const exit = await Effect.runPromiseExit(
      Effect.scoped(
        Effect.gen(function* () {
          const recipe = medianKernel("uint8", 1, "reflect", 0).recipe!
          const threads = yield* acquireRowThreads(2, [{ recipe, stage: "#1 median", kernel: "median" }])
          const step = threads.defineKernel(recipe, volumeInfo("uint8", [1, 4, 4]), "rows")
          yield* use(threads, step)
        })
      )
    )
    return Exit.isFailure(exit) ? Cause.pretty(exit.cause) : "no failure"
  }

  it("a worker that died is reported, not waited for forever", async () => {
    const text = await failureOf((threads, step) =>
      Effect.gen(function* () {
        // Stopped from outside, as the kernel would for a thread out of memory.
        const { worker } = (threads as unknown as { workers: ReadonlyArray<{ worker: { terminate: () => Promise<number> } }> }).workers[0]!
        yield* Effect.promise(() => worker.terminate())
        const out = allocShared("uint8", 16)
        threads.run(step, 0, 4, [out, out, out, out], () => {})
      })
    )
    expect(text).toContain("the thread stopped")
  })

  it("refuses arrays that are not shared, before any worker reads them", async () => {
    const text = await failureOf((threads, step) => Effect.sync(() => threads.run(step, 0, 4, [new Uint8Array(16)], () => {})))
    expect(text).toContain("not in shared memory")
  })
})
