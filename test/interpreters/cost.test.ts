import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { Algebra, Repr } from "../../src/algebra/algebra.js"
import { volumeInfo } from "../../src/algebra/volume.js"
import * as Cost from "../../src/interpreters/cost/index.js"
import * as Run from "../../src/interpreters/run/index.js"
import { openSource } from "../../src/io/index.js"
import { arraySource } from "../../src/io/memory.js"
import { nrrdSink } from "../../src/io/nrrd.js"
import type { SliceSource } from "../../src/algebra/slices.js"
import { tiffStackSink } from "../../src/io/tiff/writer.js"
import { edt } from "../../src/ops/edt.js"
import { gaussian } from "../../src/ops/gaussian.js"
import { threshold } from "../../src/ops/pointwise.js"

let dir: string
let stack: SliceSource
beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "slicewise-cost-"))
  const info = volumeInfo("uint16", [11, 13, 17])
  const data = Uint16Array.from({ length: 11 * 13 * 17 }, (_, i) => (i * 2654435761) % 3000)
  const sink = tiffStackSink(path.join(dir, "in"))
  await Effect.runPromise(Run.run((alg) => ({ o: alg.write(alg.source(arraySource(info, data)), sink) })))
  stack = await Effect.runPromise(openSource(path.join(dir, "in")))
})
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

/** The same source, counting the readers opened on it. */
const counting = (s: SliceSource) => {
  let opened = 0
  const source: SliceSource = { ...s, open: Effect.suspend(() => ((opened += 1), s.open)) }
  return { source, opened: () => opened }
}

describe("the cost interpreter", () => {
  it("reads no voxel, and predicts a multi-pass run's bytes exactly (TIFF stack in, NRRD out, a spill)", async () => {
    const { source, opened } = counting(stack)
    const program = <F extends Repr>(alg: Algebra<F>) => {
      const mask = threshold(alg, gaussian(alg, alg.source(source), { sigma: 1 }), { min: 1200 })
      return { d: alg.write(edt(alg, mask), nrrdSink(path.join(dir, "edt.nrrd"))) }
    }
    const cost = await Effect.runPromise(Cost.estimate(program))
    expect(opened()).toBe(0)
    expect(cost.passes).toHaveLength(2)
    expect(cost.spillBytesWritten).toBeGreaterThan(0)
    expect(cost.amplification).toBe(1)
    const run = await Effect.runPromise(Run.run(program))
    expect(opened()).toBe(1)
    expect(run.bytesRead).toBe(cost.bytesRead)
    expect(run.bytesWritten).toBe(cost.bytesWritten)
    expect(run.peakBufferBytes).toBeLessThanOrEqual(cost.peakBufferBytes)
    expect(Cost.costText(cost)).toMatch(/amplification 1\.00/)
  })

  it("counts a later pass re-reading an input as amplification", async () => {
    const program = <F extends Repr>(alg: Algebra<F>) => {
      const v = alg.source(stack)
      const mean = alg.derive(
        alg.reduce(v, { name: "sum", params: {}, opsPerVoxel: 1, start: () => { let t = 0, n = 0; return { add: (s) => { for (const x of s) t += x; n += s.length }, result: () => t / n } } }),
        (m) => m,
        "mean"
      )
      return { o: alg.write(alg.map(v, () => alg.scalar(mean), { dtype: "float32" }), nrrdSink(path.join(dir, "mean.nrrd"))) }
    }
    const cost = await Effect.runPromise(Cost.estimate(program))
    expect(cost.amplification).toBe(2)
    const run = await Effect.runPromise(Run.run(program))
    expect(run.bytesRead).toBe(cost.bytesRead)
    expect(run.bytesWritten).toBe(cost.bytesWritten)
  })
})
