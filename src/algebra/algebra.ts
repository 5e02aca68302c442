/**
 * The algebra of slice streams, in tagless-final style: a program is a function of an `Algebra<F>`
 * for any interpreter `F`, so the same program can be evaluated in memory, planned, costed and run.
 *
 * `F` is a type-level function (an interface with `this`-typed members, as `effect/HKT` does) from a
 * dtype to the interpreter's representation of a volume, and from a value type to its
 * representation of a scalar. Volumes carry their dtype in their type: `zip` of a uint8 and a
 * float32 volume does not compile.
 *
 * @example
 * ```ts
 * import { Expr as E, gaussian, stats, type Program } from "slicewise"
 * // Smooth, then keep the voxels brighter than the mean.
 * const program: Program = (alg) => {
 *   const image = alg.source(src)                       // Volume<F, "uint16">
 *   const smooth = gaussian(alg, image, { sigma: 1 })   // an op from src/ops
 *   const mean = alg.derive(alg.reduce(smooth, stats()), (s) => s.mean, "mean")
 *   const mask = alg.map(smooth, (x) => E.gt(x, alg.scalar(mean)), { dtype: "uint8" })
 *   return { mask: alg.write(mask, sink) }
 * }
 * ```
 */
import type { DType } from "./dtype.js"
import type { Expr } from "./expr.js"
import type { Direction, Reducer, WindowKernel } from "./kernel.js"
import type { VolumeInfo } from "./volume.js"
import type { SliceSink, SliceSource } from "./slices.js"

/** An interpreter's representations, as a type-level function of `D` (dtype) and `A` (scalar type). */
export interface Repr {
  readonly D: DType
  readonly A: unknown
  readonly volume: unknown
  readonly scalar: unknown
  readonly written: unknown
}

/**
 * Interpreter F's representation of a volume of dtype D. The conditional form (as in `effect/HKT`)
 * keeps D invariant inside generic programs, where F is still unknown.
 */
export type Volume<F extends Repr, D extends DType> = F extends { readonly volume: unknown }
  ? (F & { readonly D: D })["volume"]
  : { readonly F: F; readonly D: (_: D) => D }

/** Interpreter F's representation of a scalar of type A (the result of a reduction). */
export type Scalar<F extends Repr, A> = F extends { readonly scalar: unknown }
  ? (F & { readonly A: A })["scalar"]
  : { readonly F: F; readonly A: (_: A) => A }

/** Interpreter F's representation of a volume written to a sink. */
export type Written<F extends Repr> = F["written"]

export interface PointwiseOptions<E extends DType> {
  /** Output dtype; the value of the expression is stored with the cast rule. Default: the input's. */
  readonly dtype?: E
  /** A name for plans and metrics. */
  readonly name?: string
}

export interface Algebra<F extends Repr> {
  /** Which interpreter this is ("memory", "plan" …), for messages. */
  readonly interpreter: string

  /**
   * The dtype, shape and spacing of a volume, known while the program is built (before any voxel
   * is read): ops use it to type their kernels' outputs.
   */
  info<D extends DType>(volume: Volume<F, D>): VolumeInfo<D>

  /** A volume read from a source (a file, a stack, an array). */
  source<D extends DType>(source: SliceSource<D>): Volume<F, D>

  /** A pointwise function of one volume: `f` builds an expression of the input voxel. */
  map<D extends DType, E extends DType = D>(
    input: Volume<F, D>,
    f: (x: Expr) => Expr,
    options?: PointwiseOptions<E>
  ): Volume<F, E>

  /**
   * A pointwise function of several volumes of the same dtype and shape (a shape mismatch fails at
   * plan time, naming both sides). `f` receives one expression per input.
   */
  zip<D extends DType, E extends DType = D>(
    inputs: ReadonlyArray<Volume<F, D>>,
    f: (...xs: ReadonlyArray<Expr>) => Expr,
    options?: PointwiseOptions<E>
  ): Volume<F, E>

  /** A neighbourhood operation: output slice z from input slices z - before … z + after. */
  window<D extends DType, E extends DType>(input: Volume<F, D>, kernel: WindowKernel<D, E>): Volume<F, E>

  /** A stateful pass along z: like `window`, but the kernel keeps state and sees slices in order. */
  sweep<D extends DType, E extends DType>(
    input: Volume<F, D>,
    kernel: WindowKernel<D, E>,
    direction: Direction
  ): Volume<F, E>

  /** A fold over all voxels to a scalar. A later use of the scalar starts a new pass. */
  reduce<D extends DType, A>(input: Volume<F, D>, reducer: Reducer<D, A>): Scalar<F, A>

  /** A pure function of a scalar (e.g. a histogram to its Otsu threshold). */
  derive<A, B>(scalar: Scalar<F, A>, f: (a: A) => B, name: string): Scalar<F, B>

  /** A numeric scalar as a leaf of a pointwise expression. */
  scalar(scalar: Scalar<F, number>): Expr

  /**
   * `table[trunc(index)]` in a pointwise expression, for a table scalar (0 outside the table):
   * relabelling, intensity maps.
   */
  lookup<T extends ArrayLike<number>>(table: Scalar<F, T>, index: Expr | number): Expr

  /** Writes a volume to a sink. */
  write<D extends DType>(input: Volume<F, D>, sink: SliceSink): Written<F>
}

/** What a program may return: volumes, scalars and written sinks, in a record. */
export type Outputs<F extends Repr> = Readonly<Record<string, Volume<F, DType> | Scalar<F, unknown> | Written<F>>>

/** A pipeline written once against the algebra. */
export type Program = <F extends Repr>(alg: Algebra<F>) => Outputs<F>
