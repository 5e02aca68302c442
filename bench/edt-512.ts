/**
 * The exact EDT over a 512³ phantom thresholded at 100, streamed by the run interpreter: a forward
 * pass (phantom → threshold → edt-z-forward, spilled to a temporary file as int32), then a backward
 * pass (spill → edt-z-backward → edt-yx) into a sink that only checks and counts (no output file,
 * so the figures are the pipeline's own). Prints the plan, per-stage CPU and wall time, the total,
 * and the peak RSS.
 *
 *   npx tsx bench/edt-512.ts                          # 512×512×512
 *   npx tsx bench/edt-512.ts --shape 128x512x512 --spacing 2/1/1
 *
 * Note: the phantom is generated slice by slice on the fly (its cost shows as the source stage).
 */
import * as Effect from "effect/Effect"
import type { DType } from "../src/algebra/dtype.js"
import { sliceLength, type Shape, type Spacing } from "../src/algebra/volume.js"
import * as Plan from "../src/interpreters/plan/index.js"
import * as Run from "../src/interpreters/run/index.js"
import type { SliceSink } from "../src/algebra/slices.js"
import { phantomSource } from "../src/io/phantom.js"
import { edt } from "../src/ops/edt.js"
import { threshold } from "../src/ops/pointwise.js"

const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1]! : fallback
}
const shape = arg("shape", "512x512x512").split("x").map(Number) as unknown as Shape
const spacing = arg("spacing", "1/1/1").split("/").map(Number) as unknown as Spacing

/** A sink that keeps nothing: it counts the slices, the voxels > 0 and the largest distance. */
let slices = 0
let positive = 0
let largest = 0
const nullSink: SliceSink = {
  format: "null",
  path: "null",
  outputBytes: () => 0,
  create: <D extends DType>() =>
    Effect.succeed({
      write: (_z: number, data: ArrayLike<number>) =>
        Effect.sync(() => {
          slices++
          for (let i = 0; i < data.length; i++) {
            const v = data[i]!
            if (v > 0) positive++
            if (v > largest) largest = v
          }
        }),
      commit: Effect.void,
      bytesWritten: () => 0
    } as never as import("../src/algebra/slices.js").SliceWriter<D>)
}

const src = phantomSource({ shape })
const program = <F extends import("../src/algebra/algebra.js").Repr>(alg: import("../src/algebra/algebra.js").Algebra<F>) => {
  const mask = threshold(alg, alg.source(src), { min: 100 })
  return { out: alg.write(edt(alg, mask, { spacing }), nullSink) }
}

const main = Effect.gen(function* () {
  const plan = yield* Plan.make(program)
  console.log(Plan.planText(plan))
  const w0 = performance.now()
  const r = yield* Run.run(program)
  const wall = (performance.now() - w0) / 1000
  const voxels = shape[0] * shape[1] * shape[2]
  console.log(`\nedt of ${shape.join("×")} (spacing ${spacing.join("/")}): ${wall.toFixed(2)} s wall, ${(voxels / 1e6 / wall).toFixed(1)} Mvox/s`)
  for (const p of r.passes) console.log(`pass ${p.index} ${p.direction}: ${(p.wallMs / 1000).toFixed(2)} s, buffers ${(p.peakBufferBytes / 2 ** 20).toFixed(1)} MiB`)
  for (const s of r.stages) {
    const perSlice = s.slices > 0 ? s.cpuMs / s.slices : 0
    console.log(
      `  pass ${s.pass} #${s.id} ${s.label.padEnd(28)} cpu ${(s.cpuMs / 1000).toFixed(2).padStart(6)} s  ${perSlice.toFixed(2).padStart(7)} ms/slice  ${
        s.cpuMs > 0 ? ((s.slices * sliceLength({ dtype: "uint8", shape, spacing }) / 1e3) / s.cpuMs).toFixed(0).padStart(5) : "    -"
      } Mvox/s  read ${(s.bytesRead / 2 ** 20).toFixed(0)} MiB  written ${(s.bytesWritten / 2 ** 20).toFixed(0)} MiB`
    )
  }
  console.log(`output: ${slices} slices, ${positive} voxels > 0, largest distance ${largest.toFixed(4)}`)
  console.log(`peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`)
})

Effect.runPromise(main).catch((e) => {
  console.error(e)
  process.exit(1)
})
