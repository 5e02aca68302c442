/**
 * Median throughput through the memory interpreter (the kernel runs slice by slice exactly as in
 * the streaming interpreter; only I/O is absent).
 *
 *   npx vite-node bench/ops-median.ts                 # 256×512×512 uint8, radius 1
 *   npx vite-node bench/ops-median.ts -- --dtype uint16 --radius 2 --shape 64x512x512
 *
 * Two inputs: "smooth" (slowly varying structure plus a little noise, like a micrograph) and
 * "noise" (uniform random over the dtype's range, the histogram method's worst case: the median
 * moves furthest between neighbours).
 */
import * as Effect from "effect/Effect"
import { isDType, type DType } from "../src/algebra/dtype.js"
import { voxelCount, type Shape } from "../src/algebra/volume.js"
import { evaluate } from "../src/interpreters/memory/index.js"
import { syntheticVolume } from "./support/synthetic.js"
import { arraySource } from "../src/io/memory.js"
import { median, medianMethod } from "../src/ops/median.js"

const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1]! : fallback
}

const dtypeText = arg("dtype", "uint8")
if (!isDType(dtypeText)) throw new Error(`--dtype ${dtypeText}: not a dtype`)
const dtype: DType = dtypeText
const radius = Number(arg("radius", "1"))
const shape = arg("shape", "256x512x512").split("x").map(Number) as unknown as Shape
const runs = Number(arg("runs", "2"))

const makeInput = (kind: "smooth" | "noise") => {
  const v = syntheticVolume(dtype, shape, kind, 0x9e3779b9)
  return arraySource(v.info, v.data, kind)
}

console.log(
  `median radius ${radius} (${2 * radius + 1}³), ${dtype} ${shape.join("×")}, method ${medianMethod(dtype, "reflect", 0)}, node ${process.version}`
)
for (const kind of ["smooth", "noise"] as const) {
  const src = makeInput(kind)
  const voxels = voxelCount(src.info)
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now()
    await Effect.runPromise(evaluate((alg) => ({ out: median(alg, alg.source(src), { radius }) })))
    const seconds = (performance.now() - t0) / 1000
    console.log(`  ${kind.padEnd(6)} run ${r + 1}: ${seconds.toFixed(2)} s, ${(voxels / seconds / 1e6).toFixed(1)} M voxels/s`)
  }
}
