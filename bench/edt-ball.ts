/**
 * Ball morphology: the row-distance method of binary.ts (about πR² work per voxel) against the
 * distance method of ball-distance.ts (independent of R), through the memory interpreter (kernels
 * run slice by slice as in the streaming interpreter; no I/O), to choose the radius from which the
 * distance method should take over.
 *
 *   npx tsx bench/edt-ball.ts                                   # 64×256×256, R = 1 2 4 8
 *   npx tsx bench/edt-ball.ts --shape 32x512x512 --radii 1,3,6,12 --repeat 5
 *
 * Two masks: the phantom thresholded at 100 (a few large balls: long runs, like a segmentation)
 * and noise with half the voxels set (short runs: the distance method's worst case). Each figure
 * is the best of `--repeat` runs after one warm-up, in millions of voxels per second of CPU time
 * (process.cpuUsage: steadier than wall time on a shared machine; one thread, so the two agree
 * on an idle one).
 */
import * as Effect from "effect/Effect"
import type { Algebra, Repr, Volume } from "../src/algebra/algebra.js"
import type { DType } from "../src/algebra/dtype.js"
import { volumeInfo, voxelCount, type Shape } from "../src/algebra/volume.js"
import { evaluate } from "../src/interpreters/memory/index.js"
import { arraySource } from "../src/io/memory.js"
import { phantomSource } from "../src/io/phantom.js"
import { dilate, erode } from "../src/ops/binary.js"
import { dilateBallByDistance, erodeBallByDistance } from "../src/ops/ball-distance.js"
import { threshold } from "../src/ops/pointwise.js"

const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1]! : fallback
}
const shape = arg("shape", "64x256x256").split("x").map(Number) as unknown as Shape
const radii = arg("radii", "1,2,4,8").split(",").map(Number)
const repeat = Number(arg("repeat", "3"))
const info = volumeInfo("uint8", shape)
const n = voxelCount(info)

const phantomMask = async (): Promise<Uint8Array> => {
  const src = phantomSource({ shape })
  const r = await Effect.runPromise(evaluate((alg) => ({ m: threshold(alg, alg.source(src), { min: 100 }) })))
  return r.volumes.m!.data as Uint8Array
}
const noiseMask = (): Uint8Array => {
  let s = 0x2545f491
  const a = new Uint8Array(n)
  for (let i = 0; i < n; i++) {
    s ^= s << 13
    s ^= s >>> 17
    s ^= s << 5
    a[i] = (s >>> 0) / 4294967296 < 0.5 ? 1 : 0
  }
  return a
}

type Op = <F extends Repr>(alg: Algebra<F>, v: Volume<F, DType>, radius: number) => Volume<F, "uint8">
const METHODS: ReadonlyArray<readonly [string, Op]> = [
  ["dilate ball (rows)", (alg, v, radius) => dilate(alg, v, { radius, footprint: "ball" })],
  ["dilate by distance", (alg, v, radius) => dilateBallByDistance(alg, v, { radius })],
  ["erode ball (rows)", (alg, v, radius) => erode(alg, v, { radius, footprint: "ball" })],
  ["erode by distance", (alg, v, radius) => erodeBallByDistance(alg, v, { radius })]
]

const cpuMs = (): number => {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1000
}

const time = async (data: Uint8Array, op: Op, radius: number): Promise<{ ms: number; set: number }> => {
  const src = arraySource(info, data, "mask")
  let best = Infinity
  let set = 0
  for (let k = 0; k <= repeat; k++) {
    const t0 = cpuMs()
    const r = await Effect.runPromise(evaluate((alg) => ({ out: op(alg, alg.source(src) as Volume<typeof alg extends Algebra<infer F> ? F : never, DType>, radius) })))
    const ms = cpuMs() - t0
    if (k > 0) best = Math.min(best, ms)
    if (k === 0) {
      const out = r.volumes.out!.data
      for (let i = 0; i < out.length; i++) set += out[i]!
    }
  }
  return { ms: best, set }
}

console.log(`ball morphology, ${shape.join("×")} uint8 (${(n / 1e6).toFixed(2)} M voxels), best of ${repeat}, Node ${process.version}`)
for (const [maskName, data] of [
  ["phantom>100", await phantomMask()],
  ["noise 50%", noiseMask()]
] as const) {
  let fg = 0
  for (let i = 0; i < n; i++) fg += data[i]!
  console.log(`\nmask ${maskName} (${((100 * fg) / n).toFixed(1)}% foreground)`)
  console.log(["method".padEnd(20), ...radii.map((r) => `R=${r}`.padStart(18))].join(""))
  const sets = new Map<string, Array<number>>()
  for (const [name, op] of METHODS) {
    const cells: Array<string> = []
    const s: Array<number> = []
    for (const r of radii) {
      const { ms, set } = await time(data, op, r)
      s.push(set)
      cells.push(`${(n / 1e3 / ms).toFixed(1)} Mvox/s`.padStart(18))
    }
    sets.set(name, s)
    console.log([name.padEnd(20), ...cells].join(""))
  }
  // Both methods must agree (the tests check voxel for voxel; here the counts, as a guard).
  for (const op of ["dilate", "erode"]) {
    const a = sets.get(`${op} ball (rows)`)!
    const b = sets.get(`${op} by distance`)!
    if (a.some((v, i) => v !== b[i])) console.log(`!! ${op}: the methods set different counts: ${a} vs ${b}`)
  }
}
