/**
 * Multi-atlas label fusion and overlap: programs against the algebra, so the memory, plan, cost and
 * run interpreters (fused and unfused) all give the same voxels.
 *
 * The inputs are atlases already registered (warped) to a target: n label maps, and for the
 * weighted methods the n warped intensity images and the target image.
 *
 * | op | per voxel |
 * | --- | --- |
 * | `majorityVote` | the label most atlases give; ties go to the smallest label |
 * | `weightedVote` | argmax over l of Σᵢ wᵢ·[Lᵢ = l], wᵢ from the local patch difference between the target and atlas i |
 * | `jointFusion` | the same vote with Wang et al.'s (2013) weights: (M + αI)w = 1, M the atlases' correlated local errors |
 * | `dice` | per-label Dice overlap of two label maps and their mean (a reduction) |
 *
 * Everything is built from `zip`, `map`, the `uniform`/`gaussian` ops and one reducer: there is no
 * kernel of its own, so floating-point operations run in the same order in every interpreter.
 * Expressions are trees (a leaf used twice is cheap, a sub-expression used twice is computed twice),
 * so every quantity used by several later steps is its own pointwise node: the planner keeps it in a
 * ring and computes it once per voxel.
 *
 * @example
 * ```ts
 * const program: Program = (alg) => {
 *   const target = alg.source(t)
 *   const atlases = sources.map((a) => ({ image: alg.source(a.image), labels: alg.source(a.labels) }))
 *   const fused = weightedVote(alg, target, atlases, { radius: 2 })
 *   return { fused: alg.write(fused, sink), overlap: dice(alg, fused, alg.source(truth)) }
 * }
 * ```
 */
import type { Algebra, Repr, Scalar, Volume } from "../algebra/algebra.js"
import { dtypeRange, isFloat, type ArrayOf, type DType } from "../algebra/dtype.js"
import * as E from "../algebra/expr.js"
import type { Reducer } from "../algebra/kernel.js"
import type { VolumeInfo } from "../algebra/volume.js"
import { gaussian } from "./gaussian.js"
import type { IntegerDType } from "./reducers.js"
import { uniform } from "./uniform.js"

/** A patch radius, one for all axes or [z, y, x]. */
export type Radius = number | readonly [z: number, y: number, x: number]

/** One registered atlas: its warped intensity image and its warped label map. */
export interface Atlas<F extends Repr, I extends DType, L extends IntegerDType> {
  readonly image: Volume<F, I>
  readonly labels: Volume<F, L>
}

const sum = (terms: ReadonlyArray<E.Expr>): E.Expr => terms.reduce((a, b) => E.add(a, b))
const maxOf = (terms: ReadonlyArray<E.Expr>): E.Expr => terms.reduce((a, b) => E.max(a, b))
const minOf = (terms: ReadonlyArray<E.Expr>): E.Expr => terms.reduce((a, b) => E.min(a, b))

const labelDtype = (op: string, d: DType): IntegerDType => {
  if (isFloat(d)) throw new RangeError(`${op}: label maps must have an integer dtype, got ${d}`)
  return d as IntegerDType
}

const requireSome = (op: string, n: number): void => {
  if (n < 1) throw new RangeError(`${op}: give at least one atlas`)
}

// ---------------------------------------------------------------------------------------------
// Majority voting

export interface MajorityOptions {
  /** A name for plans and metrics (default "majority"). */
  readonly name?: string
}

/**
 * Majority voting: per voxel, the label that most of the n label maps give. A tie goes to the
 * smallest of the tied labels, as `np.argmax(np.bincount(votes))` does.
 *
 * One zip computes, for each atlas i, the score cᵢ·K + (hi − Lᵢ), where cᵢ is how many maps agree
 * with map i (n² comparisons), hi the dtype's largest value and K the size of its range; the
 * largest score is the most votes and, among equals, the smallest label. A map decodes the label
 * from it. Scores stay exact in float64 for n·K < 2⁵³ (any n for 16-bit labels). All maps must
 * share one integer dtype; the output has it.
 *
 * @example
 * ```ts
 * const fused = majorityVote(alg, [l1, l2, l3])   // uint8 maps → uint8
 * ```
 */
export const majorityVote = <F extends Repr, L extends IntegerDType>(
  alg: Algebra<F>,
  labels: ReadonlyArray<Volume<F, L>>,
  options: MajorityOptions = {}
): Volume<F, L> => {
  requireSome("majorityVote", labels.length)
  const dtype = labelDtype("majorityVote", alg.info<L>(labels[0]!).dtype)
  const [lo, hi] = dtypeRange(dtype)
  const K = hi - lo + 1
  const n = labels.length
  if ((n + 1) * K >= 2 ** 53) throw new RangeError(`majorityVote: ${n} maps of ${dtype} are too many for exact scores`)
  const name = options.name ?? "majority"
  const score = alg.zip<L, "float64">(
    labels,
    (...l) => {
      const scores = l.map((li, i) => {
        const agree = l.filter((_, j) => j !== i).map((lj) => E.eq(lj, li))
        const count = agree.length === 0 ? E.constant(1) : E.add(1, sum(agree))
        return E.add(E.mul(count, K), E.sub(hi, li))
      })
      return maxOf(scores)
    },
    { dtype: "float64", name: `${name}-score` }
  )
  // label = hi − (S mod K), with S mod K = S − ⌊S / K⌋·K.
  return alg.map<"float64", L>(score, (s) => E.sub(hi, E.sub(s, E.mul(E.floor(E.div(s, K)), K))), { dtype: dtype as L, name })
}

// ---------------------------------------------------------------------------------------------
// The weighted vote shared by weighted voting and joint fusion

/**
 * argmax over labels of Σⱼ wⱼ·[Lⱼ = l], ties to the smallest label. Vᵢ = Σⱼ wⱼ·[Lⱼ = Lᵢ] is summed
 * in the order j = 1…n for every i, so atlases with the same label get bit-identical votes and a
 * tie between different labels is an exact one.
 */
const voteByWeights = <F extends Repr, L extends IntegerDType>(
  alg: Algebra<F>,
  weights: ReadonlyArray<Volume<F, "float64">>,
  labels: ReadonlyArray<Volume<F, L>>,
  dtype: L,
  name: string
): Volume<F, L> => {
  const n = labels.length
  const asFloat = labels.map((l, i) => alg.map<L, "float64">(l, (x) => x, { dtype: "float64", name: `${name}-label${i + 1}` }))
  const votes = asFloat.map((_, i) =>
    alg.zip<"float64", "float64">(
      [...weights, ...asFloat],
      (...x) => sum(x.slice(0, n).map((w, j) => E.select(E.eq(x[n + j]!, x[n + i]!), w, 0))),
      { dtype: "float64", name: `${name}-vote${i + 1}` }
    )
  )
  const best = alg.zip<"float64", "float64">(votes, (...v) => maxOf(v), { dtype: "float64", name: `${name}-best` })
  return alg.zip<"float64", L>(
    [...votes, best, ...asFloat],
    (...x) => minOf(x.slice(0, n).map((v, i) => E.select(E.ge(v, x[n]!), x[n + 1 + i]!, Infinity))),
    { dtype, name }
  )
}

/** Local mean of `volume` over the patch: a box of side 2r + 1, or a Gaussian of σ = r/2 cut at r. */
const patchMean = <F extends Repr>(
  alg: Algebra<F>,
  volume: Volume<F, "float64">,
  radius: readonly [number, number, number],
  patch: "box" | "gaussian"
): Volume<F, "float64"> =>
  patch === "box"
    ? uniform(alg, volume, { size: [2 * radius[0] + 1, 2 * radius[1] + 1, 2 * radius[2] + 1] })
    : gaussian(alg, volume, { sigma: [radius[0] / 2, radius[1] / 2, radius[2] / 2], truncate: 2 })

const radii = (op: string, r: Radius): readonly [number, number, number] => {
  const rs = typeof r === "number" ? ([r, r, r] as const) : r
  for (const v of rs) if (!Number.isInteger(v) || v < 0) throw new RangeError(`${op}: radius must be an integer ≥ 0, got ${v}`)
  return rs
}

/** The atlas images in the target's dtype (cast to float64 when they differ), for zips with it. */
const pairs = <F extends Repr, T extends DType, I extends DType>(
  alg: Algebra<F>,
  target: Volume<F, T>,
  images: ReadonlyArray<Volume<F, I>>,
  name: string
): { readonly target: Volume<F, DType>; readonly images: ReadonlyArray<Volume<F, DType>> } => {
  const td = alg.info(target).dtype as DType
  if (images.every((im) => (alg.info(im).dtype as DType) === td)) {
    return { target: target as Volume<F, DType>, images: images as ReadonlyArray<Volume<F, DType>> }
  }
  const f64 = <D extends DType>(v: Volume<F, D>, what: string) => alg.map<D, "float64">(v, (x) => x, { dtype: "float64", name: `${name}-${what}` })
  return {
    target: f64(target, "target") as Volume<F, DType>,
    images: images.map((im, i) => f64(im, `image${i + 1}`) as Volume<F, DType>)
  }
}

const checkAtlases = <F extends Repr, I extends DType, L extends IntegerDType>(
  op: string,
  alg: Algebra<F>,
  atlases: ReadonlyArray<Atlas<F, I, L>>
): L => {
  requireSome(op, atlases.length)
  const dtype = labelDtype(op, alg.info(atlases[0]!.labels).dtype)
  return dtype as L
}

// ---------------------------------------------------------------------------------------------
// Locally weighted voting

export interface WeightedVoteOptions {
  /** Patch radius in voxels (default 2: a 5×5×5 patch). */
  readonly radius?: Radius
  /** How the squared differences are averaged over the patch: "box" (default) or "gaussian" (σ = r/2). */
  readonly patch?: "box" | "gaussian"
  /**
   * "gaussian" (default): wᵢ = exp(−Dᵢ / h), h = β·minⱼ Dⱼ + ε (Coupé et al. 2011: h follows the
   * best local match, so the weights adapt to how well the atlases fit at each voxel).
   * "inverse-distance": wᵢ = (Dᵢ + ε)^(−p) (Artaechevarria et al. 2009).
   * Dᵢ is the patch mean of (T − Aᵢ)².
   */
  readonly weighting?: "gaussian" | "inverse-distance"
  /** Gaussian weighting: h = β·min D + ε (default β = 1). */
  readonly beta?: number
  /** Inverse-distance weighting: the power p (default 2). */
  readonly power?: number
  /** Keeps h and Dᵢ + ε above 0, in squared intensity units (default 1e-6). */
  readonly epsilon?: number
  readonly name?: string
}

/**
 * Locally weighted voting: each atlas votes for its label with a weight from how well its warped
 * intensity patch matches the target's (see `WeightedVoteOptions` for the formulas and defaults).
 * The fused label is argmax over l of Σᵢ wᵢ·[Lᵢ = l], ties to the smallest label. Images may have
 * any dtype (cast to float64 when they differ from the target's); label maps share one integer
 * dtype, which the output has.
 *
 * @example
 * ```ts
 * const fused = weightedVote(alg, target, atlases, { radius: 2, weighting: "gaussian" })
 * ```
 */
export const weightedVote = <F extends Repr, T extends DType, I extends DType, L extends IntegerDType>(
  alg: Algebra<F>,
  target: Volume<F, T>,
  atlases: ReadonlyArray<Atlas<F, I, L>>,
  options: WeightedVoteOptions = {}
): Volume<F, L> => {
  const dtype = checkAtlases("weightedVote", alg, atlases)
  const radius = radii("weightedVote", options.radius ?? 2)
  const weighting = options.weighting ?? "gaussian"
  const beta = options.beta ?? 1
  const power = options.power ?? 2
  const epsilon = options.epsilon ?? 1e-6
  if (!(beta > 0) || !(power > 0) || !(epsilon > 0)) throw new RangeError("weightedVote: beta, power and epsilon must be > 0")
  const name = options.name ?? "weighted"
  const p = pairs(alg, target, atlases.map((a) => a.image), name)
  const distances = p.images.map((im, i) =>
    patchMean(
      alg,
      alg.zip<DType, "float64">([p.target, im], (t, a) => E.mul(E.sub(t!, a!), E.sub(t!, a!)), { dtype: "float64", name: `${name}-sq${i + 1}` }),
      radius,
      options.patch ?? "box"
    )
  )
  let weights: ReadonlyArray<Volume<F, "float64">>
  if (weighting === "gaussian") {
    const h = alg.zip<"float64", "float64">(distances, (...d) => E.add(E.mul(beta, minOf(d)), epsilon), { dtype: "float64", name: `${name}-h` })
    weights = distances.map((d, i) =>
      alg.zip<"float64", "float64">([d, h], (di, hi) => E.exp(E.neg(E.div(di!, hi!))), { dtype: "float64", name: `${name}-w${i + 1}` })
    )
  } else {
    weights = distances.map((d, i) =>
      alg.map<"float64", "float64">(d, (di) => E.pow(E.add(di, epsilon), -power), { dtype: "float64", name: `${name}-w${i + 1}` })
    )
  }
  return voteByWeights(alg, weights, atlases.map((a) => a.labels), dtype, name)
}

// ---------------------------------------------------------------------------------------------
// Joint label fusion

export interface JointFusionOptions {
  /** Patch radius in voxels (default 2). */
  readonly radius?: Radius
  /** "box" (default) or "gaussian" (σ = r/2) averaging of the error products over the patch. */
  readonly patch?: "box" | "gaussian"
  /**
   * Ridge α, relative to the mean of M's diagonal at the voxel (default 0.1): (M + (α·tr(M)/n + ε)I)w = 1.
   * Relative, so that the weights do not depend on the intensity scale.
   */
  readonly alpha?: number
  /** β: M is the patch mean of (|T − Aᵢ|·|T − Aⱼ|)^β (default 2, as Wang et al.). */
  readonly exponent?: number
  /** Keeps the system regular where every atlas matches exactly (default 1e-12). */
  readonly epsilon?: number
  readonly name?: string
}

/**
 * Joint label fusion (Wang et al., PAMI 2013): the atlases' weights minimise their expected joint
 * error, wᵢ ∝ ((M + αI)⁻¹ 1)ᵢ with Mᵢⱼ the patch mean of (|T − Aᵢ|·|T − Aⱼ|)^β, so atlases that make
 * the same mistakes share one vote instead of outvoting the rest. Then the weighted vote as in
 * `weightedVote` (weights may be negative).
 *
 * Cost: n(n+1)/2 error products, each smoothed (n(n+1)/2 patch filters), then Gaussian
 * elimination per voxel without pivoting (M + αI is symmetric positive definite), one pointwise
 * node per matrix entry per step: about n³/6 + n²/2 nodes. For n = 6: 21 filters and ~100
 * pointwise nodes; the planner fuses the single-use ones.
 *
 * @example
 * ```ts
 * const fused = jointFusion(alg, target, atlases, { radius: 2, alpha: 0.1, exponent: 2 })
 * ```
 */
export const jointFusion = <F extends Repr, T extends DType, I extends DType, L extends IntegerDType>(
  alg: Algebra<F>,
  target: Volume<F, T>,
  atlases: ReadonlyArray<Atlas<F, I, L>>,
  options: JointFusionOptions = {}
): Volume<F, L> => {
  const dtype = checkAtlases("jointFusion", alg, atlases)
  const radius = radii("jointFusion", options.radius ?? 2)
  const alpha = options.alpha ?? 0.1
  const exponent = options.exponent ?? 2
  const epsilon = options.epsilon ?? 1e-12
  if (!(alpha >= 0) || !(exponent > 0) || !(epsilon > 0)) throw new RangeError("jointFusion: alpha ≥ 0, exponent > 0 and epsilon > 0 required")
  const name = options.name ?? "joint"
  const n = atlases.length
  const p = pairs(alg, target, atlases.map((a) => a.image), name)
  const f64 = (inputs: ReadonlyArray<Volume<F, "float64">>, f: (...x: ReadonlyArray<E.Expr>) => E.Expr, what: string) =>
    alg.zip<"float64", "float64">(inputs, f, { dtype: "float64", name: `${name}-${what}` })
  const errors = p.images.map((im, i) =>
    alg.zip<DType, "float64">([p.target, im], (t, a) => E.abs(E.sub(t!, a!)), { dtype: "float64", name: `${name}-err${i + 1}` })
  )
  // m[i][j], j ≥ i: the upper triangle of the symmetric matrix, entry by entry.
  const m: Array<Array<Volume<F, "float64">>> = errors.map(() => [])
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      const product =
        exponent === 1
          ? f64([errors[i]!, errors[j]!], (a, b) => E.mul(a!, b!), `m${i + 1}${j + 1}`)
          : f64([errors[i]!, errors[j]!], (a, b) => E.pow(E.mul(a!, b!), exponent), `m${i + 1}${j + 1}`)
      m[i]![j] = patchMean(alg, product, radius, options.patch ?? "box")
    }
  }
  const ridge = f64(m.map((row, i) => row[i]!), (...d) => E.add(E.mul(alpha / n, sum(d)), epsilon), "ridge")
  for (let i = 0; i < n; i++) m[i]![i] = f64([m[i]![i]!, ridge], (d, r) => E.add(d!, r!), `a${i + 1}${i + 1}`)
  // Forward elimination on (A | b), b = 1: row i −= (a_ki / a_kk)·row k for i > k.
  const b: Array<Volume<F, "float64"> | 1> = Array.from({ length: n }, () => 1 as const)
  for (let k = 0; k < n - 1; k++) {
    const akk = m[k]![k]!
    for (let i = k + 1; i < n; i++) {
      const aki = m[k]![i]!
      for (let j = i; j < n; j++) {
        m[i]![j] = f64([m[i]![j]!, aki, m[k]![j]!, akk], (aij, ki, kj, kk) => E.sub(aij!, E.div(E.mul(ki!, kj!), kk!)), `e${k + 1}-${i + 1}${j + 1}`)
      }
      const bi = b[i]!
      const bk = b[k]!
      const rhs = [...(bi === 1 ? [] : [bi]), aki, ...(bk === 1 ? [] : [bk]), akk]
      b[i] = f64(
        rhs,
        (...x) => {
          let t = 0
          const vbi = bi === 1 ? E.constant(1) : x[t++]!
          const vki = x[t++]!
          const vbk = bk === 1 ? E.constant(1) : x[t++]!
          const vkk = x[t]!
          return E.sub(vbi, E.div(E.mul(vki, vbk), vkk))
        },
        `b${k + 1}-${i + 1}`
      )
    }
  }
  // Back substitution: x_k = (b_k − Σ_{j>k} a_kj x_j) / a_kk.
  const x: Array<Volume<F, "float64">> = []
  for (let k = n - 1; k >= 0; k--) {
    const later = Array.from({ length: n - 1 - k }, (_, t) => k + 1 + t)
    const bk = b[k]!
    const inputs = [...(bk === 1 ? [] : [bk]), m[k]![k]!, ...later.flatMap((j) => [m[k]![j]!, x[j]!])]
    x[k] = f64(
      inputs,
      (...v) => {
        let t = 0
        const vb = bk === 1 ? E.constant(1) : v[t++]!
        const akk = v[t++]!
        const terms = later.map(() => E.mul(v[t++]!, v[t++]!))
        return E.div(terms.length === 0 ? vb : E.sub(vb, sum(terms)), akk)
      },
      `x${k + 1}`
    )
  }
  const total = f64(x, (...v) => sum(v), "sum")
  const weights = x.map((xi, i) => f64([xi, total], (a, s) => E.div(a!, s!), `w${i + 1}`))
  return voteByWeights(alg, weights, atlases.map((a) => a.labels), dtype, name)
}

// ---------------------------------------------------------------------------------------------
// Dice overlap

/** Per-label Dice overlap of two label maps. */
export interface DiceResult {
  /** The labels present in either map, background 0 excluded, ascending. */
  readonly labels: ReadonlyArray<number>
  /** dice[k] = 2·|A = l ∧ B = l| / (|A = l| + |B = l|) for l = labels[k]. */
  readonly dice: ReadonlyArray<number>
  /** Voxels of each label in the first map, and in the second. */
  readonly countA: ReadonlyArray<number>
  readonly countB: ReadonlyArray<number>
  /** The unweighted mean of `dice` over `labels` (NaN when neither map has a label other than 0). */
  readonly mean: number
  /** Voxels where either map holds a value outside 0 … 65535 (not counted in any label). */
  readonly outOfRange: number
}

/** Labels a Dice reduction counts: 0 … 65535. */
const DICE_K = 65536

/** Counts per label of the pair code a·65536 + b (−1: a value out of range), into Dice per label. */
const diceCounts = (): Reducer<"float64", DiceResult> => ({
  name: "dice",
  params: {},
  opsPerVoxel: 6,
  start: (_info: VolumeInfo<"float64">) => {
    const countA = new Float64Array(DICE_K)
    const countB = new Float64Array(DICE_K)
    const both = new Float64Array(DICE_K)
    let outOfRange = 0
    return {
      add: (slice: ArrayOf<"float64">) => {
        for (let i = 0; i < slice.length; i++) {
          const code = slice[i]!
          if (code < 0) {
            outOfRange++
            continue
          }
          const a = Math.floor(code / DICE_K)
          const b = code - a * DICE_K
          countA[a]++
          countB[b]++
          if (a === b) both[a]++
        }
      },
      result: () => {
        const labels: Array<number> = []
        const dice: Array<number> = []
        const ca: Array<number> = []
        const cb: Array<number> = []
        let total = 0
        for (let l = 1; l < DICE_K; l++) {
          if (countA[l] === 0 && countB[l] === 0) continue
          const d = (2 * both[l]!) / (countA[l]! + countB[l]!)
          labels.push(l)
          dice.push(d)
          ca.push(countA[l]!)
          cb.push(countB[l]!)
          total += d
        }
        return { labels, dice, countA: ca, countB: cb, mean: labels.length === 0 ? NaN : total / labels.length, outOfRange }
      }
    }
  }
})

/**
 * Dice overlap of two label maps of the same shape, per label and on average: for each label l
 * present in either map except the background 0, 2·|A = l ∧ B = l| / (|A = l| + |B = l|) (0 when l
 * is in one map only). The mean is the unweighted mean over those labels. Labels 0 … 65535 of any
 * integer dtype; voxels outside that range are counted in `outOfRange` instead.
 *
 * One zip pairs the maps (a·65536 + b, float64) and one reduction counts; counts are exact, so
 * every interpreter gives the same result.
 *
 * @example
 * ```ts
 * const overlap = dice(alg, fused, truth)
 * const mean = alg.derive(overlap, (d) => d.mean, "mean-dice")
 * ```
 */
export const dice = <F extends Repr, A extends IntegerDType, B extends IntegerDType>(
  alg: Algebra<F>,
  a: Volume<F, A>,
  b: Volume<F, B>
): Scalar<F, DiceResult> => {
  labelDtype("dice", alg.info(a).dtype)
  labelDtype("dice", alg.info(b).dtype)
  const same = (alg.info(a).dtype as DType) === (alg.info(b).dtype as DType)
  const left = (same ? a : alg.map<A, "float64">(a, (x) => x, { dtype: "float64", name: "dice-a" })) as Volume<F, DType>
  const right = (same ? b : alg.map<B, "float64">(b, (x) => x, { dtype: "float64", name: "dice-b" })) as Volume<F, DType>
  const outside = (v: E.Expr) => E.or(E.lt(v, 0), E.gt(v, DICE_K - 1))
  const code = alg.zip<DType, "float64">(
    [left, right],
    (x, y) => E.select(E.or(outside(x!), outside(y!)), -1, E.add(E.mul(x!, DICE_K), y!)),
    { dtype: "float64", name: "dice-pairs" }
  )
  return alg.reduce(code, diceCounts())
}
