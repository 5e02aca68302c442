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
import { allocSlice, dtypeRange, isDType, type DType } from "../src/algebra/dtype.js"
import { volumeInfo, voxelCount, type Shape } from "../src/algebra/volume.js"
import { evaluate } from "../src/interpreters/memory/index.js"
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
  const info = volumeInfo(dtype, shape)
  const data = allocSlice(dtype, voxelCount(info))
  const [lo, hi] = dtypeRange(dtype)
  const top = Number.isFinite(hi) ? hi : 1000
  const bottom = Number.isFinite(lo) ? Math.max(lo, 0) : 0
  let s = 0x9e3779b9
  const rand = () => {
    // xorshift32: fast and deterministic
    s ^= s << 13
    s ^= s >>> 17
    s ^= s << 5
    return (s >>> 0) / 4294967296
  }
  const [Z, Y, X] = shape
  let i = 0
  for (let z = 0; z < Z; z++) {
    for (let y = 0; y < Y; y++) {
      for (let x = 0; x < X; x++, i++) {
        if (kind === "noise") data[i] = bottom + Math.floor(rand() * (top - bottom + 1))
        else {
          const t = 0.5 + 0.2 * Math.sin(x / 23 + z / 17) + 0.2 * Math.cos(y / 31 - z / 29) + 0.05 * (rand() - 0.5)
          data[i] = bottom + Math.floor(t * (top - bottom))
        }
      }
    }
  }
  return arraySource(info, data, kind)
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
