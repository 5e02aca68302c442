/**
 * edt against scipy.ndimage.distance_transform_edt (fixtures made by
 * scripts/fixtures/make_edt_fixtures.py): the float64 output must equal scipy's bit for bit, the
 * float32 output scipy's values rounded once. Then the run interpreter against the memory one,
 * a brute-force property on random masks, and the plan's shape (two sweeps and an in-plane node).
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as Effect from "effect/Effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import type { Program } from "../../src/algebra/algebra.js"
import { allocSlice, type DType, type VoxelArray } from "../../src/algebra/dtype.js"
import { volumeInfo, type Shape, type Spacing } from "../../src/algebra/volume.js"
import { evaluate } from "../../src/interpreters/memory/index.js"
import { buildGraph } from "../../src/interpreters/plan/graph.js"
import * as Run from "../../src/interpreters/run/index.js"
import { arraySource } from "../../src/io/memory.js"
import { edt, edtSpacing } from "../../src/ops/edt.js"
import { voronoiLine } from "../../src/ops/distance/voronoi.js"
import { compare } from "./fixtures.js"

const DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "fixtures", "edt")

interface Stored {
  readonly file: string
  readonly offset: number
}
interface EdtInput extends Stored {
  readonly dtype: DType
  readonly shape: Shape
}
interface EdtCase {
  readonly id: string
  readonly input: string
  readonly sampling: readonly [number, number, number] | null
  readonly output: Stored
}
interface EdtManifest {
  readonly versions: Readonly<Record<string, string>>
  readonly inputs: Readonly<Record<string, EdtInput>>
  readonly cases: ReadonlyArray<EdtCase>
}

const manifest: EdtManifest = JSON.parse(fs.readFileSync(path.join(DIR, "manifest.json"), "utf8"))
const files = new Map<string, Buffer>()
const read = <D extends DType>(stored: Stored, dtype: D, count: number) => {
  let b = files.get(stored.file)
  if (b === undefined) files.set(stored.file, (b = fs.readFileSync(path.join(DIR, stored.file))))
  const out = allocSlice(dtype, count)
  // Little-endian fixtures on a little-endian machine.
  new Uint8Array(out.buffer, out.byteOffset, out.byteLength).set(b.subarray(stored.offset, stored.offset + out.byteLength))
  return out
}
const count = (s: Shape) => s[0] * s[1] * s[2]

const sourceOf = (c: EdtCase) => {
  const input = manifest.inputs[c.input]!
  return arraySource(volumeInfo(input.dtype, input.shape), read(input, input.dtype, count(input.shape)) as never, c.input)
}
const scipyOf = (c: EdtCase) => read(c.output, "float64", count(manifest.inputs[c.input]!.shape))

const programOf = (c: EdtCase, dtype: "float32" | "float64"): Program => {
  const src = sourceOf(c)
  return (alg) => ({ out: edt(alg, alg.source(src), { dtype, ...(c.sampling === null ? {} : { spacing: c.sampling }) }) })
}

const outOf = async (program: Program) => {
  const r = await Effect.runPromise(evaluate(program))
  return r.volumes.out!
}

const exact = (dtype: DType, actual: VoxelArray, expected: VoxelArray) => {
  const r = compare(dtype, actual, expected)
  expect(r.differing, r.first).toBe(0)
}

describe("edt = scipy.ndimage.distance_transform_edt", () => {
  it("fixtures were made by scipy 1.10", () => {
    expect(manifest.versions.scipy).toBe("1.10.1")
    expect(manifest.cases.length).toBeGreaterThan(20)
  })
  const cases = manifest.cases.map((c) => [c.id, c] as const)
  it.each(cases)("%s: float64 bit for bit", async (_, c) => {
    const out = await outOf(programOf(c, "float64"))
    expect(out.info.dtype).toBe("float64")
    exact("float64", out.data, scipyOf(c))
  })
  it.each(cases)("%s: float32 = scipy's value rounded once", async (_, c) => {
    const out = await outOf(programOf(c, "float32"))
    expect(out.info.dtype).toBe("float32")
    exact("float32", out.data, Float32Array.from(scipyOf(c)))
  })
})

describe("edt: run interpreter = memory interpreter", () => {
  // A forward and a backward sweep: two passes, the forward result spilled between them.
  const pick = manifest.cases.filter((c) => /^(dense|hollow|depth1|depth2|ones_4|zeros|float32)/.test(c.id))
  it.each(pick.map((c) => [c.id, c] as const))("%s", async (_, c) => {
    const program = programOf(c, "float32")
    const mem = await Effect.runPromise(evaluate(program))
    const run = await Effect.runPromise(Run.run(program))
    expect(run.plan.passes.map((p) => p.direction)).toEqual(["forward", "backward"])
    expect(run.volumes.out!.info.dtype).toBe("float32")
    exact("float32", run.volumes.out!.data, mem.volumes.out!.data)
    exact("float32", run.volumes.out!.data, Float32Array.from(scipyOf(c)))
  })
})

/** The smallest ((Δz·sz)² + (Δy·sy)²) + (Δx·sx)² over the zero voxels, by brute force (+∞: none). */
const bruteForce = (shape: Shape, data: Uint8Array, s: Spacing): Float64Array => {
  const [d, h, w] = shape
  const zeros: Array<readonly [number, number, number]> = []
  for (let z = 0, i = 0; z < d; z++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++, i++) if (data[i] === 0) zeros.push([z, y, x])
  const out = new Float64Array(data.length)
  for (let z = 0, i = 0; z < d; z++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++, i++) {
        let best = Infinity
        for (const [zz, yy, xx] of zeros) {
          const tz = (zz - z) * s[0]
          const ty = (yy - y) * s[1]
          const tx = (xx - x) * s[2]
          const v = tz * tz + ty * ty + tx * tx
          if (v < best) best = v
        }
        out[i] = best
      }
    }
  }
  return out
}

const maskArb = fc
  .record({
    d: fc.integer({ min: 1, max: 6 }),
    h: fc.integer({ min: 1, max: 7 }),
    w: fc.integer({ min: 1, max: 7 }),
    p: fc.double({ min: 0.02, max: 0.6, noNaN: true }),
    seed: fc.integer({ min: 1, max: 2 ** 30 })
  })
  .map(({ d, h, w, p, seed }) => {
    let s = seed
    const data = new Uint8Array(d * h * w)
    for (let i = 0; i < data.length; i++) {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0
      data[i] = s / 4294967296 < p ? 0 : 1
    }
    // At least one zero voxel (a volume without any is a special case, covered by the fixtures).
    data[(seed >>> 3) % data.length] = 0
    return { shape: [d, h, w] as Shape, data }
  })

const edtOf = async (shape: Shape, data: Uint8Array, spacing: Spacing) => {
  const src = arraySource(volumeInfo("uint8", shape), data)
  return (await outOf((alg) => ({ out: edt(alg, alg.source(src), { spacing, dtype: "float64" }) }))).data
}

describe("edt: properties", () => {
  it("integer spacings: the exact minimum over all zero voxels", async () => {
    await fc.assert(
      fc.asyncProperty(maskArb, fc.tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 })), async (m, s) => {
        const got = await edtOf(m.shape, m.data, s)
        const want = bruteForce(m.shape, m.data, s)
        for (let i = 0; i < got.length; i++) expect(got[i]).toBe(Math.sqrt(want[i]!))
      }),
      { numRuns: 200 }
    )
  })
  it("non-integer spacings: within a few ulps of the minimum over all zero voxels", async () => {
    const spacing = fc.double({ min: 0.1, max: 5, noNaN: true })
    await fc.assert(
      fc.asyncProperty(maskArb, fc.tuple(spacing, spacing, spacing), async (m, s) => {
        const got = await edtOf(m.shape, m.data, s)
        const want = bruteForce(m.shape, m.data, s)
        for (let i = 0; i < got.length; i++) {
          const e = Math.sqrt(want[i]!)
          expect(Math.abs(got[i]! - e)).toBeLessThanOrEqual(4 * Number.EPSILON * e)
        }
      }),
      { numRuns: 200 }
    )
  })
})

describe("edt: options and structure", () => {
  const shape: Shape = [3, 4, 5]
  const data = Uint8Array.from({ length: 60 }, (_, i) => (i % 7 === 0 ? 0 : 1))
  it('spacing "volume" takes the source\'s spacing; the default is 1', async () => {
    const src = arraySource(volumeInfo("uint8", shape, [2, 0.5, 3]), data)
    const r = await Effect.runPromise(
      evaluate((alg) => {
        const v = alg.source(src)
        return { vol: edt(alg, v, { spacing: "volume" }), given: edt(alg, v, { spacing: [2, 0.5, 3] }), unit: edt(alg, v), one: edt(alg, v, { spacing: 1 }) }
      })
    )
    expect(Array.from(r.volumes.vol!.data)).toEqual(Array.from(r.volumes.given!.data))
    expect(Array.from(r.volumes.unit!.data)).toEqual(Array.from(r.volumes.one!.data))
    expect(Array.from(r.volumes.unit!.data)).not.toEqual(Array.from(r.volumes.vol!.data))
  })
  it("rejects a spacing that is not finite and positive", () => {
    expect(() => edtSpacing([1, 0, 1], [1, 1, 1])).toThrow(/spacing/)
    expect(() => edtSpacing(Number.NaN, [1, 1, 1])).toThrow(/spacing/)
    expect(() => edtSpacing("volume", [1, -1, 1])).toThrow(/spacing/)
  })
  it("is a forward sweep, a backward sweep and one in-plane node", () => {
    const src = arraySource(volumeInfo("uint8", shape), data)
    const graph = buildGraph((alg) => ({ out: edt(alg, alg.source(src)) }))
    const nodes = graph.nodes.flatMap((n) =>
      n.kind === "window" ? [`${n.kernel.name} z${n.kernel.halo.z.before}/${n.kernel.halo.z.after} ${n.direction ?? "window"}`] : []
    )
    expect(nodes).toEqual(["edt-z-forward z0/0 forward", "edt-z-backward z0/0 backward", "edt-yx z0/0 window"])
  })
  it("voronoiLine: nearest site per position, −1 without sites", () => {
    const g = new Int32Array(5)
    const gp = new Float64Array(5)
    const out = new Float64Array(5)
    expect(voronoiLine(Float64Array.of(-1, 0, -1, -1, 4), 0, 5, 1, 1, g, gp, out, 0)).toBe(2)
    expect(Array.from(out)).toEqual([1, 0, 1, 4, 4])
    expect(voronoiLine(Float64Array.of(-1, -1, -1), 0, 3, 1, 1, g, gp, out, 0)).toBe(0)
    expect(Array.from(out.subarray(0, 3))).toEqual([-1, -1, -1])
  })
})
