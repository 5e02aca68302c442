/**
 * Pointwise ops, as `alg.map` expressions (no kernels), so that planners can fuse them with their
 * neighbours into one loop.
 *
 * @example
 * ```ts
 * const bytes = cast(alg, image, "uint8")                        // truncate, saturate
 * const mask = threshold(alg, image, { min: 128 })                // 1 where v ≥ 128
 * const band = threshold(alg, image, { min: 100, max: 200 })      // 1 where 100 ≤ v ≤ 200
 * const scaled = linear(alg, image, { scale: 1 / 16, dtype: "uint8" })
 * ```
 */
import type { Algebra, Repr, Volume } from "../algebra/algebra.js"
import type { DType } from "../algebra/dtype.js"
import * as E from "../algebra/expr.js"

/**
 * The volume stored as dtype `dtype` with the cast rule (floats round to nearest; integers truncate
 * toward zero and saturate; NaN becomes 0).
 *
 * @example
 * ```ts
 * const f = cast(alg, image, "float32")
 * ```
 */
export const cast = <F extends Repr, D extends DType, E2 extends DType>(
  alg: Algebra<F>,
  input: Volume<F, D>,
  dtype: E2
): Volume<F, E2> => alg.map<D, E2>(input, (x) => x, { dtype, name: `cast:${dtype}` })

export interface ThresholdOptions {
  /** Lowest value that counts (inclusive). */
  readonly min: number
  /** Highest value that counts (inclusive); none when omitted. */
  readonly max?: number
}

/**
 * A uint8 mask: 1 where min ≤ v (and v ≤ max, when given), else 0. Both bounds are inclusive, so
 * `threshold:min=128` on uint8 keeps 128 … 255, as `v >= 128` does. NaN is never inside.
 *
 * @example
 * ```ts
 * const mask = threshold(alg, image, { min: 0.5, max: 2 })
 * ```
 */
export const threshold = <F extends Repr, D extends DType>(
  alg: Algebra<F>,
  input: Volume<F, D>,
  options: ThresholdOptions
): Volume<F, "uint8"> => {
  const { min, max } = options
  if (Number.isNaN(min) || (max !== undefined && Number.isNaN(max))) throw new RangeError("threshold: bounds must be numbers")
  return alg.map<D, "uint8">(input, (x) => (max === undefined ? E.ge(x, min) : E.and(E.ge(x, min), E.le(x, max))), {
    dtype: "uint8",
    name: max === undefined ? `threshold:${min}` : `threshold:${min}..${max}`
  })
}

/**
 * A uint8 mask of the non-zero voxels (1 where v ≠ 0; NaN counts as non-zero, as in numpy's bool()).
 *
 * @example
 * ```ts
 * const fg = binarize(alg, labels)
 * ```
 */
export const binarize = <F extends Repr, D extends DType>(alg: Algebra<F>, input: Volume<F, D>): Volume<F, "uint8"> =>
  alg.map<D, "uint8">(input, (x) => E.ne(x, 0), { dtype: "uint8", name: "binarize" })

export interface LinearOptions<E2 extends DType> {
  /** Multiplier (default 1). */
  readonly scale?: number
  /** Added after scaling (default 0). */
  readonly offset?: number
  /** Output dtype (default: the input's); the result is stored with the cast rule. */
  readonly dtype?: E2
}

/**
 * v · scale + offset, computed in float64 and stored with the cast rule.
 *
 * @example
 * ```ts
 * const hu = linear(alg, ct, { scale: 1, offset: -1024, dtype: "int16" })
 * ```
 */
export const linear = <F extends Repr, D extends DType, E2 extends DType = D>(
  alg: Algebra<F>,
  input: Volume<F, D>,
  options: LinearOptions<E2>
): Volume<F, E2> => {
  const scale = options.scale ?? 1
  const offset = options.offset ?? 0
  return alg.map<D, E2>(input, (x) => E.add(E.mul(x, scale), offset), {
    ...(options.dtype === undefined ? {} : { dtype: options.dtype }),
    name: "linear"
  })
}

export interface ClampOptions {
  readonly min?: number
  readonly max?: number
}

/**
 * Values limited to [min, max] (either bound optional), in the input's dtype.
 *
 * @example
 * ```ts
 * const window = clamp(alg, ct, { min: -200, max: 400 })
 * ```
 */
export const clamp = <F extends Repr, D extends DType>(alg: Algebra<F>, input: Volume<F, D>, options: ClampOptions): Volume<F, D> =>
  alg.map<D, D>(
    input,
    (x) => {
      let e = x
      if (options.max !== undefined) e = E.min(e, options.max)
      if (options.min !== undefined) e = E.max(e, options.min)
      return e
    },
    { name: "clamp" }
  )
