/**
 * Ball morphology by distance = the ball footprint of binary.ts (itself checked against scipy with
 * skimage's ball), voxel for voxel, on random masks and radii 1…6; the streaming run = memory in
 * one forward pass.
 */
import * as Effect from "effect/Effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import type { Program } from "../../src/algebra/algebra.js"
import { volumeInfo, type Shape } from "../../src/algebra/volume.js"
import { evaluate } from "../../src/interpreters/memory/index.js"
import { buildGraph } from "../../src/interpreters/plan/graph.js"
import * as Run from "../../src/interpreters/run/index.js"
import { arraySource } from "../../src/io/memory.js"
import { dilate, erode } from "../../src/ops/binary.js"
import { dilateBallByDistance, erodeBallByDistance } from "../../src/ops/ball-distance.js"
import { BALL_Z_WASM } from "../../src/ops/distance/ball-z-wasm.js"
import { envelopeLine } from "../../src/ops/distance/envelope.js"
import { assembleWasm } from "../../scripts/assemble-wasm.mjs"
import { firstDifference, xorshift32 } from "../support/voxels.js"

const maskArb = (maxSide: number) =>
  fc
    .record({
      d: fc.integer({ min: 1, max: maxSide }),
      h: fc.integer({ min: 1, max: maxSide }),
      w: fc.integer({ min: 1, max: maxSide }),
      // Noise with a fraction p of foreground (sparse dots to full), or solid blobs (balls and
      // boxes, so that erosion by a large ball leaves something) with a little noise.
      kind: fc.constantFrom("noise", "blobs"),
      p: fc.constantFrom(0.02, 0.1, 0.3, 0.6, 0.9, 0.97, 1),
      seed: fc.integer({ min: 1, max: 2 ** 30 })
    })
    .map(({ d, h, w, kind, p, seed }) => {
      let s = seed
      const rand = () => {
        s = (Math.imul(s, 1103515245) + 12345) >>> 0
        return s / 4294967296
      }
      const data = new Uint8Array(d * h * w)
      if (kind === "noise") {
        // Other non-zero values than 1 are foreground too.
        for (let i = 0; i < data.length; i++) data[i] = rand() < p ? 1 + (s & 3) : 0
      } else {
        const blobs = 1 + Math.floor(rand() * 4)
        for (let b = 0; b < blobs; b++) {
          const c = [rand() * d, rand() * h, rand() * w]
          const r = 1 + rand() * Math.max(d, h, w) * 0.8
          const box = rand() < 0.4
          for (let z = 0, i = 0; z < d; z++) {
            for (let y = 0; y < h; y++) {
              for (let x = 0; x < w; x++, i++) {
                const dz = z - c[0]!
                const dy = y - c[1]!
                const dx = x - c[2]!
                const inside = box ? Math.max(Math.abs(dz), Math.abs(dy), Math.abs(dx)) <= r : dz * dz + dy * dy + dx * dx <= r * r
                if (inside) data[i] = 1
              }
            }
          }
        }
        for (let i = 0; i < data.length; i++) if (rand() < 0.003) data[i] ^= 1
      }
      return { shape: [d, h, w] as Shape, data }
    })

const both = (shape: Shape, data: Uint8Array, radius: number): Program => {
  const src = arraySource(volumeInfo("uint8", shape), data)
  return (alg) => {
    const v = alg.source(src)
    return {
      dilate: dilate(alg, v, { radius, footprint: "ball" }),
      dilateByDistance: dilateBallByDistance(alg, v, { radius }),
      erode: erode(alg, v, { radius, footprint: "ball" }),
      erodeByDistance: erodeBallByDistance(alg, v, { radius })
    }
  }
}

const expectSame = (a: ArrayLike<number>, b: ArrayLike<number>, what: string) => expect(firstDifference(a as never, b as never), what).toBe(-1)

describe("dilateBallByDistance / erodeBallByDistance = dilate / erode with footprint ball", () => {
  it.each([1, 2, 3, 4, 5, 6])("radius %d on random masks", async (radius) => {
    await fc.assert(
      fc.asyncProperty(maskArb(2 * radius + 8), async (m) => {
        const r = await Effect.runPromise(evaluate(both(m.shape, m.data, radius)))
        expectSame(r.volumes.dilateByDistance!.data, r.volumes.dilate!.data, "dilate")
        expectSame(r.volumes.erodeByDistance!.data, r.volumes.erode!.data, "erode")
      }),
      { numRuns: 60 }
    )
  })

  it("a single voxel grows into skimage's ball, a solid block erodes from its border", async () => {
    const shape: Shape = [13, 13, 13]
    const data = new Uint8Array(13 ** 3)
    data[6 * 169 + 6 * 13 + 6] = 1
    const dot = arraySource(volumeInfo("uint8", shape), data)
    const r = await Effect.runPromise(evaluate((alg) => ({ out: dilateBallByDistance(alg, alg.source(dot), { radius: 5 }) })))
    const out = r.volumes.out!.data
    let count = 0
    for (let z = 0, i = 0; z < 13; z++) {
      for (let y = 0; y < 13; y++) {
        for (let x = 0; x < 13; x++, i++) {
          const inside = (z - 6) ** 2 + (y - 6) ** 2 + (x - 6) ** 2 <= 25
          expect(out[i]).toBe(inside ? 1 : 0)
          count += out[i]!
        }
      }
    }
    expect(count).toBe(515) // skimage.morphology.ball(5).sum()
    const full = arraySource(volumeInfo("uint8", shape), new Uint8Array(13 ** 3).fill(1))
    const e = await Effect.runPromise(evaluate((alg) => ({ out: erodeBallByDistance(alg, alg.source(full), { radius: 5 }) })))
    for (let z = 0, i = 0; z < 13; z++) {
      for (let y = 0; y < 13; y++) {
        for (let x = 0; x < 13; x++, i++) {
          const inside = Math.min(z, y, x, 12 - z, 12 - y, 12 - x) >= 5
          expect(e.volumes.out!.data[i]).toBe(inside ? 1 : 0)
        }
      }
    }
  })

  it("radius 0 binarises; a negative or fractional radius is refused", async () => {
    const src = arraySource(volumeInfo("uint8", [2, 2, 2]), Uint8Array.of(0, 3, 0, 1, 0, 0, 7, 0))
    const r = await Effect.runPromise(evaluate((alg) => ({ d: dilateBallByDistance(alg, alg.source(src), { radius: 0 }), e: erodeBallByDistance(alg, alg.source(src), { radius: 0 }) })))
    expect(Array.from(r.volumes.d!.data)).toEqual([0, 1, 0, 1, 0, 0, 1, 0])
    expect(Array.from(r.volumes.e!.data)).toEqual([0, 1, 0, 1, 0, 0, 1, 0])
    expect(() => buildGraph((alg) => ({ d: dilateBallByDistance(alg, alg.source(src), { radius: -1 }) }))).toThrow(/radius/)
    expect(() => buildGraph((alg) => ({ d: erodeBallByDistance(alg, alg.source(src), { radius: 1.5 }) }))).toThrow(/radius/)
  })
})

describe("ball by distance: streaming", () => {
  it("is a forward sweep with a lookahead of R and an in-plane node: one forward pass", async () => {
    const src = arraySource(volumeInfo("uint8", [9, 8, 7]), new Uint8Array(9 * 8 * 7))
    const program: Program = (alg) => ({ out: erodeBallByDistance(alg, alg.source(src), { radius: 4 }) })
    const graph = buildGraph(program)
    expect(
      graph.nodes.flatMap((n) => (n.kind === "window" ? [`${n.kernel.name} z${n.kernel.halo.z.before}/${n.kernel.halo.z.after} ${n.direction ?? "window"}`] : []))
    ).toEqual(["erode-ball-z z0/4 forward", "erode-ball-yx z0/0 window"])
    const run = await Effect.runPromise(Run.run(program))
    expect(run.plan.passes.map((p) => p.direction)).toEqual(["forward"])
  })

  it("run = memory on random masks and radii", async () => {
    await fc.assert(
      fc.asyncProperty(maskArb(9), fc.integer({ min: 1, max: 5 }), async (m, radius) => {
        const program = both(m.shape, m.data, radius)
        const mem = await Effect.runPromise(evaluate(program))
        const run = await Effect.runPromise(Run.run(program))
        for (const k of ["dilateByDistance", "erodeByDistance"]) expectSame(run.volumes[k]!.data, mem.volumes[k]!.data, k)
        expectSame(run.volumes.dilateByDistance!.data, mem.volumes.dilate!.data, "run dilate")
      }),
      { numRuns: 40 }
    )
  })

  it("the WebAssembly z phase is what ball-z.wat assembles to", async () => {
    expect(BALL_Z_WASM).toBe(await assembleWasm("src/ops/distance/ball-z.wat"))
  })

  it("the WebAssembly z phase (slices of 2¹² voxels and more) = the footprint's dilation, through memory and run", async () => {
    const wide = fc
      .record({
        d: fc.integer({ min: 1, max: 12 }),
        w: fc.integer({ min: 64, max: 80 }),
        p: fc.constantFrom(0.005, 0.05, 0.3, 0.9),
        seed: fc.integer({ min: 1, max: 2 ** 30 }),
        radius: fc.integer({ min: 1, max: 5 })
      })
      .map(({ d, w, p, seed, radius }) => {
        const next = xorshift32(seed)
        const data = Uint8Array.from({ length: d * 64 * w }, () => (next() / 4294967296 < p ? 1 + (next() & 3) : 0))
        return { shape: [d, 64, w] as Shape, data, radius }
      })
    await fc.assert(
      fc.asyncProperty(wide, async ({ shape, data, radius }) => {
        const src = arraySource(volumeInfo("uint8", shape), data)
        const program: Program = (alg) => ({
          footprint: dilate(alg, alg.source(src), { radius, footprint: "ball" }),
          byDistance: dilateBallByDistance(alg, alg.source(src), { radius })
        })
        const mem = await Effect.runPromise(evaluate(program))
        const run = await Effect.runPromise(Run.run(program))
        expectSame(mem.volumes.byDistance!.data, mem.volumes.footprint!.data, "memory")
        expectSame(run.volumes.byDistance!.data, mem.volumes.footprint!.data, "run")
      }),
      { numRuns: 20 }
    )
  })

  it("split among row threads = memory: each band's rows within R decide it", async () => {
    await fc.assert(
      fc.asyncProperty(maskArb(24), fc.integer({ min: 1, max: 5 }), async (m, radius) => {
        const program = both(m.shape, m.data, radius)
        const mem = await Effect.runPromise(evaluate(program))
        const run = await Effect.runPromise(Run.run(program, { threads: 2, minSplitOps: 0 }))
        for (const k of ["dilateByDistance", "erodeByDistance"]) expectSame(run.volumes[k]!.data, mem.volumes[k]!.data, k)
      }),
      { numRuns: 25 }
    )
  })
})

describe("envelopeLine", () => {
  it("is the brute-force minimum of f(j) + (i − j)² over sites ≤ limit, with or without a frame", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 40 }), { minLength: 1, maxLength: 30 }),
        fc.integer({ min: 0, max: 45 }),
        fc.boolean(),
        (values, limit, frame) => {
          const n = values.length
          const f = Float64Array.from(values)
          const out = new Float64Array(n)
          envelopeLine(f, 0, n, limit, frame, new Int32Array(n + 2), new Float64Array(n + 2), new Float64Array(n + 3), out, 0)
          for (let i = 0; i < n; i++) {
            let best = Infinity
            for (let j = frame ? -1 : 0; j <= (frame ? n : n - 1); j++) {
              const fj = j < 0 || j >= n ? 0 : values[j]!
              if (fj <= limit) best = Math.min(best, fj + (i - j) ** 2)
            }
            expect(out[i]).toBe(best)
          }
        }
      ),
      { numRuns: 500 }
    )
  })
})
