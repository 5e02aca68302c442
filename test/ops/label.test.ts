/**
 * label = scipy.ndimage.label with generate_binary_structure(3, 1 | 2 | 3), voxel for voxel, through
 * the memory interpreter and the streaming run interpreter (fused and unfused plans), on the
 * fixtures of scripts/fixtures/make_label_fixtures.py; then on random volumes against a flood fill
 * written here (an independent oracle: no union-find, no provisional labels).
 */
import * as Effect from "effect/Effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import type { Algebra, Repr } from "../../src/algebra/algebra.js"
import type { VoxelArray } from "../../src/algebra/dtype.js"
import { haloZ, type WindowKernel } from "../../src/algebra/kernel.js"
import { volumeInfo, type Shape } from "../../src/algebra/volume.js"
import * as Memory from "../../src/interpreters/memory/index.js"
import * as Plan from "../../src/interpreters/plan/index.js"
import * as Run from "../../src/interpreters/run/index.js"
import { arraySource } from "../../src/io/memory.js"
import { firstDifference } from "../support/voxels.js"
import { arrayOf, labelManifest } from "./label-fixtures.js"
import { label, labelCount, labelTable, labelWithCount, MAX_LABELS, type Connectivity } from "../../src/ops/label.js"

// --- fixtures (test/fixtures/label) --------------------------------------------------------------

interface LabelCase {
  readonly id: string
  readonly input: string
  readonly connectivity: Connectivity
  readonly count: number
  readonly labels: string
}

const manifest = labelManifest as typeof labelManifest & { readonly label: ReadonlyArray<LabelCase> }

// --- running a program through every interpreter -------------------------------------------------

interface Labelled {
  readonly labels: VoxelArray
  readonly count: number
}

/** Labels `data` through memory, run (fused) and run (unfused); checks they agree; returns memory's. */
const labelEverywhere = async (info: ReturnType<typeof volumeInfo>, data: VoxelArray, connectivity: Connectivity): Promise<Labelled> => {
  const src = arraySource(info as never, data as never, "input")
  const program = <F extends Repr>(alg: Algebra<F>) => labelWithCount(alg, alg.source(src), { connectivity })
  const mem = await Effect.runPromise(Memory.evaluate(program))
  const fused = await Effect.runPromise(Run.run(program))
  const unfused = await Effect.runPromise(Run.run(program, { rewrites: [] }))
  const labels = mem.volumes.labels!
  expect(labels.info.dtype).toBe("uint32")
  for (const r of [fused, unfused]) {
    expect(r.volumes.labels!.info.dtype).toBe("uint32")
    expect(firstDifference(r.volumes.labels!.data, labels.data), "run differs from memory").toBe(-1)
    expect(r.scalars.count).toBe(mem.scalars.count)
    expect(r.plan.passes).toHaveLength(2)
  }
  return { labels: labels.data, count: mem.scalars.count as number }
}

describe("label = scipy.ndimage.label (fixtures)", () => {
  it.each(manifest.label.map((c) => [c.id, c] as const))("%s", async (_, c) => {
    const { info, data } = arrayOf(c.input)
    const expected = arrayOf(c.labels).data
    const got = await labelEverywhere(info, data, c.connectivity)
    const at = firstDifference(got.labels, expected)
    expect(at, at < 0 ? "" : `voxel ${at}: got ${got.labels[at]}, scipy ${expected[at]}`).toBe(-1)
    expect(got.count).toBe(c.count)
  })

  it("covers every connectivity on every fixture input, and inputs of three dtypes", () => {
    const inputs = new Set(manifest.label.map((c) => c.input))
    expect(manifest.label.length).toBe(3 * inputs.size)
    expect(new Set([...inputs].map((i) => manifest.arrays[i]!.dtype))).toEqual(new Set(["uint8", "float32", "int16"]))
  })
})

// --- an independent oracle -----------------------------------------------------------------------

/** Offsets (dz, dy, dx) of the structuring element generate_binary_structure(3, rank). */
const neighbourhood = (connectivity: Connectivity): ReadonlyArray<readonly [number, number, number]> => {
  const rank = connectivity === 6 ? 1 : connectivity === 18 ? 2 : 3
  const out: Array<readonly [number, number, number]> = []
  for (let dz = -1; dz <= 1; dz++)
    for (let dy = -1; dy <= 1; dy++)
      for (let dx = -1; dx <= 1; dx++) {
        const d = Math.abs(dz) + Math.abs(dy) + Math.abs(dx)
        if (d > 0 && d <= rank) out.push([dz, dy, dx])
      }
  return out
}

/** Flood fill from each unlabelled foreground voxel in raster order: scipy's numbering by definition. */
const floodFill = (shape: Shape, data: ArrayLike<number>, connectivity: Connectivity): Uint32Array => {
  const [Z, Y, X] = shape
  const out = new Uint32Array(Z * Y * X)
  const offsets = neighbourhood(connectivity)
  const stack: Array<number> = []
  let n = 0
  for (let start = 0; start < out.length; start++) {
    if (data[start] === 0 || out[start] !== 0) continue
    out[start] = ++n
    stack.push(start)
    while (stack.length > 0) {
      const i = stack.pop()!
      const z = Math.floor(i / (Y * X))
      const y = Math.floor(i / X) % Y
      const x = i % X
      for (const [dz, dy, dx] of offsets) {
        const zz = z + dz
        const yy = y + dy
        const xx = x + dx
        if (zz < 0 || zz >= Z || yy < 0 || yy >= Y || xx < 0 || xx >= X) continue
        const j = (zz * Y + yy) * X + xx
        if (data[j] !== 0 && out[j] === 0) {
          out[j] = n
          stack.push(j)
        }
      }
    }
  }
  return out
}

describe("label = a flood fill in raster order (random volumes)", () => {
  it("matches on random masks of every density, shape and connectivity", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.tuple(fc.integer({ min: 1, max: 7 }), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 9 })),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.integer(),
        fc.constantFrom<Connectivity>(6, 18, 26),
        async (shape, p, seed, connectivity) => {
          const n = shape[0] * shape[1] * shape[2]
          let s = seed | 1
          const data = Uint8Array.from({ length: n }, () => {
            s ^= s << 13
            s ^= s >>> 17
            s ^= s << 5
            return (s >>> 0) / 4294967296 < p ? 1 + ((s >>> 8) % 200) : 0
          })
          const got = await labelEverywhere(volumeInfo("uint8", shape), data, connectivity)
          const expected = floodFill(shape, data, connectivity)
          expect(firstDifference(got.labels, expected)).toBe(-1)
          expect(got.count).toBe(labelCount(expected))
        }
      ),
      { numRuns: 120 }
    )
  })

  it("labels a larger volume the same way (32×40×48, near each percolation threshold)", async () => {
    const shape: Shape = [32, 40, 48]
    for (const [connectivity, p] of [
      [6, 0.31],
      [18, 0.14],
      [26, 0.1]
    ] as const) {
      let s = 12345 + connectivity
      const data = Uint8Array.from({ length: shape[0] * shape[1] * shape[2] }, () => {
        s = (Math.imul(s, 1103515245) + 12345) >>> 0
        return s / 4294967296 < p ? 1 : 0
      })
      const got = await labelEverywhere(volumeInfo("uint8", shape), data, connectivity)
      expect(firstDifference(got.labels, floodFill(shape, data, connectivity))).toBe(-1)
    }
  })
})

describe("label: API and contract", () => {
  it("defaults to connectivity 6 (scipy's default structure)", async () => {
    // Two voxels touching by an edge only: one component with 18/26, two with 6.
    const data = Uint8Array.from([1, 0, 0, 1])
    const src = arraySource(volumeInfo("uint8", [1, 2, 2]), data)
    const r = await Effect.runPromise(Memory.evaluate((alg) => ({ l: label(alg, alg.source(src)) })))
    expect(Array.from(r.volumes.l!.data)).toEqual([1, 0, 0, 2])
  })

  it("plans a reduction pass, then a sweep pass with the lookup", async () => {
    const src = arraySource(volumeInfo("uint8", [3, 4, 5]), new Uint8Array(60))
    const plan = await Effect.runPromise(Plan.make((alg) => ({ l: label(alg, alg.source(src), { connectivity: 26 }) })))
    expect(plan.passes).toHaveLength(2)
    expect(plan.passes[0]!.roots.map((r) => r.label)).toEqual(["label-equivalences"])
    expect(plan.passes[1]!.stages.map((s) => s.node.label)).toContain("label-provisional")
  })

  it("pass 1's reducer refuses slices out of ascending order (a backward pass cannot label)", () => {
    const acc = labelTable(6).start(volumeInfo("uint8", [3, 2, 2]))
    expect(() => acc.add(new Uint8Array(4), 2)).toThrow(/ascending z/)
  })

  it("labels a volume that comes out of a backward sweep (the planner spills it for the forward passes)", async () => {
    // A backward running maximum along z: each slice's voxel is the max of itself and the slices after.
    const suffixMax: WindowKernel<"uint8", "uint8"> = {
      name: "suffix-max",
      params: {},
      halo: haloZ(0),
      mode: "nearest",
      cval: 0,
      output: "uint8",
      opsPerVoxel: 1,
      scratchBytes: (info) => info.shape[1] * info.shape[2],
      prepare: (info) => {
        const acc = new Uint8Array(info.shape[1] * info.shape[2])
        return {
          compute: (w, out) => {
            const s = w.at(0)
            for (let i = 0; i < out.length; i++) out[i] = acc[i] = Math.max(acc[i]!, s[i]!)
          }
        }
      }
    }
    const shape: Shape = [6, 5, 7]
    let seed = 7
    const data = Uint8Array.from({ length: 210 }, () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0
      return seed / 4294967296 < 0.08 ? 1 : 0
    })
    const swept = new Uint8Array(210)
    for (let z = 5; z >= 0; z--) {
      for (let i = 0; i < 35; i++) swept[z * 35 + i] = Math.max(data[z * 35 + i]!, z < 5 ? swept[(z + 1) * 35 + i]! : 0)
    }
    const src = arraySource(volumeInfo("uint8", shape), data)
    const program = <F extends Repr>(alg: Algebra<F>) => ({
      l: label(alg, alg.sweep(alg.source(src), suffixMax, "backward"), { connectivity: 18 })
    })
    const expected = floodFill(shape, swept, 18)
    const mem = await Effect.runPromise(Memory.evaluate(program))
    const run = await Effect.runPromise(Run.run(program))
    expect(firstDifference(mem.volumes.l!.data, expected)).toBe(-1)
    expect(firstDifference(run.volumes.l!.data, expected)).toBe(-1)
    expect(run.plan.passes.map((p) => p.direction)).toContain("backward")
  })

  it("rejects a connectivity other than 6, 18, 26", () => {
    expect(() => labelTable(8 as Connectivity).start(volumeInfo("uint8", [1, 2, 2]))).toThrow(/6, 18 or 26/)
  })

  it("documents the uint32 limit", () => {
    expect(MAX_LABELS).toBe(2 ** 32 - 2)
  })

  it("the table: provisional → final, entry 0 is 0, its largest entry is N", () => {
    // Slice 0: two separate voxels (provisional 1 and 2); slice 1: a row joining them.
    const acc = labelTable(6).start(volumeInfo("uint8", [2, 1, 3]))
    acc.add(Uint8Array.from([1, 0, 1]), 0)
    acc.add(Uint8Array.from([1, 1, 1]), 1)
    const t = acc.result()
    expect(Array.from(t)).toEqual([0, 1, 1])
    expect(labelCount(t)).toBe(1)
  })
})
