/**
 * Reads the scipy/skimage fixtures of test/fixtures/ops (made by scripts/fixtures/make_ops_fixtures.py)
 * and runs ops through the memory interpreter for comparison.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as Effect from "effect/Effect"
import type { Algebra, Repr, Volume } from "../../src/algebra/algebra.js"
import { allocSlice, type DType, type VoxelArray } from "../../src/algebra/dtype.js"
import { volumeInfo, type Shape } from "../../src/algebra/volume.js"
import { evaluate } from "../../src/interpreters/memory/index.js"
import { arraySource } from "../../src/io/memory.js"

const DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "fixtures", "ops")

interface Stored {
  readonly file: string
  readonly offset: number
}

export interface FixtureInput extends Stored {
  readonly dtype: DType
  readonly shape: Shape
}

export interface FixtureCase {
  readonly id: string
  readonly op: string
  readonly input: string
  readonly params: Readonly<Record<string, unknown>>
  readonly output: Stored & { readonly dtype: DType }
  /** Gaussian cases: the weights scipy correlated with on z, y, x (null: axis skipped). */
  readonly scipyWeights?: ReadonlyArray<ReadonlyArray<number> | null>
}

export interface GaussianWeightsFixture {
  readonly sigma: number
  readonly truncate: number
  /** numpy's exp(−0.5/σ² · x²) before normalisation. */
  readonly exp: ReadonlyArray<number>
  /** numpy's sum of `exp`. */
  readonly sum: number
  /** scipy's normalised weights. */
  readonly weights: ReadonlyArray<number>
}

export interface Manifest {
  readonly versions: Readonly<Record<string, string>>
  readonly inputs: Readonly<Record<string, FixtureInput>>
  readonly cases: ReadonlyArray<FixtureCase>
  readonly gaussianWeights: ReadonlyArray<GaussianWeightsFixture>
}

export const manifest: Manifest = JSON.parse(fs.readFileSync(path.join(DIR, "manifest.json"), "utf8"))

const files = new Map<string, Buffer>()
const fileBytes = (file: string): Buffer => {
  let b = files.get(file)
  if (b === undefined) {
    b = fs.readFileSync(path.join(DIR, file))
    files.set(file, b)
  }
  return b
}

/** Voxels stored little-endian at `stored`, as a fresh (aligned) typed array. */
export const readVoxels = <D extends DType>(stored: Stored, dtype: D, count: number): ReturnType<typeof allocSlice<D>> => {
  const out = allocSlice(dtype, count)
  const bytes = new Uint8Array(out.buffer, out.byteOffset, out.byteLength)
  const src = fileBytes(stored.file)
  // This machine and CI are little-endian, as the fixtures are.
  bytes.set(src.subarray(stored.offset, stored.offset + bytes.length))
  return out
}

export const inputOf = (c: FixtureCase) => {
  const input = manifest.inputs[c.input]!
  const count = input.shape[0] * input.shape[1] * input.shape[2]
  const info = volumeInfo(input.dtype, input.shape)
  return { info, data: readVoxels(input, input.dtype, count) }
}

export const expectedOf = (c: FixtureCase): VoxelArray => {
  const input = manifest.inputs[c.input]!
  return readVoxels(c.output, c.output.dtype, input.shape[0] * input.shape[1] * input.shape[2])
}

export const casesOf = (op: string): ReadonlyArray<FixtureCase> => manifest.cases.filter((c) => c.op === op)

/** Runs `op` on the case's input through the memory interpreter; returns the output volume. */
export const runOp = async (
  c: FixtureCase,
  op: <F extends Repr>(alg: Algebra<F>, v: Volume<F, DType>) => Volume<F, DType>
): Promise<{ readonly dtype: DType; readonly data: VoxelArray }> => {
  const { info, data } = inputOf(c)
  const src = arraySource(info, data, c.input)
  const r = await Effect.runPromise(evaluate((alg) => ({ out: op(alg, alg.source(src)) })))
  const out = r.volumes.out!
  return { dtype: out.info.dtype, data: out.data }
}

/** Per-axis value from a fixture parameter (a number or a [z, y, x] list). */
export const axes = (v: unknown): number | readonly [number, number, number] =>
  typeof v === "number" ? v : [(v as Array<number>)[0]!, (v as Array<number>)[1]!, (v as Array<number>)[2]!]

/** ulps between two float64 values (0 when equal, including +0 / −0). */
export const ulps64 = (a: number, b: number): number => {
  if (a === b) return 0
  if (Number.isNaN(a) || Number.isNaN(b)) return Infinity
  const view = new DataView(new ArrayBuffer(16))
  view.setFloat64(0, a)
  view.setFloat64(8, b)
  const ia = view.getBigInt64(0)
  const ib = view.getBigInt64(8)
  // Map the sign-magnitude bit patterns onto a monotonic integer line.
  const key = (i: bigint) => (i < 0n ? -(i & 0x7fffffffffffffffn) : i)
  const d = key(ia) - key(ib)
  return Number(d < 0n ? -d : d)
}

/** ulps between two float32 values. */
export const ulps32 = (a: number, b: number): number => {
  if (a === b) return 0
  if (Number.isNaN(a) || Number.isNaN(b)) return Infinity
  const view = new DataView(new ArrayBuffer(8))
  view.setFloat32(0, a)
  view.setFloat32(4, b)
  const key = (i: number) => (i < 0 ? -(i & 0x7fffffff) : i)
  return Math.abs(key(view.getInt32(0)) - key(view.getInt32(4)))
}

/** The largest |value| of an array (for tolerances relative to the data's scale). */
export const maxAbs = (a: ArrayLike<number>): number => {
  let m = 0
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!))
  return m
}

/** The largest |actual − expected| over all voxels. */
export const maxDiff = (actual: ArrayLike<number>, expected: ArrayLike<number>): number => {
  let m = 0
  for (let i = 0; i < actual.length; i++) m = Math.max(m, Math.abs(actual[i]! - expected[i]!))
  return m
}

export interface Comparison {
  /** Voxels that differ at all. */
  readonly differing: number
  /** The largest difference in ulps of the dtype (floats), or in values (integers). */
  readonly worst: number
  /** The first difference, for messages. */
  readonly first: string | undefined
}

/** Compares voxel for voxel: exact equality, with the largest deviation for messages. */
export const compare = (dtype: DType, actual: VoxelArray, expected: VoxelArray): Comparison => {
  let differing = 0
  let worst = 0
  let first: string | undefined
  if (actual.length !== expected.length) return { differing: Infinity, worst: Infinity, first: `length ${actual.length} vs ${expected.length}` }
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i]!
    const e = expected[i]!
    if (Object.is(a, e) || a === e) continue
    differing++
    const d = dtype === "float32" ? ulps32(a, e) : dtype === "float64" ? ulps64(a, e) : Math.abs(a - e)
    if (d > worst) worst = d
    first ??= `voxel ${i}: got ${a}, scipy ${e}`
  }
  return { differing, worst, first }
}
