/**
 * Binary morphology: scipy.ndimage.binary_dilation / binary_erosion with border_value = 0 and a
 * structuring element that is skimage.morphology.ball(R) (x² + y² + z² ≤ R²) or a (2R+1)³ cube.
 * Input voxels that are non-zero are foreground; the output is uint8 0/1. Outside the volume is
 * background, so dilation adds nothing from there and erosion eats in from the border.
 *
 * Ball: a ball is, for each (dz, dy) with dz² + dy² ≤ R², a run of x offsets |dx| ≤ w(dz, dy). So
 * a first, in-plane node stores for every voxel its distance along x to the nearest foreground
 * voxel of its row (dilation) or nearest background voxel, the row's ends counting as background
 * (erosion), capped at R + 1. A second node (a z window of R) then needs one comparison per voxel
 * and per (dz, dy) row of the ball: dilation sets a voxel when some row has distance ≤ w; erosion
 * clears it when some row has distance ≤ w or lies outside the volume. That is about πR² work per
 * voxel instead of the ball's 4/3·πR³.
 *
 * Cube: max (dilation) or min (erosion) of the binarised input over the cube, separable along
 * z, y, x with cval 0 outside (`morphology.ts`).
 *
 * @example
 * ```ts
 * const grown = dilate(alg, mask, { radius: 2 })                       // ball
 * const shrunk = erode(alg, mask, { radius: 1, footprint: "cube" })
 * ```
 */
import type { Algebra, Repr, Volume } from "../algebra/algebra.js"
import { allocSlice, bytesPerVoxel, type DType, type VoxelArray } from "../algebra/dtype.js"
import * as E from "../algebra/expr.js"
import type { ComputeRows, WindowKernel } from "../algebra/kernel.js"
import type { VolumeInfo } from "../algebra/volume.js"
import { dilateBallByDistance, erodeBallByDistance } from "./ball-distance.js"
import { builtInRecipe } from "./internal/kernel-module.js"
import { generated, SharedLines } from "./internal/loops.js"
import { boxExtreme } from "./morphology.js"

export type Footprint = "ball" | "cube"

export const FOOTPRINTS: ReadonlyArray<Footprint> = ["ball", "cube"]

export interface BinaryOptions {
  /** Radius R of the ball, or half-width of the cube; an integer ≥ 0. */
  readonly radius: number
  /** Structuring element (default "ball"). */
  readonly footprint?: Footprint
  /**
   * How a ball is computed; every method gives the same voxels. "rows": per z offset, runs of the
   * ball's rows (cost grows with R²); "distance": squared distance to the nearest voxel within ±R
   * slices (cost independent of R); "auto" (default): rows below R = 3, where it is faster,
   * distance from R = 3 on (measured: bench/edt-ball.ts).
   */
  readonly method?: "auto" | "rows" | "distance"
}

/** The smallest ball radius at which the distance method is the faster (bench/edt-ball.ts). */
export const BALL_DISTANCE_FROM_RADIUS = 3

type Operation = "dilate" | "erode"

/** The smallest dtype that holds distances capped at R + 1. */
const distanceType = (radius: number): "uint8" | "uint16" | "int32" =>
  radius < 255 ? "uint8" : radius < 65535 ? "uint16" : "int32"

/**
 * In-plane: distance along x from each voxel to the nearest voxel of its row that is foreground
 * (dilate) or background (erode; positions −1 and width count as background), capped at cap.
 */
export const rowDistanceKernel = (op: Operation, radius: number, output: DType): WindowKernel<DType, DType> => ({
  name: `${op}-row-distance`,
  recipe: builtInRecipe("rowDistanceKernel", [op, radius, output]),
  params: { radius, to: op === "dilate" ? "foreground" : "background" },
  halo: { z: { before: 0, after: 0 }, y: { before: 0, after: 0 }, x: { before: radius, after: radius } },
  mode: "constant",
  cval: 0,
  output,
  opsPerVoxel: 4,
  scratchBytes: () => 0,
  prepare: (info: VolumeInfo) => {
    const height = info.shape[1]
    const width = info.shape[2]
    const cap = radius + 1
    const wantForeground = op === "dilate"
    const computeRows: ComputeRows = (w, out, start, end) => {
      const slice = w.at(0)
      for (let y = start; y < end; y++) {
        const base = y * width
        // Forward: distance to the nearest target at or before x. For erosion position −1
        // (outside, background) is a target: distance 0 there.
        let d = wantForeground ? cap : 0
        for (let x = 0; x < width; x++) {
          const fg = slice[base + x] !== 0
          d = fg === wantForeground ? 0 : d < cap ? d + 1 : cap
          out[base + x] = d
        }
        // Backward: the nearest target at or after x (position width, for erosion).
        d = wantForeground ? cap : 0
        for (let x = width - 1; x >= 0; x--) {
          const fg = slice[base + x] !== 0
          d = fg === wantForeground ? 0 : d < cap ? d + 1 : cap
          if (d < out[base + x]!) out[base + x] = d
        }
      }
    }
    return { compute: (w, out) => computeRows(w, out, 0, height), computeRows }
  }
})

/** The ball's rows: for each (dz, dy) with dz² + dy² ≤ R², the largest w with dz² + dy² + w² ≤ R². */
export const ballRows = (radius: number): ReadonlyArray<{ readonly dz: number; readonly dy: number; readonly w: number }> => {
  const rows: Array<{ dz: number; dy: number; w: number }> = []
  const r2 = radius * radius
  for (let dz = -radius; dz <= radius; dz++) {
    for (let dy = -radius; dy <= radius; dy++) {
      const m = r2 - dz * dz - dy * dy
      if (m < 0) continue
      // Integer square root, exact (no reliance on Math.sqrt rounding).
      let w = Math.floor(Math.sqrt(m))
      while (w * w > m) w--
      while ((w + 1) * (w + 1) <= m) w++
      rows.push({ dz, dy, w })
    }
  }
  return rows
}

/**
 * One output row of a ball test: `out[base + x]` from the row distances `lines[k][offs[k] + x]` of
 * the ball's rows k, whose half-widths are `widths[k]`. A row reaches x when distance ≤ width, i.e.
 * when width − distance ≥ 0: the AND of those differences is negative exactly when no row reaches
 * x (dilation: 0) — or, for erosion, when no row reaches background (1). No branch per voxel.
 */
type BallRowTest = (
  out: VoxelArray,
  base: number,
  width: number,
  lines: ReadonlyArray<VoxelArray>,
  offs: Int32Array,
  widths: Int32Array
) => void

const ballRowTest = (op: Operation, rows: number, dtype: DType, single: boolean): BallRowTest =>
  generated(`ball/${op}/${rows}/${dtype}/${single ? 1 : 0}`, ["out", "base", "width", "lines", "offs", "widths"], () => {
    const ks = Array.from({ length: rows }, (_, k) => k)
    const prologue = ks.map((k) => `const o${k} = offs[${k}], w${k} = widths[${k}]${single ? "" : `, l${k} = lines[${k}]`};`)
    const all = ks.map((k) => `(w${k} - ${single ? "s" : `l${k}`}[o${k} + x])`).join(" & ")
    const value = op === "dilate" ? `1 ^ ((${all}) >>> 31)` : `(${all}) >>> 31`
    return [single ? "const s = lines[0];" : "", ...prologue, `for (let x = 0; x < width; x++) out[base + x] = ${value};`].join("\n")
  })

/** z window over the row distances: one comparison per voxel and ball row, in one loop. */
export const ballKernel = (op: Operation, radius: number, distance: DType): WindowKernel<DType, "uint8"> => {
  const rows = ballRows(radius)
  return {
    name: `${op}-ball`,
    recipe: builtInRecipe("ballKernel", [op, radius, distance]),
    params: { radius, rows: rows.length },
    halo: { z: { before: radius, after: radius }, y: { before: radius, after: radius }, x: { before: 0, after: 0 } },
    // Outside the volume is background; the kernel never asks for slices outside it.
    mode: "constant",
    cval: 0,
    output: "uint8",
    opsPerVoxel: rows.length,
    scratchBytes: (info) => bytesPerVoxel(distance) * info.shape[2],
    prepare: (info: VolumeInfo) => {
      const depth = info.shape[0]
      const height = info.shape[1]
      const width = info.shape[2]
      const testOfOne = ballRowTest(op, rows.length, distance, true)
      const testOfMany = ballRowTest(op, rows.length, distance, false)
      const widths = Int32Array.from(rows, (r) => r.w)
      const base = new Int32Array(rows.length)
      const offs = new Int32Array(rows.length)
      const lines: Array<VoxelArray> = new Array(rows.length)
      const one: Array<VoxelArray> = []
      const shared = new SharedLines()
      // A ball row outside the volume reaches nothing (dilation) — a row of distances beyond every
      // width; for erosion it is background within reach, so the whole output row is 0.
      const far = allocSlice(distance, width).fill(radius + 1)
      const computeRows: ComputeRows = (win, out, start, end) => {
        const z = win.z
        for (let y = start; y < end; y++) {
          const row = y * width
          let outside = false
          for (let k = 0; k < rows.length; k++) {
            const { dz, dy } = rows[k]!
            const yi = y + dy
            if (z + dz < 0 || z + dz >= depth || yi < 0 || yi >= height) {
              outside = true
              lines[k] = far
              base[k] = 0
            } else {
              lines[k] = win.at(dz)
              base[k] = yi * width
            }
          }
          if (outside && op === "erode") {
            out.fill(0, row, row + width)
            continue
          }
          // The window's slices are usually one ring's block: then one array at offsets.
          const common = shared.of(lines, base, offs)
          if (common === undefined) testOfMany(out, row, width, lines, base, widths)
          else {
            one[0] = common
            testOfOne(out, row, width, one, offs, widths)
          }
        }
      }
      return { compute: (w, out) => computeRows(w, out, 0, height), computeRows }
    }
  }
}

const binary = <F extends Repr, D extends DType>(
  alg: Algebra<F>,
  input: Volume<F, D>,
  op: Operation,
  options: BinaryOptions
): Volume<F, "uint8"> => {
  const r = options.radius
  if (!Number.isInteger(r) || r < 0) throw new RangeError(`${op}: radius must be an integer ≥ 0, got ${r}`)
  const footprint = options.footprint ?? "ball"
  if (footprint !== "ball" && footprint !== "cube") {
    throw new RangeError(`${op}: footprint must be "ball" or "cube", got ${String(footprint)}`)
  }
  if (r === 0 || footprint === "cube") {
    const mask = alg.map<D, "uint8">(input, (x) => E.ne(x, 0), { dtype: "uint8", name: "binarize" })
    if (r === 0) return mask
    return boxExtreme(alg, mask, op === "dilate" ? "max" : "min", [r, r, r], "constant", 0, `${op}-cube`)
  }
  const method = options.method ?? "auto"
  if (method === "distance" || (method === "auto" && r >= BALL_DISTANCE_FROM_RADIUS)) {
    return (op === "dilate" ? dilateBallByDistance : erodeBallByDistance)(alg, input, { radius: r })
  }
  const distance = alg.window(input as unknown as Volume<F, DType>, rowDistanceKernel(op, r, distanceType(r)))
  return alg.window(distance, ballKernel(op, r, distanceType(r))) as unknown as Volume<F, "uint8">
}

/**
 * Binary dilation (non-zero = foreground; output uint8 0/1), as scipy.ndimage.binary_dilation(
 * input, structure, border_value=0) with structure = skimage.morphology.ball(R) or a cube.
 *
 * @example
 * ```ts
 * const grown = dilate(alg, mask, { radius: 1 })
 * ```
 */
export const dilate = <F extends Repr, D extends DType>(alg: Algebra<F>, input: Volume<F, D>, options: BinaryOptions): Volume<F, "uint8"> =>
  binary(alg, input, "dilate", options)

/**
 * Binary erosion (non-zero = foreground; output uint8 0/1; outside the volume is background), as
 * scipy.ndimage.binary_erosion(input, structure, border_value=0).
 *
 * @example
 * ```ts
 * const core = erode(alg, mask, { radius: 2, footprint: "cube" })
 * ```
 */
export const erode = <F extends Repr, D extends DType>(alg: Algebra<F>, input: Volume<F, D>, options: BinaryOptions): Volume<F, "uint8"> =>
  binary(alg, input, "erode", options)
