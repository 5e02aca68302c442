import * as Effect from "effect/Effect"
import { describe, expect, it } from "vitest"
import type { Algebra, Repr } from "../../src/algebra/algebra.js"
import { volumeBytes, volumeInfo } from "../../src/algebra/volume.js"
import * as Memory from "../../src/interpreters/memory/index.js"
import * as Run from "../../src/interpreters/run/index.js"
import { arraySource } from "../../src/io/memory.js"
import { label } from "../../src/ops/label.js"
import { threshold } from "../../src/ops/pointwise.js"
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
