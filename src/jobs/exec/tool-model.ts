/**
 * A memory model of an external tool for one parameter set, fitted from measured peaks:
 *
 *   peak RSS ≈ baseBytes + bytesPerVoxel · voxels (+ bytesPerThread · threads)
 *
 * by least squares over (voxels, threads, peakBytes) samples. The thread term is kept only when
 * the samples show one (below); a prediction adds a margin and never goes below a peak already
 * measured on a run of the same size or smaller. Pure functions: the store (./tool-model-store.ts) keeps the
 * samples, `slicewise calibrate-tool` and finished jobs add to them.
 *
 * @example
 * ```ts
 * const model = fitModel([{ voxels: 65536, threads: 1, peakBytes: 54e6 }, { voxels: 524288, threads: 1, peakBytes: 75e6 }])
 * predictPeak(model!, 2 * 181 * 217 * 181, 1)   // bytes, with the margin
 * ```
 */

/** A linear model of peak RSS: `baseBytes + bytesPerVoxel · voxels` (the built-in models of ./elastix.ts). */
export interface MemoryModel {
  readonly baseBytes: number
  readonly bytesPerVoxel: number
}

export const predictBytes = (m: MemoryModel, voxels: number): number => Math.ceil(m.baseBytes + m.bytesPerVoxel * voxels)

/** One measured run of the tool. */
export interface Sample {
  /** The voxels the tool held (register: fixed + moving; warp: input + output grid). */
  readonly voxels: number
  readonly threads: number
  readonly peakBytes: number
}

/** The fitted line, without margin, and what it was fitted from. */
export interface FittedModel {
  readonly baseBytes: number
  readonly bytesPerVoxel: number
  /** 0 when the samples show no thread term. */
  readonly bytesPerThread: number
  /** Samples it was fitted from. */
  readonly samples: number
  /** The largest |measured − fitted| over those samples, bytes. */
  readonly maxResidualBytes: number
  /**
   * For the floor of a prediction: the largest measured peak at each size, smallest size first
   * (a prediction never goes below a peak measured on a run no larger than the one asked).
   */
  readonly peaks: ReadonlyArray<readonly [voxels: number, peakBytes: number]>
}

/**
 * Added to the fitted line (both terms) for what the samples do not see: other images of the same
 * size, sampling noise, allocator behaviour. The same quarter as the built-in models
 * (./elastix.ts), whose measured peaks it covered by 10–28 % at the measured sizes.
 */
export const MARGIN = 1.25

/**
 * The thread term is kept only if it is positive and halves the residual sum of squares that
 * voxels alone leave: two noisy thread counts must not invent a term.
 */
const THREAD_TERM_GAIN = 0.5

/** Solves the least-squares problem `X · c ≈ y` through its normal equations; undefined if singular. */
export const leastSquares = (rows: ReadonlyArray<ReadonlyArray<number>>, y: ReadonlyArray<number>): Array<number> | undefined => {
  const k = rows[0]?.length ?? 0
  // Columns scaled to their largest magnitude: voxels (1e6) and bytes (1e8) would otherwise
  // leave the normal equations badly conditioned.
  const scale = Array.from({ length: k }, (_, j) => Math.max(1e-300, ...rows.map((r) => Math.abs(r[j]!))))
  const a = Array.from({ length: k }, () => new Array<number>(k + 1).fill(0))
  rows.forEach((r, i) => {
    for (let p = 0; p < k; p++) {
      for (let q = 0; q < k; q++) a[p]![q]! += (r[p]! / scale[p]!) * (r[q]! / scale[q]!)
      a[p]![k]! += (r[p]! / scale[p]!) * y[i]!
    }
  })
  const solved = gaussJordan(a)
  return solved?.map((c, j) => c / scale[j]!)
}

/** Solves an augmented k × (k+1) system in place, with partial pivoting. */
const gaussJordan = (a: Array<Array<number>>): Array<number> | undefined => {
  const k = a.length
  for (let col = 0; col < k; col++) {
    let pivot = col
    for (let r = col + 1; r < k; r++) if (Math.abs(a[r]![col]!) > Math.abs(a[pivot]![col]!)) pivot = r
    if (Math.abs(a[pivot]![col]!) < 1e-12) return undefined
    ;[a[col], a[pivot]] = [a[pivot]!, a[col]!]
    for (let r = 0; r < k; r++) {
      if (r === col) continue
      const f = a[r]![col]! / a[col]![col]!
      for (let c = col; c <= k; c++) a[r]![c]! -= f * a[col]![c]!
    }
  }
  return a.map((row, i) => row[k]! / row[i]!)
}

const distinct = (xs: ReadonlyArray<number>): number => new Set(xs).size

const residuals = (samples: ReadonlyArray<Sample>, c: readonly [number, number, number]) =>
  samples.map((s) => s.peakBytes - (c[0] + c[1] * s.voxels + c[2] * s.threads))

const sumSquares = (xs: ReadonlyArray<number>): number => xs.reduce((a, x) => a + x * x, 0)

/** base + slope · voxels; with one size only, the slope is `priorBytesPerVoxel` and the base the mean rest. */
const fitVoxels = (samples: ReadonlyArray<Sample>, priorBytesPerVoxel: number): [number, number, number] => {
  const fitted = distinct(samples.map((s) => s.voxels)) >= 2 ? leastSquares(samples.map((s) => [1, s.voxels]), samples.map((s) => s.peakBytes)) : undefined
  // A negative slope is noise at small sizes (memory does not shrink with the image): take the prior.
  const slope = fitted !== undefined && fitted[1]! >= 0 ? fitted[1]! : priorBytesPerVoxel
  const base = samples.reduce((a, s) => a + s.peakBytes - slope * s.voxels, 0) / samples.length
  return [base, slope, 0]
}

/** base + slope · voxels + perThread · threads, when at least two thread counts and two sizes were measured. */
const fitWithThreads = (samples: ReadonlyArray<Sample>): [number, number, number] | undefined => {
  if (distinct(samples.map((s) => s.threads)) < 2 || distinct(samples.map((s) => s.voxels)) < 2) return undefined
  const c = leastSquares(samples.map((s) => [1, s.voxels, s.threads]), samples.map((s) => s.peakBytes))
  return c === undefined || c[1]! < 0 || c[2]! <= 0 ? undefined : [c[0]!, c[1]!, c[2]!]
}

/** The largest measured peak at each size, smallest size first. */
const peaksBySize = (samples: ReadonlyArray<Sample>): Array<readonly [number, number]> => {
  const by = new Map<number, number>()
  for (const s of samples) by.set(s.voxels, Math.max(by.get(s.voxels) ?? 0, s.peakBytes))
  return [...by.entries()].sort((a, b) => a[0] - b[0])
}

/**
 * Fits the model to the samples (those with a peak > 0); undefined if there are none.
 * `priorBytesPerVoxel` is the slope used when every sample has the same size (jobs that all ran on
 * one kind of scan): the built-in model's.
 */
export const fitModel = (samples: ReadonlyArray<Sample>, priorBytesPerVoxel = 0): FittedModel | undefined => {
  const usable = samples.filter((s) => s.peakBytes > 0 && s.voxels >= 0 && s.threads >= 1)
  if (usable.length === 0) return undefined
  const voxelsOnly = fitVoxels(usable, priorBytesPerVoxel)
  const withThreads = fitWithThreads(usable)
  const keepThreads =
    withThreads !== undefined && sumSquares(residuals(usable, withThreads)) <= THREAD_TERM_GAIN * sumSquares(residuals(usable, voxelsOnly))
  const c = keepThreads ? withThreads : voxelsOnly
  return {
    baseBytes: c[0],
    bytesPerVoxel: c[1],
    bytesPerThread: c[2],
    samples: usable.length,
    maxResidualBytes: Math.max(...residuals(usable, c).map(Math.abs)),
    peaks: peaksBySize(usable)
  }
}

/** The fitted line at `voxels` and `threads`, without margin. */
export const fittedPeak = (m: FittedModel, voxels: number, threads: number): number => m.baseBytes + m.bytesPerVoxel * voxels + m.bytesPerThread * threads

/**
 * What to admit a run of `voxels` on `threads` with: the fitted line times MARGIN, and at least the
 * largest peak measured on a run of at most `voxels` (memory does not shrink as the image grows,
 * so what a smaller or equal run took, this one takes too). Peaks of larger runs are no floor: they
 * would make every small job as expensive as the largest one measured.
 */
export const predictPeak = (m: FittedModel, voxels: number, threads: number): number => {
  let floor = 0
  for (const [v, peak] of m.peaks) if (v <= voxels) floor = Math.max(floor, peak)
  return Math.ceil(Math.max(MARGIN * fittedPeak(m, voxels, threads), floor))
}
