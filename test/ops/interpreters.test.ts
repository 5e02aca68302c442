/**
 * The ops are programs: the streaming interpreter (slices through ring buffers, forward) must give
 * exactly what the memory interpreter gives, for every op and mode, on thin and odd-sized volumes,
 * and the planner must see each op as the nodes it is documented to be.
 */
import * as Effect from "effect/Effect"
import { describe, expect, it } from "vitest"
import type { Algebra, Program, Repr, Volume } from "../../src/algebra/algebra.js"
import type { DType } from "../../src/algebra/dtype.js"
import { volumeInfo, type Shape } from "../../src/algebra/volume.js"
import { evaluate } from "../../src/interpreters/memory/index.js"
import { buildGraph } from "../../src/interpreters/plan/graph.js"
import * as Run from "../../src/interpreters/run/index.js"
import { arraySource } from "../../src/io/memory.js"
import { applyStep, parseStep } from "../../src/jobs/steps.js"
import { gaussian } from "../../src/ops/gaussian.js"
import { uniform } from "../../src/ops/uniform.js"
import { dilate } from "../../src/ops/binary.js"
import { median } from "../../src/ops/median.js"

const STEPS = [
  "uniform:size=3",
  "uniform:size=2/4/3,mode=constant,cval=2.5",
  "gaussian:sigma=1",
  "gaussian:sigma=0.7/0/1.3,mode=constant,cval=9",
  "gaussian:sigma=1,mode=wrap",
  "median:radius=1",
  "median:radius=2,mode=constant,cval=0.5",
  "median:radius=1,mode=mirror",
  "dilate:radius=2",
  "erode:radius=1",
  "dilate:radius=1,footprint=cube",
  "erode:radius=2,footprint=cube",
  "grey-dilate:radius=1",
  "grey-erode:radius=2,mode=constant,cval=50",
  "threshold:min=100,max=200",
  "cast:dtype=int8"
]

const volumeOf = (dtype: DType, shape: Shape) => {
  const n = shape[0] * shape[1] * shape[2]
  const info = volumeInfo(dtype, shape)
  // A deterministic pattern with structure and noise, within every dtype's range.
  const values = Array.from({ length: n }, (_, i) => ((i * 2654435761) % 251) * 0.5 + 40 * Math.sin(i / 7))
  const data =
    dtype === "float32" ? Float32Array.from(values) : dtype === "uint16" ? Uint16Array.from(values, (v) => v * 100) : Uint8Array.from(values)
  return arraySource(info as never, data as never, `${dtype}-${shape.join("x")}`)
}

describe("memory = run (streamed slices) for every step", () => {
  const shapes: ReadonlyArray<Shape> = [
    [1, 5, 6],
    [2, 4, 7],
    [7, 6, 5]
  ]
  for (const dtype of ["uint8", "uint16", "float32"] as const) {
    for (const shape of shapes) {
      it.each(STEPS)(`%s on ${dtype} ${shape.join("×")}`, async (text) => {
        const src = volumeOf(dtype, shape)
        const step = parseStep(text)
        const program: Program = (alg) => ({ out: applyStep(alg, alg.source(src), step) })
        const mem = await Effect.runPromise(evaluate(program))
        const run = await Effect.runPromise(Run.run(program))
        expect(run.volumes.out!.info.dtype).toBe(mem.volumes.out!.info.dtype)
        expect(Array.from(run.volumes.out!.data)).toEqual(Array.from(mem.volumes.out!.data))
      })
    }
  }

  it("a chain of ops in one program", async () => {
    const src = volumeOf("uint8", [9, 8, 7])
    const program: Program = (alg) => {
      const smooth = gaussian(alg, alg.source(src), { sigma: 1 })
      const clean = median(alg, smooth, { radius: 1 })
      const mask = dilate(alg, applyStep(alg, clean, parseStep("threshold:min=60")), { radius: 1 })
      return { clean, mask, box: uniform(alg, clean, { size: 3, dtype: "float32" }) }
    }
    const mem = await Effect.runPromise(evaluate(program))
    const run = await Effect.runPromise(Run.run(program))
    for (const k of ["clean", "mask", "box"]) {
      expect(Array.from(run.volumes[k]!.data), k).toEqual(Array.from(mem.volumes[k]!.data))
    }
  })
})

describe("plans", () => {
  const kernels = (op: <F extends Repr>(alg: Algebra<F>, v: Volume<F, DType>) => Volume<F, DType>) => {
    const src = volumeOf("uint8", [4, 5, 6])
    const graph = buildGraph((alg) => ({ out: op(alg, alg.source(src)) }))
    return graph.nodes.flatMap((n) =>
      n.kind === "window" ? [`${n.kernel.name} z${n.kernel.halo.z.before}/${n.kernel.halo.z.after}`] : n.kind === "pointwise" ? [n.label] : []
    )
  }
  it("separable ops are a z window and two in-plane nodes", () => {
    expect(kernels((alg, v) => gaussian(alg, v, { sigma: 1 }))).toEqual(["gaussian-z z4/4", "gaussian-y z0/0", "gaussian-x z0/0"])
    expect(kernels((alg, v) => uniform(alg, v, { size: [4, 1, 3] }))).toEqual(["uniform-z z2/1", "uniform-x z0/0"])
    expect(kernels((alg, v) => gaussian(alg, v, { sigma: [0, 0, 0] }))).toEqual([])
    expect(kernels((alg, v) => applyStep(alg, v, parseStep("grey-erode:radius=2")))).toEqual([
      "grey-erode-z z2/2",
      "grey-erode-y z0/0",
      "grey-erode-x z0/0"
    ])
  })
  it("median is one node; ball morphology two; cube morphology a mask and three", () => {
    expect(kernels((alg, v) => median(alg, v, { radius: 2 }))).toEqual(["median z2/2"])
    expect(kernels((alg, v) => applyStep(alg, v, parseStep("erode:radius=2")))).toEqual(["erode-row-distance z0/0", "erode-ball z2/2"])
    // From radius 3 on, the distance method (its cost does not grow with R).
    expect(kernels((alg, v) => applyStep(alg, v, parseStep("erode:radius=3")))).toEqual(["erode-ball-z z0/3", "erode-ball-yx z0/0"])
    expect(kernels((alg, v) => applyStep(alg, v, parseStep("dilate:radius=1,footprint=cube")))).toEqual([
      "binarize",
      "dilate-cube-z z1/1",
      "dilate-cube-y z0/0",
      "dilate-cube-x z0/0"
    ])
  })
})
