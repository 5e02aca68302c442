/**
 * Writes a deterministic test volume for benchmarks: the phantom (balls on noise), a ramp, or
 * structured (smoothed seeded noise: thresholded at 128 it is many blobs of varied sizes).
 *
 *   npx tsx bench/make-volume.ts <output> [--shape 512,512,512] [--dtype uint8] [--kind phantom|ramp|structured] [--seed 1]
 *
 * The output format follows the path as for `slicewise run` (a directory is a TIFF stack).
 */
import * as Effect from "effect/Effect"
import { castValue, isDType, type DType, type VoxelArray } from "../src/algebra/dtype.js"
import { volumeInfo, type Shape } from "../src/algebra/volume.js"
import * as Run from "../src/interpreters/run/index.js"
import { sinkFor } from "../src/io/index.js"
import { phantomSource } from "../src/io/phantom.js"
import type { SliceSource } from "../src/algebra/slices.js"

const args = process.argv.slice(2)
const option = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? args[i + 1]! : fallback
}
const output = args.find((a, i) => !a.startsWith("--") && (i === 0 || !args[i - 1]!.startsWith("--")))
if (output === undefined) {
  console.error("usage: make-volume.ts <output> [--shape z,y,x] [--dtype uint8] [--kind phantom|ramp|structured] [--seed 1]")
  process.exit(2)
}
const shape = option("shape", "512,512,512").split(",").map(Number) as unknown as Shape
const dtype = option("dtype", "uint8")
if (!isDType(dtype)) throw new Error(`unknown dtype ${dtype}`)
const kind = option("kind", "phantom")
const seed = Number(option("seed", "1"))

/** A source of `shape` whose slice z is computed by `fill` (no file: nothing is read). */
const computedSource = (name: string, d: DType, fill: (z: number, into: VoxelArray) => void): SliceSource => ({
  format: name,
  path: name,
  info: volumeInfo(d, shape),
  details: {},
  sliceReadBytes: () => 0,
  open: Effect.succeed({ read: (z, into) => Effect.sync(() => fill(z, into)), bytesRead: () => 0 })
})

/** Values 0..255 rising along x, then y, then z: every slice differs, every row too. */
const rampSource = (d: DType): SliceSource => {
  const [, h, w] = shape
  return computedSource("ramp", d, (z, into) => {
    for (let y = 0, i = 0; y < h; y++) for (let x = 0; x < w; x++, i++) into[i] = castValue(d, (x + y + z) % 256)
  })
}

/**
 * Smoothed seeded noise, values 0..255 in every dtype (so threshold:min=128 means the same in each).
 * Uniform integer noise 0..65535 is hashed from (x, y, z, seed), also outside the volume, so there is
 * no border effect and a slice does not depend on read order. Each voxel is the mean of the 8×8×8 box
 * of noise at offsets −3…+4 on every axis (exact integer sums: separable running sums in-plane, a sum
 * of 8 in-plane planes along z, cached while slices are read in order, so memory is 8 planes). By the
 * central limit theorem the mean is close to normal with σ = √(1/12)/√512 (of the unit range); with
 * g its standard score, value = clamp(round(128 + 40·(g − 1.5)), 0, 255): about 7 % of the voxels are
 * ≥ 128, in thousands of separate blobs from 1 to thousands of voxels (26-connected, at 128³: about
 * 4100 components, median 2 voxels, 1 % above 600, the largest 8 % of the foreground); the
 * background is mostly near 68.
 */
const structuredSource = (d: DType): SliceSource => {
  const [, h, w] = shape
  const W = 8
  const lo = -3
  const hash3 = (x: number, y: number, z: number): number => {
    let k = Math.imul(x, 0x27d4eb2d) ^ Math.imul(y, 0x165667b1) ^ Math.imul(z, 0x9e3779b1) ^ Math.imul(seed, 0x85ebca77)
    k ^= k >>> 15
    k = Math.imul(k, 0x2c1b3c6d)
    k ^= k >>> 12
    k = Math.imul(k, 0x297a2d39)
    k ^= k >>> 15
    return k >>> 16
  }
  // In-plane box sums of plane z: rows then columns, running sums over exact integers.
  const plane = (z: number): Float64Array => {
    const pw = w + W - 1
    const rows = new Float64Array((h + W - 1) * w)
    const noise = new Float64Array(pw)
    for (let yy = 0; yy < h + W - 1; yy++) {
      for (let xx = 0; xx < pw; xx++) noise[xx] = hash3(xx + lo, yy + lo, z)
      let s = 0
      for (let k = 0; k < W; k++) s += noise[k]!
      const row = yy * w
      rows[row] = s
      for (let x = 1; x < w; x++) {
        s += noise[x + W - 1]! - noise[x - 1]!
        rows[row + x] = s
      }
    }
    const out = new Float64Array(h * w)
    for (let x = 0; x < w; x++) {
      let s = 0
      for (let k = 0; k < W; k++) s += rows[k * w + x]!
      out[x] = s
      for (let y = 1; y < h; y++) {
        s += rows[(y + W - 1) * w + x]! - rows[(y - 1) * w + x]!
        out[y * w + x] = s
      }
    }
    return out
  }
  const cache = new Map<number, Float64Array>()
  const n = W * W * W
  const mean = (65535 / 2) * n
  const sd = Math.sqrt((65536 * 65536 - 1) / 12) * Math.sqrt(n)
  const planes: Array<Float64Array> = []
  return computedSource("structured", d, (z, into) => {
    for (const k of [...cache.keys()]) if (k < z + lo || k > z + lo + W - 1) cache.delete(k)
    planes.length = 0
    for (let k = z + lo; k < z + lo + W; k++) {
      let p = cache.get(k)
      if (p === undefined) {
        p = plane(k)
        cache.set(k, p)
      }
      planes.push(p)
    }
    for (let i = 0; i < h * w; i++) {
      let s = 0
      for (const p of planes) s += p[i]!
      const v = Math.round(128 + 40 * ((s - mean) / sd - 1.5))
      into[i] = castValue(d, v < 0 ? 0 : v > 255 ? 255 : v)
    }
  })
}

const source =
  kind === "ramp" ? rampSource(dtype) : kind === "structured" ? structuredSource(dtype) : phantomSource({ shape, dtype, seed })
Effect.runPromise(
  Effect.gen(function* () {
    const sink = yield* sinkFor(output)
    const r = yield* Run.run((alg) => ({ out: alg.write(alg.source(source), sink) }))
    console.log(`wrote ${output}: ${kind} ${dtype} ${shape.join("×")}, ${r.bytesWritten} bytes in ${(r.wallMs / 1000).toFixed(2)} s`)
  })
).catch((e) => {
  console.error(String(e))
  process.exit(1)
})
