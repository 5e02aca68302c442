/**
 * Kernels written as a user of the library writes them: in a module of their own, each with a
 * recipe naming this module (`import.meta.url`) and the factory's export, so that row threads
 * rebuild them (test/interpreters/user-kernels.test.ts).
 *
 * Each counts its calls in shared memory, [0] on the calling thread and [1] on workers (the counts
 * are an argument: a SharedArrayBuffer survives the recipe's cloning as the same memory), and can
 * be told to throw.
 */
import { isMainThread } from "node:worker_threads"
import type { DType } from "../../src/algebra/dtype.js"
import { reach, type ComputeRows, type SliceWindow, type WindowKernel } from "../../src/algebra/kernel.js"

/** Calls counted by the kernels below: [0] on the calling thread, [1] on row workers. */
export const newCounts = (): Int32Array => new Int32Array(new SharedArrayBuffer(8))

/** When a kernel throws: in `prepare` or on slice z, on any thread or on workers only. */
export interface Failure {
  readonly in: "prepare" | "compute"
  readonly z?: number
  readonly on: "any" | "worker"
}

const maybeFail = (fail: Failure | undefined, phase: Failure["in"], z?: number): void => {
  if (fail === undefined || fail.in !== phase || (fail.on === "worker" && isMainThread)) return
  if (phase === "compute" && fail.z !== z) return
  throw new Error(`user kernel exploded${z === undefined ? "" : ` at z=${z}`}`)
}

/** Reflects y into 0…h−1 as scipy's "reflect" (d c b a | a b c d). */
const reflect = (y: number, h: number): number => (y < 0 ? -y - 1 : y >= h ? 2 * h - y - 1 : y)

/**
 * The sum over a 3×3 neighbourhood in (z, y), float32: a y halo, so threads share a slice through
 * `computeRows` ("rows" mode).
 */
export const zyBoxSum = (counts: Int32Array, fail?: Failure): WindowKernel<"uint16", "float32"> => ({
  name: "zy-box-sum",
  params: {},
  halo: { z: reach(1), y: reach(1), x: reach(0) },
  mode: "reflect",
  cval: 0,
  output: "float32",
  opsPerVoxel: 9,
  scratchBytes: () => 0,
  prepare: (info) => {
    maybeFail(fail, "prepare")
    const [, h, w] = info.shape
    const computeRows = (win: SliceWindow<"uint16">, out: Float32Array, start: number, end: number): void => {
      Atomics.add(counts, isMainThread ? 0 : 1, 1)
      maybeFail(fail, "compute", win.z)
      out.fill(0, start * w, end * w)
      for (let dz = -1; dz <= 1; dz++) {
        const s = win.at(dz)
        for (let y = start; y < end; y++) {
          for (let dy = -1; dy <= 1; dy++) {
            const from = reflect(y + dy, h) * w
            for (let x = 0; x < w; x++) out[y * w + x]! += s[from + x]!
          }
        }
      }
    }
    return { compute: (win, out) => computeRows(win, out, 0, h), computeRows: computeRows as ComputeRows }
  },
  recipe: { module: import.meta.url, factory: "zyBoxSum", args: [counts, fail] }
})

/**
 * The largest of slices z−1, z, z+1, voxel by voxel, in `dtype`: no y halo, so each thread runs it
 * on a band of rows ("band" mode).
 */
export const zMax = <D extends DType>(dtype: D, counts: Int32Array, fail?: Failure): WindowKernel<D, D> => ({
  name: "z-max",
  params: {},
  halo: { z: reach(1), y: reach(0), x: reach(0) },
  mode: "nearest",
  cval: 0,
  output: dtype,
  opsPerVoxel: 3,
  scratchBytes: () => 0,
  prepare: () => {
    maybeFail(fail, "prepare")
    return {
      compute: (win, out) => {
        Atomics.add(counts, isMainThread ? 0 : 1, 1)
        maybeFail(fail, "compute", win.z)
        const a = win.at(-1)
        const b = win.at(0)
        const c = win.at(1)
        for (let i = 0; i < out.length; i++) out[i] = Math.max(a[i]!, b[i]!, c[i]!)
      }
    }
  },
  recipe: { module: import.meta.url, factory: "zMax", args: [dtype, counts, fail] }
})
