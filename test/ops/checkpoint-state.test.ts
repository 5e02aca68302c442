/**
 * The checkpoint state of every sweep and fold that declares `stateBytes` (algebra/kernel.ts): a
 * kernel or accumulator run over the first slices, snapshotted, written to a state file and read
 * back (io/journal-state.ts), restored into a fresh one that then runs the remaining slices, gives
 * exactly what one uninterrupted run gives. A resumed run's sweeps and folds rely on it.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as Effect from "effect/Effect"
import { afterAll, describe, expect, it } from "vitest"
import { allocSlice, type DType, type VoxelArray } from "../../src/algebra/dtype.js"
import type { Reducer, WindowKernel } from "../../src/algebra/kernel.js"
import { sliceLength, volumeInfo, type VolumeInfo } from "../../src/algebra/volume.js"
import { kernelWindow } from "../../src/interpreters/window.js"
import { readStateFile, writeStateFile } from "../../src/io/journal-state.js"
import { ballZKernel, edtBackwardKernel, edtForwardKernel } from "../../src/ops/distance/zphase.js"
import { labelTable, provisionalLabels } from "../../src/ops/label.js"
import { countPerLabel, histogram, integerHistogram, minMax, stats, uniqueCounts } from "../../src/ops/reducers.js"
import { xorshift32 } from "../support/voxels.js"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "slicewise-checkpoint-state-"))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

/** A volume of `depth` slices of 7 × 9 voxels (or `plane`), values 0 … levels − 1 (mostly 0 where sparse). */
const volume = <D extends DType>(
  dtype: D,
  depth: number,
  seed: number,
  levels: number,
  plane: readonly [number, number] = [7, 9]
): { info: VolumeInfo<D>; slices: Array<VoxelArray> } => {
  const info = volumeInfo(dtype, [depth, plane[0], plane[1]]) as VolumeInfo<D>
  const next = xorshift32(seed)
  const slices = Array.from({ length: depth }, () => {
    const s = allocSlice(dtype, sliceLength(info))
    for (let i = 0; i < s.length; i++) s[i] = next() % 3 === 0 ? 0 : next() % levels
    return s
  })
  return { info, slices }
}

/** The state through a state file and back, as a resumed run gets it. */
const throughFile = (state: unknown, name: string): unknown =>
  Effect.runSync(
    Effect.flatMap(writeStateFile(path.join(dir, name), { state }), (saved) => readStateFile(saved.file, saved)) as Effect.Effect<{ state: unknown }>
  ).state

/** The sweep's outputs over every slice, in `order`, with a snapshot/restore after `cut` slices. */
const sweep = (kernel: WindowKernel<DType, DType>, info: VolumeInfo, slices: Array<VoxelArray>, backward: boolean, cut?: number): Array<Array<number>> => {
  const depth = info.shape[0]
  const window = kernelWindow(kernel, info, (z) => slices[z]!)
  let prepared = kernel.prepare(info)
  const out: Array<Array<number>> = []
  for (let s = 0; s < depth; s++) {
    if (s === cut) {
      const state = throughFile(prepared.snapshot!(), `${kernel.name}-${cut}`)
      prepared = kernel.prepare(info)
      prepared.restore!(state)
    }
    const z = backward ? depth - 1 - s : s
    const o = allocSlice(kernel.output, sliceLength(info))
    window.moveTo(z)
    prepared.compute(window.window, o)
    out.push(Array.from(o))
  }
  return out
}

/** The fold of every slice, with a snapshot/restore after `cut` slices. */
const fold = (reducer: Reducer<DType, unknown>, info: VolumeInfo, slices: Array<VoxelArray>, cut?: number): unknown => {
  let acc = reducer.start(info)
  slices.forEach((slice, z) => {
    if (z === cut) {
      const state = throughFile(acc.snapshot!(), `${reducer.name}-${cut}`)
      acc = reducer.start(info)
      acc.restore!(state)
    }
    acc.add(slice, z)
  })
  return acc.result()
}

describe("sweeps restored from a checkpoint state go on as if never stopped", () => {
  const cases: Array<{ name: string; kernel: WindowKernel<DType, DType>; dtype: DType; levels: number; backward: boolean; plane?: readonly [number, number] }> = [
    { name: "edt z forward", kernel: edtForwardKernel() as WindowKernel<DType, DType>, dtype: "uint8", levels: 2, backward: false },
    { name: "edt z backward", kernel: edtBackwardKernel() as WindowKernel<DType, DType>, dtype: "int32", levels: 3, backward: true },
    { name: "ball z (dilate, radius 3)", kernel: ballZKernel("dilate", 3, "uint8") as WindowKernel<DType, DType>, dtype: "uint8", levels: 2, backward: false },
    // Slices of 2¹² voxels and more: the WebAssembly z phase (distance/ball-z.ts).
    {
      name: "ball z (dilate, radius 3, SIMD)",
      kernel: ballZKernel("dilate", 3, "uint8") as WindowKernel<DType, DType>,
      dtype: "uint8",
      levels: 2,
      backward: false,
      plane: [64, 67]
    },
    { name: "ball z (erode, radius 2)", kernel: ballZKernel("erode", 2, "uint8") as WindowKernel<DType, DType>, dtype: "uint8", levels: 2, backward: false },
    { name: "label provisional (26)", kernel: provisionalLabels(26) as WindowKernel<DType, DType>, dtype: "uint8", levels: 2, backward: false }
  ]
  for (const c of cases) {
    it(c.name, () => {
      expect(c.kernel.stateBytes).toBeDefined()
      const { info, slices } = volume(c.dtype, 12, 5, c.levels, c.plane)
      const whole = sweep(c.kernel, info, slices, c.backward)
      for (const cut of [1, 5, 11]) expect(sweep(c.kernel, info, slices, c.backward, cut), `cut after ${cut}`).toEqual(whole)
    })
  }
})

describe("folds restored from a checkpoint state give the uninterrupted result", () => {
  const cases: Array<{ name: string; reducer: Reducer<DType, unknown>; dtype: DType; levels: number }> = [
    { name: "min-max", reducer: minMax() as Reducer<DType, unknown>, dtype: "float32", levels: 50 },
    { name: "stats", reducer: stats() as Reducer<DType, unknown>, dtype: "uint16", levels: 900 },
    { name: "histogram", reducer: histogram({ bins: 8, range: [0, 40] }) as Reducer<DType, unknown>, dtype: "float32", levels: 50 },
    { name: "integer histogram (uint8)", reducer: integerHistogram() as Reducer<DType, unknown>, dtype: "uint8", levels: 200 },
    { name: "integer histogram (int32, a table that grows)", reducer: integerHistogram() as Reducer<DType, unknown>, dtype: "int32", levels: 5000 },
    { name: "count per label", reducer: countPerLabel() as Reducer<DType, unknown>, dtype: "uint16", levels: 3000 },
    { name: "unique counts", reducer: uniqueCounts() as Reducer<DType, unknown>, dtype: "float32", levels: 3000 },
    { name: "label equivalences (6)", reducer: labelTable(6) as Reducer<DType, unknown>, dtype: "uint8", levels: 2 }
  ]
  for (const c of cases) {
    it(c.name, () => {
      expect(c.reducer.stateBytes).toBeDefined()
      const { info, slices } = volume(c.dtype, 12, 9, c.levels)
      const whole = fold(c.reducer, info, slices)
      for (const cut of [1, 6, 11]) expect(fold(c.reducer, info, slices, cut), `cut after ${cut}`).toEqual(whole)
    })
  }
})

describe("state files", () => {
  it("are refused (undefined) when cut short or changed, so that a resumed pass starts over instead", () => {
    const file = path.join(dir, "refused")
    const saved = Effect.runSync(writeStateFile(file, { a: new Float64Array([1, 2, 3]) }))
    expect(Effect.runSync(readStateFile(file, saved))).toEqual({ a: new Float64Array([1, 2, 3]) })
    const bytes = fs.readFileSync(file)
    fs.writeFileSync(file, bytes.subarray(0, bytes.length - 1))
    expect(Effect.runSync(readStateFile(file, saved))).toBeUndefined()
    bytes[bytes.length - 1]! ^= 1
    fs.writeFileSync(file, bytes)
    expect(Effect.runSync(readStateFile(file, saved))).toBeUndefined()
    expect(Effect.runSync(readStateFile(path.join(dir, "gone"), saved))).toBeUndefined()
  })
})
