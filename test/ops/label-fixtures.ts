/**
 * The fixtures of scripts/fixtures/make_label_fixtures.py (test/fixtures/label): one manifest of
 * stored arrays and of label, otsu and reducer cases, shared by the tests of those ops.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { allocSlice, type DType, type VoxelArray } from "../../src/algebra/dtype.js"
import { volumeInfo, type Shape, type VolumeInfo } from "../../src/algebra/volume.js"

const DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "fixtures", "label")

interface StoredArray {
  readonly file: string
  readonly offset: number
  readonly dtype: DType
  readonly shape: Shape
}

/** A number as the fixtures write it (JSON has no NaN or infinities). */
export type Num = number | "NaN" | "Infinity" | "-Infinity"
export const num = (v: Num): number => (typeof v === "number" ? v : Number(v))

/** The manifest: stored arrays by name, and each op's cases under its own key. */
export const labelManifest: { readonly arrays: Readonly<Record<string, StoredArray>> } & Readonly<Record<string, unknown>> = JSON.parse(
  fs.readFileSync(path.join(DIR, "manifest.json"), "utf8")
)

/** A stored array as a volume (the fixtures are little-endian, as this machine and CI). */
export const arrayOf = (name: string): { readonly info: VolumeInfo; readonly data: VoxelArray } => {
  const a = labelManifest.arrays[name]!
  const data = allocSlice(a.dtype, a.shape[0] * a.shape[1] * a.shape[2])
  const bytes = fs.readFileSync(path.join(DIR, a.file))
  new Uint8Array(data.buffer).set(bytes.subarray(a.offset, a.offset + data.byteLength))
  return { info: volumeInfo(a.dtype, a.shape), data }
}
