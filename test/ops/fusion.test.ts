/**
 * Label fusion and Dice against direct numpy/scipy computations (test/fixtures/fusion, made by
 * scripts/fixtures/make_fusion_fixtures.py), in the memory interpreter and in fused and unfused runs.
 */
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import type { Algebra, Program, Repr } from "../../src/algebra/algebra.js"
import type { VoxelArray } from "../../src/algebra/dtype.js"
import * as Memory from "../../src/interpreters/memory/index.js"
import * as Plan from "../../src/interpreters/plan/index.js"
import * as Run from "../../src/interpreters/run/index.js"
import { openSource } from "../../src/io/index.js"
import type { SliceSource } from "../../src/algebra/slices.js"
import { dice, jointFusion, majorityVote, weightedVote, type DiceResult } from "../../src/ops/fusion.js"
import type { IntegerDType } from "../../src/ops/reducers.js"
import { readAll } from "../support/volume-io.js"

const DIR = path.resolve(__dirname, "../fixtures/fusion")
const manifest = JSON.parse(fs.readFileSync(path.join(DIR, "manifest.json"), "utf8")) as {
  readonly atlases: number
  readonly tiesInMajority4: number
  readonly dice: Record<string, { labels: Record<string, number>; mean: number }>
  readonly diceAtlases: ReadonlyArray<{ mean: number }>
}

const open = (name: string) => Effect.runPromise(openSource(path.join(DIR, name)))
const voxels = async (name: string): Promise<Uint8Array> => (await Effect.runPromise(readAll(await open(name)))).bytes

const target = await open("target.nii")
const labelSources = await Promise.all(Array.from({ length: manifest.atlases }, (_, i) => open(`atlas${i + 1}-labels.nii`)))
const imageSources = await Promise.all(Array.from({ length: manifest.atlases }, (_, i) => open(`atlas${i + 1}-image.nii`)))
const truth = await open("truth.nii")

const labelsOf = (s: SliceSource) => s as SliceSource<IntegerDType>

/** The fused volume from memory, fused run and unfused run. */
const allInterpreters = async (program: Program): Promise<Record<string, VoxelArray>> => {
  const mem = await Effect.runPromise(Memory.evaluate(program))
  const fused = await Effect.runPromise(Run.run(program))
  const unfused = await Effect.runPromise(Run.run(program, { mode: "unfused", rewrites: [] }))
  return { memory: mem.volumes.out!.data, fused: fused.volumes.out!.data, unfused: unfused.volumes.out!.data }
}

const asBytes = (a: VoxelArray) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength)

const atlasesIn = <F extends Repr>(alg: Algebra<F>, n = manifest.atlases) =>
  labelSources.slice(0, n).map((l, i) => ({ image: alg.source(imageSources[i]!), labels: alg.source(labelsOf(l)) }))

describe("majorityVote", () => {
  it("the fixtures have ties for the rule to decide", () => {
    expect(manifest.tiesInMajority4).toBeGreaterThan(50)
  })

  for (const n of [4, 5]) {
    it(`of ${n} maps equals numpy's argmax of bincount (ties to the smallest label), in every interpreter`, async () => {
      const program: Program = (alg) => ({ out: majorityVote(alg, labelSources.slice(0, n).map((l) => alg.source(labelsOf(l)))) })
      const expected = await voxels(`majority-${n}.nii`)
      for (const [name, got] of Object.entries(await allInterpreters(program))) {
        expect(got instanceof Uint8Array, name).toBe(true)
        expect(Buffer.from(asBytes(got)).equals(Buffer.from(expected)), name).toBe(true)
      }
    })
  }

  it("keeps 16-bit labels exact and breaks a three-way tie towards the smallest", async () => {
    const { arraySource } = await import("../../src/io/memory.js")
    const { volumeInfo } = await import("../../src/algebra/volume.js")
    const info = volumeInfo("uint16", [1, 1, 4])
    const maps = [
      [65535, 7, 7, 300],
      [65534, 9, 7, 299],
      [65535, 8, 9, 298]
    ].map((v, i) => arraySource(info, Uint16Array.from(v), `m${i}`))
    const program: Program = (alg) => ({ out: majorityVote(alg, maps.map((m) => alg.source(m))) })
    for (const got of Object.values(await allInterpreters(program))) expect(Array.from(got)).toEqual([65535, 7, 7, 298])
  })

  it("refuses float label maps while the program is built", async () => {
    const { arraySource } = await import("../../src/io/memory.js")
    const { volumeInfo } = await import("../../src/algebra/volume.js")
    const f = arraySource(volumeInfo("float32", [1, 1, 2]), Float32Array.of(1, 2))
    const program: Program = (alg) => ({ out: majorityVote(alg, [alg.source(f as never)]) })
    await expect(Effect.runPromise(Memory.evaluate(program))).rejects.toThrow(/integer dtype/)
  })
})

describe("weightedVote", () => {
  const cases = [
    { file: "weighted-gaussian.nii", options: { radius: 1, weighting: "gaussian", beta: 1, epsilon: 1e-6 } },
    { file: "weighted-inverse.nii", options: { radius: 2, weighting: "inverse-distance", power: 2, epsilon: 1e-6 } }
  ] as const
  for (const c of cases) {
    it(`${c.options.weighting} weighting equals the direct numpy computation, in every interpreter`, async () => {
      const program: Program = (alg) => ({ out: weightedVote(alg, alg.source(target), atlasesIn(alg), c.options) })
      const expected = await voxels(c.file)
      for (const [name, got] of Object.entries(await allInterpreters(program))) {
        expect(Buffer.from(asBytes(got)).equals(Buffer.from(expected)), name).toBe(true)
      }
    })
  }

  it("beats every single atlas and majority voting on the fixture", () => {
    const d = manifest.dice
    for (const single of manifest.diceAtlases) expect(d["majority-5.nii"]!.mean).toBeGreaterThan(single.mean)
    expect(d["weighted-gaussian.nii"]!.mean).toBeGreaterThan(d["majority-5.nii"]!.mean)
  })

  it("is one pass whose plan keeps only slices, never whole volumes", async () => {
    const program: Program = (alg) => ({ out: weightedVote(alg, alg.source(target), atlasesIn(alg), { radius: 2 }) })
    const plan = await Effect.runPromise(Plan.make(program))
    expect(plan.passes).toHaveLength(1)
    const [z, y, x] = target.info.shape
    // Far less than one float64 volume per node.
    expect(plan.peakBufferBytes).toBeLessThan(8 * z * y * x * 40)
  })
})

describe("jointFusion", () => {
  it("agrees with numpy's linalg.solve wherever the vote is not within 1e-9 of a tie, in every interpreter (all bit-identical)", async () => {
    const program: Program = (alg) => ({ out: jointFusion(alg, alg.source(target), atlasesIn(alg), { radius: 2, alpha: 0.1, exponent: 2 }) })
    const expected = await voxels("joint.nii")
    const margin = new Float64Array(fs.readFileSync(path.join(DIR, "joint-margin.bin")).buffer.slice(0))
    const results = await allInterpreters(program)
    // Elimination without pivoting is not LAPACK's order of operations: near-ties may go either way.
    let compared = 0
    for (let i = 0; i < expected.length; i++) {
      if (!(margin[i]! > 1e-9)) continue
      compared++
      if (results.memory![i] !== expected[i]) expect.fail(`voxel ${i}: ${results.memory![i]} but numpy gives ${expected[i]} (margin ${margin[i]})`)
    }
    expect(compared).toBeGreaterThan(expected.length * 0.9)
    expect(Array.from(results.fused!)).toEqual(Array.from(results.memory!))
    expect(Array.from(results.unfused!)).toEqual(Array.from(results.memory!))
  })
})

describe("dice", () => {
  const diceOf = async (a: SliceSource, b: SliceSource) => {
    const program: Program = (alg) => ({ d: dice(alg, alg.source(labelsOf(a)), alg.source(labelsOf(b))) })
    const mem = await Effect.runPromise(Memory.evaluate(program))
    const fused = await Effect.runPromise(Run.run(program))
    const unfused = await Effect.runPromise(Run.run(program, { mode: "unfused", rewrites: [] }))
    expect(fused.scalars.d).toEqual(mem.scalars.d)
    expect(unfused.scalars.d).toEqual(mem.scalars.d)
    return mem.scalars.d as DiceResult
  }

  for (const name of ["majority-5.nii", "weighted-gaussian.nii", "joint.nii"]) {
    it(`of ${name} against the truth equals numpy's, per label and on average`, async () => {
      const d = await diceOf(await open(name), truth)
      const expected = manifest.dice[name]!
      expect(d.labels).toEqual(Object.keys(expected.labels).map(Number))
      d.labels.forEach((l, k) => expect(d.dice[k]).toBeCloseTo(expected.labels[String(l)]!, 12))
      expect(d.mean).toBeCloseTo(expected.mean, 12)
      expect(d.outOfRange).toBe(0)
    })
  }

  it("of a map with itself is 1; a label in one map only scores 0; mixed dtypes; out-of-range labels are counted", async () => {
    const { arraySource } = await import("../../src/io/memory.js")
    const { volumeInfo } = await import("../../src/algebra/volume.js")
    const a = arraySource(volumeInfo("uint8", [1, 2, 3]), Uint8Array.of(0, 1, 1, 2, 2, 5))
    const b = arraySource(volumeInfo("int16", [1, 2, 3]), Int16Array.of(0, 1, 2, 2, 2, -1))
    expect((await diceOf(a, a)).mean).toBe(1)
    const d = await diceOf(a, b)
    expect(d.labels).toEqual([1, 2])
    // label 1: 2·1 / (2 + 1); label 2: 2·2 / (2 + 3); the voxel with −1 is out of range.
    expect(d.dice).toEqual([2 / 3, 4 / 5])
    expect(d.outOfRange).toBe(1)
    expect(d.mean).toBe((2 / 3 + 4 / 5) / 2)
  })
})
