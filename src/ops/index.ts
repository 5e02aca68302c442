/**
 * The op library: programs written against the algebra, generic in the interpreter, each matching
 * scipy.ndimage / skimage voxel for voxel (defaults and borders included).
 *
 * @example
 * ```ts
 * import { gaussian, threshold, dilate } from "slicewise/ops"
 * const program: Program = (alg) => {
 *   const smooth = gaussian(alg, alg.source(src), { sigma: 1 })
 *   const mask = dilate(alg, threshold(alg, smooth, { min: 100 }), { radius: 2 })
 *   return { mask: alg.write(mask, sink) }
 * }
 * ```
 */
export { binarize, cast, clamp, linear, threshold } from "./pointwise.js"
export type { ClampOptions, LinearOptions, ThresholdOptions } from "./pointwise.js"
export { analyseWeights, correlate } from "./correlate.js"
export type { CorrelateOptions, Weights1D } from "./correlate.js"
export { gaussian, gaussianRadius, gaussianWeights, pairwiseSum } from "./gaussian.js"
export type { GaussianOptions, PerAxis } from "./gaussian.js"
export { uniform } from "./uniform.js"
export type { UniformOptions } from "./uniform.js"
export { median, medianKernel, medianMethod, selectKth } from "./median.js"
export type { MedianOptions } from "./median.js"
export { greyDilate, greyErode } from "./morphology.js"
export type { GreyOptions } from "./morphology.js"
export { ballRows, dilate, erode } from "./binary.js"
export type { BinaryOptions, Footprint } from "./binary.js"
export { dice, jointFusion, majorityVote, weightedVote } from "./fusion.js"
export type { Atlas, DiceResult, JointFusionOptions, MajorityOptions, Radius, WeightedVoteOptions } from "./fusion.js"
export { label, labelWithCount } from "./label.js"
export type { Connectivity, LabelOptions } from "./label.js"
export { edt } from "./edt.js"
export type { EdtOptions } from "./edt.js"
export { otsu, otsuThreshold } from "./otsu.js"
export { countPerLabel, histogram, integerHistogram, minMax, stats, uniqueCounts } from "./reducers.js"
export type { Histogram, HistogramOptions, IntegerDType, IntegerHistogram, MinMax, Stats, ValueCounts } from "./reducers.js"
