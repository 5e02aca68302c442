/**
 * label's memory does not depend on the depth: the streaming run of a deep thin volume holds the
 * same buffers at depth 200 and at depth 2000 (rings and the labellers' two slices; only the
 * equivalence table, 4 bytes per provisional label, grows, and it grows with the number of
 * provisional labels, not with the depth).
 */
import * as Effect from "effect/Effect"
import { describe, expect, it } from "vitest"
import type { Algebra, Repr } from "../../src/algebra/algebra.js"
import { volumeInfo, type Shape } from "../../src/algebra/volume.js"
import * as Run from "../../src/interpreters/run/index.js"
import { arraySource } from "../../src/io/memory.js"
import { labelTable, labelWithCount } from "../../src/ops/label.js"

/**
 * A tube winding along z in a 5×5 plane (one component: two neighbouring voxels of the 16-voxel
 * border ring, one step further round in each slice, so consecutive slices touch by a face), plus
 * an isolated voxel in the centre of every 10th slice (depth / 10 more components).
 */
const RING = [0, 1, 2, 3, 4, 9, 14, 19, 24, 23, 22, 21, 20, 15, 10, 5]
const deepVolume = (depth: number, winding = true): { shape: Shape; data: Uint8Array } => {
  const data = new Uint8Array(depth * 25)
  for (let z = 0; z < depth; z++) {
    const k = winding ? z : 0
    data[z * 25 + RING[k % 16]!] = 1
    data[z * 25 + RING[(k + 1) % 16]!] = 1
    if (z % 10 === 5) data[z * 25 + 12] = 1
  }
  return { shape: [depth, 5, 5], data }
}

const runLabel = async (depth: number) => {
  const { shape, data } = deepVolume(depth)
  const src = arraySource(volumeInfo("uint8", shape), data)
  const program = <F extends Repr>(alg: Algebra<F>) => labelWithCount(alg, alg.source(src), { connectivity: 6 })
  return Effect.runPromise(Run.run(program))
}

describe("label: memory independent of depth", () => {
  it("peak buffer bytes are the same at depth 200 and 2000", async () => {
    const shallow = await runLabel(200)
    const deep = await runLabel(2000)
    expect(shallow.scalars.count).toBe(1 + 20)
    expect(deep.scalars.count).toBe(1 + 200)
    expect(deep.peakBufferBytes).toBe(shallow.peakBufferBytes)
    expect(deep.peakBufferBytes).toBeGreaterThan(0)
    // Stage by stage, too (each pass's rings and scratch).
    const perStage = (r: typeof deep) => r.stages.map((s) => [s.pass, s.label, s.peakBufferBytes])
    expect(perStage(deep)).toEqual(perStage(shallow))
    // And the plan's prediction bounds the measurement.
    expect(deep.peakBufferBytes).toBeLessThanOrEqual(deep.plan.peakBufferBytes)
  })

  it("the equivalence table grows with the provisional labels, not with the depth", () => {
    const size = (depth: number, winding: boolean) => {
      const { shape, data } = deepVolume(depth, winding)
      const acc = labelTable(6).start(volumeInfo("uint8", shape))
      for (let z = 0; z < depth; z++) acc.add(data.subarray(z * 25, (z + 1) * 25), z)
      return acc.result().length
    }
    // A straight tube needs one provisional label at any depth; each isolated voxel one more.
    expect(size(200, false)).toBe(1 + 1 + 20)
    expect(size(2000, false)).toBe(1 + 1 + 200)
    // The winding tube starts a new provisional label wherever it turns against raster order
    // (then merged): more labels, still in proportion to what the volume holds.
    expect(size(2000, true)).toBeLessThan(2000)
    // A volume whose every slice continues the one before needs one label at any depth.
    const tube = (depth: number) => {
      const acc = labelTable(26).start(volumeInfo("uint8", [depth, 4, 4]))
      const slice = new Uint8Array(16).fill(1)
      for (let z = 0; z < depth; z++) acc.add(slice, z)
      return acc.result().length
    }
    expect(tube(2000)).toBe(2)
    expect(tube(20000)).toBe(2)
  })
})
