/**
 * Memory budgets on real files: a TIFF stack (uncompressed strips) and a zlib-compressed
 * multi-page TIFF read in bands of rows, outputs written in bands to a TIFF file, a TIFF stack and
 * NRRD. Under every budget from the smallest that works to none, the files written hold the same
 * voxels, the plan stays within the budget, the run within the plan, and the dry run (which opens
 * nothing) predicts the bytes exactly.
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { Algebra, Repr } from "../../src/algebra/algebra.js"
import { volumeInfo } from "../../src/algebra/volume.js"
import * as Cost from "../../src/interpreters/cost/index.js"
import * as Memory from "../../src/interpreters/memory/index.js"
import * as Plan from "../../src/interpreters/plan/index.js"
import * as Run from "../../src/interpreters/run/index.js"
import { openSource, sinkFor } from "../../src/io/index.js"
import { arraySink, arraySource } from "../../src/io/memory.js"
import type { SliceSink, SliceSource } from "../../src/algebra/slices.js"
import { tiffStackSink } from "../../src/io/tiff/writer.js"
import { gaussian } from "../../src/ops/gaussian.js"
import { median } from "../../src/ops/median.js"
import { threshold } from "../../src/ops/pointwise.js"
import { dilate } from "../../src/ops/binary.js"
import { firstDifference } from "../support/voxels.js"

let dir: string
let stack: SliceSource
let zlib: SliceSource
const compressed = path.join(__dirname, "../fixtures/tiff/tiled/tiled_zlib_pred_int16.tif")
beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "slicewise-budget-"))
  const info = volumeInfo("uint16", [9, 23, 17])
  const data = Uint16Array.from({ length: 9 * 23 * 17 }, (_, i) => (i * 2654435761) % 3000)
  const sink = tiffStackSink(path.join(dir, "in"))
  await Effect.runPromise(Run.run((alg) => ({ o: alg.write(alg.source(arraySource(info, data)), sink) })))
  stack = await Effect.runPromise(openSource(path.join(dir, "in")))
  zlib = await Effect.runPromise(openSource(compressed))
})
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

const pipelineTo =
  (source: SliceSource, sink: SliceSink) =>
  <F extends Repr>(alg: Algebra<F>) => {
    const smooth = median(alg, gaussian(alg, alg.source(source), { sigma: 1 }), { radius: 1 })
    const mask = dilate(alg, threshold(alg, smooth, { min: 1400 }), { radius: 1 })
    return { out: alg.write(mask, sink) }
  }

const minimumOf = async (program: Parameters<typeof Plan.make>[0]): Promise<number> => {
  const exit = await Effect.runPromiseExit(Plan.make(program, { memoryBytes: 1 }))
  if (Exit.isSuccess(exit) || exit.cause._tag !== "Fail" || exit.cause.error._tag !== "BudgetError") throw new Error("expected a BudgetError")
  return exit.cause.error.minimumBytes
}

describe("runs under a memory budget", () => {
  for (const [name, input] of [["TIFF stack", () => stack], ["tiled zlib TIFF", () => zlib]] as const) {
    for (const output of ["out.tif", "out/", "out.nrrd"]) {
      it(`${name} → ${output}: every budget from the minimum up gives the same file`, async () => {
        const source = input()
        const target = path.join(dir, `${name.replace(/ /g, "-")}-${output}`)
        const sink = await Effect.runPromise(sinkFor(target))
        const program = pipelineTo(source, sink)
        const reference = await Effect.runPromise(Memory.evaluate(pipelineTo(source, arraySink("reference"))))
        const expected = reference.volumes.out!.data
        const free = await Effect.runPromise(Plan.make(program))
        const minimum = await minimumOf(program)
        expect(minimum).toBeLessThan(free.peakBufferBytes)
        let banded = 0
        for (const fraction of [0, 0.2, 0.5, 1]) {
          const budget = Math.round(minimum + fraction * (free.peakBufferBytes - minimum))
          const cost = await Effect.runPromise(Cost.estimate(program, { memoryBytes: budget }))
          expect(cost.peakBufferBytes).toBeLessThanOrEqual(budget)
          const run = await Effect.runPromise(Run.run(program, { memoryBytes: budget }))
          if (run.plan.passes.some((p) => p.bands !== undefined)) banded++
          expect(run.peakBufferBytes).toBeLessThanOrEqual(run.plan.peakBufferBytes)
          expect(run.bytesRead).toBe(cost.bytesRead)
          expect(run.bytesWritten).toBe(cost.bytesWritten)
          const written = await Effect.runPromise(Effect.flatMap(openSource(target.replace(/\/$/, "")), Memory.loadSource))
          expect(written.info.shape).toEqual(source.info.shape)
          expect(firstDifference(written.data, expected), `budget ${budget}`).toBe(-1)
        }
        expect(banded).toBeGreaterThan(0)
      })
    }
  }

  it("never bands a pass over volumes of different heights together", async () => {
    const a = arraySource(volumeInfo("uint8", [5, 20, 9]), Uint8Array.from({ length: 900 }, (_, i) => (i * 7) % 256), "a")
    const b = arraySource(volumeInfo("uint8", [5, 31, 9]), Uint8Array.from({ length: 1395 }, (_, i) => (i * 13) % 256), "b")
    const program = <F extends Repr>(alg: Algebra<F>) => ({
      a: median(alg, alg.source(a), { radius: 1 }),
      b: gaussian(alg, alg.source(b), { sigma: 1 })
    })
    const reference = await Effect.runPromise(Memory.evaluate(program))
    const minimum = await minimumOf(program)
    const run = await Effect.runPromise(Run.run(program, { memoryBytes: minimum }))
    for (const pass of run.plan.passes) {
      if (pass.bands !== undefined) expect(new Set(pass.stages.map((s) => s.node.info.shape[1])).size).toBe(1)
    }
    expect(firstDifference(run.volumes.a!.data, reference.volumes.a!.data)).toBe(-1)
    expect(firstDifference(run.volumes.b!.data, reference.volumes.b!.data)).toBe(-1)
  })

  it("the dry run under a budget opens no source", async () => {
    let opened = 0
    const source: SliceSource = { ...stack, open: Effect.suspend(() => ((opened += 1), stack.open)) }
    const program = pipelineTo(source, await Effect.runPromise(sinkFor(path.join(dir, "dry.tif"))))
    const minimum = await minimumOf(program)
    const cost = await Effect.runPromise(Cost.estimate(program, { memoryBytes: minimum }))
    expect(cost.passes.some((p) => p.bands > 1)).toBe(true)
    expect(opened).toBe(0)
    expect(fs.existsSync(path.join(dir, "dry.tif"))).toBe(false)
  })
})
