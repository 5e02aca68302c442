/**
 * Gaussian smoothing as scipy.ndimage.gaussian_filter: per axis (z, then y, then x) a correlate1d
 * with the weights of scipy's `_gaussian_kernel1d`, each axis's result stored in the output dtype.
 *
 * The weights are computed as numpy does — exp(−0.5/σ² · x²) for x = −r … r with r =
 * int(truncate·σ + 0.5), divided by their sum taken with numpy's pairwise summation — and the
 * correlation runs in scipy's order (see `correlate.ts`). The one thing not reproduced is numpy's
 * `exp`, which differs between builds (glibc, or a SIMD version on AVX-512 machines); V8's
 * `Math.exp` may differ from it in the last bit of a weight. With numpy's weights (the `weights`
 * export below accepts them) results are bit-identical; with ours, float outputs can differ by an
 * ulp and integer outputs only where scipy's sum lands within ~1e-15 of an integer.
 *
 * @example
 * ```ts
 * const smooth = gaussian(alg, image, { sigma: 1.5 })                 // same dtype as image
 * const aniso = gaussian(alg, image, { sigma: [0.5, 2, 2], truncate: 3, mode: "nearest" })
 * const f = gaussian(alg, image, { sigma: 1, dtype: "float32" })       // scipy's output=np.float32
 * ```
 */
import type { Algebra, Repr, Volume } from "../algebra/algebra.js"
import type { BoundaryMode } from "../algebra/boundary.js"
import type { DType } from "../algebra/dtype.js"
import { correlate } from "./correlate.js"

/**
 * numpy's pairwise summation of float64 values (`np.sum` of a contiguous array): a plain loop below
 * 8 values, 8 interleaved accumulators up to 128, and halves (rounded to a multiple of 8) above.
 *
 * @example
 * ```ts
 * pairwiseSum(Float64Array.of(0.1, 0.2, 0.3))   // 0.6000000000000001, as np.sum
 * ```
 */
export const pairwiseSum = (a: Float64Array, start = 0, n = a.length - start): number => {
  if (n < 8) {
    let res = 0
    for (let i = 0; i < n; i++) res += a[start + i]!
    return res
  }
  if (n <= 128) {
    const r = new Float64Array(8)
    for (let j = 0; j < 8; j++) r[j] = a[start + j]!
    let i = 8
    for (; i < n - (n % 8); i += 8) for (let j = 0; j < 8; j++) r[j] += a[start + i + j]!
    let res = r[0]! + r[1]! + (r[2]! + r[3]!) + (r[4]! + r[5]! + (r[6]! + r[7]!))
    for (; i < n; i++) res += a[start + i]!
    return res
  }
  let n2 = Math.floor(n / 2)
  n2 -= n2 % 8
  return pairwiseSum(a, start, n2) + pairwiseSum(a, start + n2, n - n2)
}

/** scipy's radius for a Gaussian of standard deviation `sigma`: int(truncate · sigma + 0.5). */
export const gaussianRadius = (sigma: number, truncate = 4): number => Math.trunc(truncate * sigma + 0.5)

/**
 * The 2r + 1 normalised weights of scipy's `_gaussian_kernel1d(sigma, 0, r)`.
 *
 * @example
 * ```ts
 * gaussianWeights(1)   // 9 weights (r = 4), symmetric, summing to 1 within an ulp
 * ```
 */
export const gaussianWeights = (sigma: number, truncate = 4): Float64Array => {
  if (!(sigma > 0) || !Number.isFinite(sigma)) throw new RangeError(`gaussian: sigma must be a positive number, got ${sigma}`)
  if (!(truncate >= 0) || !Number.isFinite(truncate)) throw new RangeError(`gaussian: truncate must be ≥ 0, got ${truncate}`)
  const r = gaussianRadius(sigma, truncate)
  const phi = new Float64Array(2 * r + 1)
  // numpy evaluates (-0.5 / sigma2) first, then multiplies by the integer x² converted to float64.
  const c = -0.5 / (sigma * sigma)
  for (let i = 0; i < phi.length; i++) {
    const x = i - r
    phi[i] = Math.exp(c * (x * x))
  }
  const sum = pairwiseSum(phi)
  for (let i = 0; i < phi.length; i++) phi[i] = phi[i]! / sum
  return phi
}

export type PerAxis = number | readonly [z: number, y: number, x: number]

export interface GaussianOptions<E extends DType> {
  /** Standard deviation in voxels, one for all axes or [z, y, x]; an axis with σ ≤ 1e-15 is skipped. */
  readonly sigma: PerAxis
  /** Radius in standard deviations (default 4, as scipy). */
  readonly truncate?: number
  /** Boundary mode (default "reflect", as scipy). */
  readonly mode?: BoundaryMode
  /** Value outside the volume for mode "constant" (default 0). */
  readonly cval?: number
  /** Output dtype, also used between axes (default: the input's). */
  readonly dtype?: E
}

/** Three values per axis from a number or a triple. */
export const perAxis = (v: PerAxis): readonly [number, number, number] => (typeof v === "number" ? [v, v, v] : v)

/**
 * Gaussian smoothing, voxel for voxel as scipy.ndimage.gaussian_filter(input, sigma, mode=…,
 * cval=…, truncate=…) (up to the last bit of exp, see the module comment).
 *
 * @example
 * ```ts
 * const out = gaussian(alg, alg.source(src), { sigma: 1 })
 * ```
 */
export const gaussian = <F extends Repr, D extends DType, E extends DType = D>(
  alg: Algebra<F>,
  input: Volume<F, D>,
  options: GaussianOptions<E>
): Volume<F, E> => {
  const sigmas = perAxis(options.sigma)
  const truncate = options.truncate ?? 4
  for (const s of sigmas) {
    if (!(s >= 0) || !Number.isFinite(s)) throw new RangeError(`gaussian: sigma must be ≥ 0, got ${s}`)
  }
  const weightsOf = (s: number): Float64Array | undefined => (s > 1e-15 ? gaussianWeights(s, truncate) : undefined)
  return correlate<F, D, E>(alg, input, {
    z: weightsOf(sigmas[0]),
    y: weightsOf(sigmas[1]),
    x: weightsOf(sigmas[2]),
    mode: options.mode ?? "reflect",
    cval: options.cval ?? 0,
    ...(options.dtype === undefined ? {} : { dtype: options.dtype }),
    name: "gaussian",
    params: { sigma: [...sigmas], truncate }
  })
}
