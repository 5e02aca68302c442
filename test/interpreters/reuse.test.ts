import * as Effect from "effect/Effect"
import { describe, expect, it } from "vitest"
import type { Algebra, Repr, Volume } from "../../src/algebra/algebra.js"
import type { DType } from "../../src/algebra/dtype.js"
import * as E from "../../src/algebra/expr.js"
import { volumeBytes, volumeInfo } from "../../src/algebra/volume.js"
import * as Memory from "../../src/interpreters/memory/index.js"
import * as Run from "../../src/interpreters/run/index.js"
import { arraySource } from "../../src/io/memory.js"
import { label } from "../../src/ops/label.js"
import { threshold } from "../../src/ops/pointwise.js"
import { maxReducer, runningSum } from "../properties/arbitraries.js"
import { firstDifference } from "../support/voxels.js"

describe("spill or recompute, by bytes", () => {
  const info = volumeInfo("float32", [9, 12, 10])
  const data = Float32Array.from({ length: 9 * 12 * 10 }, (_, i) => Math.sin(i * 0.37) * 100)
  const src = arraySource(info, data)
  const program = <F extends Repr>(alg: Algebra<F>) => ({ labels: label(alg, threshold(alg, alg.source(src), { min: 20 }), { connectivity: 26 }) })

  it("labels of a float32 volume's mask: the second pass reads the 1-byte mask, not the 4-byte input", async () => {
    const reused = await Effect.runPromise(Run.run(program))
    const recomputed = await Effect.runPromise(Run.run(program, { rewrites: [] }))
    const mem = await Effect.runPromise(Memory.evaluate(program))
    expect(firstDifference(reused.volumes.labels!.data, mem.volumes.labels!.data)).toBe(-1)
    expect(firstDifference(recomputed.volumes.labels!.data, mem.volumes.labels!.data)).toBe(-1)
    const mask = volumeBytes(volumeInfo("uint8", info.shape))
    expect(recomputed.bytesRead).toBe(2 * volumeBytes(info))
    expect(reused.bytesRead).toBe(volumeBytes(info) + mask)
    const second = reused.plan.passes[1]!
    expect(second.stages.filter((s) => s.node.kind === "source").map((s) => s.node.info.dtype)).toEqual(["uint8"])
  })
})

describe("a spill whose readers would land in a pass of their own", () => {
  // b's mask is made in the forward pass (output `forward`) and needed again by the backward pass
  // that folds a's backward sweep. Spilling the 1-byte mask instead of re-reading 4-byte b looks
  // cheaper, but its readers must run after the pass that writes it: the backward output would
  // leave the fold's pass for a third pass that reads a again.
  const info = volumeInfo("int32", [6, 5, 4])
  const a = arraySource(info, Int32Array.from({ length: 120 }, (_, i) => (i * 7) % 23), "a")
  const b = arraySource(info, Int32Array.from({ length: 120 }, (_, i) => (i * 5) % 17), "b")
  const program = <F extends Repr>(alg: Algebra<F>) => {
    const swept = alg.sweep(alg.source(a), runningSum(0, "int32"), "backward") as Volume<F, DType>
    const mask = alg.map(alg.source(b), (x) => E.gt(x, 8), { dtype: "uint8" })
    const other = alg.map(alg.source(a), (x) => E.gt(x, 3), { dtype: "uint8" })
    return {
      peak: alg.reduce(swept, maxReducer),
      forward: alg.zip([mask, other], (m, o) => E.add(m, o)),
      backward: alg.zip([swept, alg.map(mask, (m) => m, { dtype: "int32" }) as Volume<F, DType>], (s, m) => E.mul(s, m))
    }
  }

  it("is not taken: the fused plan reads and writes no more than the unfused one", async () => {
    const fused = await Effect.runPromise(Run.run(program))
    const unfused = await Effect.runPromise(Run.run(program, { rewrites: [] }))
    const mem = await Effect.runPromise(Memory.evaluate(program))
    for (const name of ["forward", "backward"]) {
      expect(firstDifference(fused.volumes[name]!.data, mem.volumes[name]!.data), name).toBe(-1)
    }
    expect(fused.scalars.peak).toEqual(mem.scalars.peak)
    expect(fused.plan.passes.length).toBe(unfused.plan.passes.length)
    expect(fused.bytesRead).toBeLessThanOrEqual(unfused.bytesRead)
    expect(fused.plan.passes.flatMap((p) => p.roots).filter((r) => r.kind === "write" && r.sink.format === "spill")).toEqual([])
  })
})
