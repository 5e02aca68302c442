/**
 * Grey-level morphology with a flat cube, as scipy.ndimage.grey_dilation / grey_erosion with
 * size = 2R + 1 on every axis: the maximum (minimum) over the cube, which is separable, so it runs as
 * a running extreme along z, then y, then x (each stored in the input dtype, as scipy's
 * minimum_filter1d passes are). Comparisons are exact, so results are identical to scipy's for
 * every dtype (NaN inputs aside: their propagation is unspecified, as in scipy).
 *
 * The same separable kernels serve binary morphology with a cube footprint (`binary.ts`).
 *
 * @example
 * ```ts
 * const opened = greyDilate(alg, greyErode(alg, image, { radius: 1 }), { radius: 1 })
 * ```
 */
import type { Algebra, Repr, Volume } from "../algebra/algebra.js"
import { extensionTable, type BoundaryMode } from "../algebra/boundary.js"
import type { DType, VoxelArray } from "../algebra/dtype.js"
import type { ComputeRows, WindowKernel } from "../algebra/kernel.js"
import type { VolumeInfo } from "../algebra/volume.js"
import { builtInRecipe } from "./internal/kernel-module.js"
import { castOf, constantLine, extendRow, storeLine } from "./internal/lines.js"

type AnyKernel = WindowKernel<DType, DType>

/** Which extreme a running filter keeps. */
export type Extreme = "max" | "min"

interface ExtremeSpec {
  readonly extreme: Extreme
  /** Window of output i: input positions i − before … i + after. */
  readonly before: number
  readonly after: number
  readonly mode: BoundaryMode
  readonly cval: number
  readonly output: DType
  readonly name: string
}

const params = (s: ExtremeSpec) => ({
  extreme: s.extreme,
  size: s.before + s.after + 1,
  mode: s.mode,
  ...(s.mode === "constant" ? { cval: s.cval } : {})
})

/** Running extreme along z: each output voxel from the same voxel of the window's slices. */
export const extremeZKernel = (s: ExtremeSpec): AnyKernel => ({
  name: `${s.name}-z`,
  params: params(s),
  recipe: builtInRecipe("extremeZKernel", [s]),
  halo: { z: { before: s.before, after: s.after }, y: { before: 0, after: 0 }, x: { before: 0, after: 0 } },
  mode: s.mode,
  cval: s.cval,
  output: s.output,
  opsPerVoxel: s.before + s.after + 1,
  scratchBytes: (info) => 8 * info.shape[1] * info.shape[2] * (s.mode === "constant" ? 2 : 1),
  prepare: (info: VolumeInfo) => {
    const depth = info.shape[0]
    const n = info.shape[1] * info.shape[2]
    const acc = new Float64Array(n)
    const outside = s.mode === "constant" ? constantLine(n, s.cval) : new Float64Array(0)
    const cast = castOf(s.output)
    const isMax = s.extreme === "max"
    return {
      compute: (w, out) => {
        for (let t = -s.before; t <= s.after; t++) {
          const zi = w.z + t
          const a: VoxelArray = s.mode === "constant" && (zi < 0 || zi >= depth) ? outside : w.at(t)
          if (t === -s.before) for (let i = 0; i < n; i++) acc[i] = a[i]!
          else if (isMax) {
            for (let i = 0; i < n; i++) {
              const v = a[i]!
              if (v > acc[i]!) acc[i] = v
            }
          } else {
            for (let i = 0; i < n; i++) {
              const v = a[i]!
              if (v < acc[i]!) acc[i] = v
            }
          }
        }
        storeLine(out, 0, acc, n, cast)
      }
    }
  }
})

/** Running extreme along y, in-plane, over whole rows at a time. */
export const extremeYKernel = (s: ExtremeSpec): AnyKernel => ({
  name: `${s.name}-y`,
  params: params(s),
  recipe: builtInRecipe("extremeYKernel", [s]),
  halo: { z: { before: 0, after: 0 }, y: { before: s.before, after: s.after }, x: { before: 0, after: 0 } },
  mode: s.mode,
  cval: s.cval,
  output: s.output,
  opsPerVoxel: s.before + s.after + 1,
  scratchBytes: (info) => 8 * info.shape[2] * 2 + 4 * (info.shape[1] + s.before + s.after),
  prepare: (info: VolumeInfo) => {
    const height = info.shape[1]
    const width = info.shape[2]
    const table = extensionTable(s.mode, height, s.before, s.after)
    const acc = new Float64Array(width)
    const outsideRow = constantLine(width, s.cval)
    const cast = castOf(s.output)
    const isMax = s.extreme === "max"
    const size = s.before + s.after + 1
    const computeRows: ComputeRows = (w, out, start, end) => {
      const slice = w.at(0)
      for (let y = start; y < end; y++) {
        for (let p = 0; p < size; p++) {
          const yi = table[y + p]!
          const a: VoxelArray = yi < 0 ? outsideRow : slice
          const o = yi < 0 ? 0 : yi * width
          if (p === 0) for (let x = 0; x < width; x++) acc[x] = a[o + x]!
          else if (isMax) {
            for (let x = 0; x < width; x++) {
              const v = a[o + x]!
              if (v > acc[x]!) acc[x] = v
            }
          } else {
            for (let x = 0; x < width; x++) {
              const v = a[o + x]!
              if (v < acc[x]!) acc[x] = v
            }
          }
        }
        storeLine(out, y * width, acc, width, cast)
      }
    }
    return { compute: (w, out) => computeRows(w, out, 0, height), computeRows }
  }
})

/**
 * Running maximum of `size` consecutive values of ext[0 … n) into res[0 … n − size] (van Herk /
 * Gil–Werman): ext is cut into blocks of `size`; with prefix maxima g and suffix maxima h inside
 * blocks, the window starting at i is max(h[i], g[i + size − 1]). Three comparisons per value
 * whatever the size.
 */
const runningMax = (ext: Float64Array, n: number, size: number, g: Float64Array, h: Float64Array, res: Float64Array): void => {
  for (let b = 0; b < n; b += size) {
    const e = Math.min(b + size, n)
    let m = ext[b]!
    g[b] = m
    for (let i = b + 1; i < e; i++) {
      const v = ext[i]!
      if (v > m) m = v
      g[i] = m
    }
    m = ext[e - 1]!
    h[e - 1] = m
    for (let i = e - 2; i >= b; i--) {
      const v = ext[i]!
      if (v > m) m = v
      h[i] = m
    }
  }
  for (let i = 0; i + size <= n; i++) {
    const a = h[i]!
    const c = g[i + size - 1]!
    res[i] = a > c ? a : c
  }
}

/** Running minimum, as `runningMax`. */
const runningMin = (ext: Float64Array, n: number, size: number, g: Float64Array, h: Float64Array, res: Float64Array): void => {
  for (let b = 0; b < n; b += size) {
    const e = Math.min(b + size, n)
    let m = ext[b]!
    g[b] = m
    for (let i = b + 1; i < e; i++) {
      const v = ext[i]!
      if (v < m) m = v
      g[i] = m
    }
    m = ext[e - 1]!
    h[e - 1] = m
    for (let i = e - 2; i >= b; i--) {
      const v = ext[i]!
      if (v < m) m = v
      h[i] = m
    }
  }
  for (let i = 0; i + size <= n; i++) {
    const a = h[i]!
    const c = g[i + size - 1]!
    res[i] = a < c ? a : c
  }
}

/** Running extreme along x: each row extended by the boundary mode, then van Herk / Gil–Werman. */
export const extremeXKernel = (s: ExtremeSpec): AnyKernel => ({
  name: `${s.name}-x`,
  params: params(s),
  recipe: builtInRecipe("extremeXKernel", [s]),
  halo: { z: { before: 0, after: 0 }, y: { before: 0, after: 0 }, x: { before: s.before, after: s.after } },
  mode: s.mode,
  cval: s.cval,
  output: s.output,
  opsPerVoxel: 3,
  scratchBytes: (info) => 8 * (4 * info.shape[2] + 3 * (s.before + s.after)) + 4 * (info.shape[2] + s.before + s.after),
  prepare: (info: VolumeInfo) => {
    const height = info.shape[1]
    const width = info.shape[2]
    const size = s.before + s.after + 1
    const table = extensionTable(s.mode, width, s.before, s.after)
    const n = table.length
    const ext = new Float64Array(n)
    const g = new Float64Array(n)
    const h = new Float64Array(n)
    const res = new Float64Array(width)
    const cast = castOf(s.output)
    const running = s.extreme === "max" ? runningMax : runningMin
    const computeRows: ComputeRows = (w, out, start, end) => {
      const slice = w.at(0)
      for (let y = start; y < end; y++) {
        extendRow(ext, slice, y, width, table, s.cval)
        running(ext, n, size, g, h, res)
        storeLine(out, y * width, res, width, cast)
      }
    }
    return { compute: (w, out) => computeRows(w, out, 0, height), computeRows }
  }
})

/**
 * The running extreme over a box of 2·r + 1 voxels per axis (r = [rz, ry, rx]), as three nodes;
 * axes with r = 0 are skipped.
 */
export const boxExtreme = <F extends Repr, D extends DType>(
  alg: Algebra<F>,
  input: Volume<F, D>,
  extreme: Extreme,
  radii: readonly [number, number, number],
  mode: BoundaryMode,
  cval: number,
  name: string
): Volume<F, D> => {
  const output = alg.info(input).dtype
  const makers = [extremeZKernel, extremeYKernel, extremeXKernel] as const
  let current = input as unknown as Volume<F, DType>
  for (let axis = 0; axis < 3; axis++) {
    const r = radii[axis]!
    if (r > 0) current = alg.window(current, makers[axis]!({ extreme, before: r, after: r, mode, cval, output, name }))
  }
  return current as unknown as Volume<F, D>
}

export interface GreyOptions {
  /** Half-width R of the cube (size 2R + 1 per axis), an integer ≥ 0. */
  readonly radius: number
  /** Boundary mode (default "reflect", as scipy). */
  readonly mode?: BoundaryMode
  /** Value outside the volume for mode "constant" (default 0). */
  readonly cval?: number
}

const checkRadius = (op: string, r: number): void => {
  if (!Number.isInteger(r) || r < 0) throw new RangeError(`${op}: radius must be an integer ≥ 0, got ${r}`)
}

/**
 * Grey dilation: the maximum over a (2R+1)³ cube, as scipy.ndimage.grey_dilation(size=2R+1).
 *
 * @example
 * ```ts
 * const brighter = greyDilate(alg, image, { radius: 2 })
 * ```
 */
export const greyDilate = <F extends Repr, D extends DType>(alg: Algebra<F>, input: Volume<F, D>, options: GreyOptions): Volume<F, D> => {
  checkRadius("grey-dilate", options.radius)
  const r = options.radius
  return boxExtreme(alg, input, "max", [r, r, r], options.mode ?? "reflect", options.cval ?? 0, "grey-dilate")
}

/**
 * Grey erosion: the minimum over a (2R+1)³ cube, as scipy.ndimage.grey_erosion(size=2R+1).
 *
 * @example
 * ```ts
 * const darker = greyErode(alg, image, { radius: 1, mode: "nearest" })
 * ```
 */
export const greyErode = <F extends Repr, D extends DType>(alg: Algebra<F>, input: Volume<F, D>, options: GreyOptions): Volume<F, D> => {
  checkRadius("grey-erode", options.radius)
  const r = options.radius
  return boxExtreme(alg, input, "min", [r, r, r], options.mode ?? "reflect", options.cval ?? 0, "grey-erode")
}
