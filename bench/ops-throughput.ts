/**
 * Throughput of every CLI step through the memory interpreter (kernels run slice by slice as in the
 * streaming interpreter; no I/O).
 *
 *   npx vite-node bench/ops-throughput.ts                          # 64×512×512 uint8
 *   npx vite-node bench/ops-throughput.ts -- --dtype float32 --shape 32x512x512
 *
 * The input is smooth structure plus noise (a micrograph-like image) scaled to the dtype.
 */
import * as Effect from "effect/Effect"
import { isDType, type DType } from "../src/algebra/dtype.js"
import { voxelCount, type Shape } from "../src/algebra/volume.js"
import { evaluate } from "../src/interpreters/memory/index.js"
import { syntheticVolume } from "./support/synthetic.js"
import { arraySource } from "../src/io/memory.js"
import { applyStep, parseStep } from "../src/jobs/steps.js"

const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1]! : fallback
}
const dtypeText = arg("dtype", "uint8")
if (!isDType(dtypeText)) throw new Error(`--dtype ${dtypeText}: not a dtype`)
const dtype: DType = dtypeText
const shape = arg("shape", "64x512x512").split("x").map(Number) as unknown as Shape
const only = arg("steps", "")

const { info, data, bottom, top } = syntheticVolume(dtype, shape, "smooth", 0x2545f491)
const src = arraySource(info, data, "bench")
const mid = Math.floor((bottom + top) / 2)

const STEPS = [
  "copy",
  `threshold:min=${mid}`,
  "cast:dtype=float32",
  "uniform:size=3",
  "uniform:size=7",
  "gaussian:sigma=1",
  "gaussian:sigma=2",
  "median:radius=1",
  "median:radius=2",
  "grey-dilate:radius=1",
  "grey-dilate:radius=3",
  "dilate:radius=1",
  "dilate:radius=3",
  "erode:radius=3",
  "dilate:radius=3,footprint=cube"
].filter((s) => only === "" || only.split(";").includes(s))

console.log(`${dtype} ${shape.join("×")} (${(voxelCount(info) / 1e6).toFixed(1)} M voxels), memory interpreter, node ${process.version}`)
for (const text of STEPS) {
  const step = parseStep(text)
  // Binary morphology runs on a mask, as a user would run it: its time includes the threshold.
  const program = (alg: Parameters<Parameters<typeof evaluate>[0]>[0]) => {
    let v = alg.source(src)
    if (step._tag === "dilate" || step._tag === "erode") v = applyStep(alg, v, parseStep(`threshold:min=${mid}`))
    return { out: applyStep(alg, v, step) }
  }
  let best = Infinity
  for (let r = 0; r < 2; r++) {
    const t0 = performance.now()
    await Effect.runPromise(evaluate(program))
    best = Math.min(best, (performance.now() - t0) / 1000)
  }
  console.log(`  ${text.padEnd(34)} ${best.toFixed(2).padStart(6)} s  ${(voxelCount(info) / best / 1e6).toFixed(1).padStart(6)} M voxels/s`)
}
