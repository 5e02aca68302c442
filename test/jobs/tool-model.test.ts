/**
 * The fitted memory model of an external tool (src/jobs/exec/tool-model.ts): least squares in
 * voxels, a thread term only when the measurements show one, the margin, and the floor of peaks
 * measured on runs no larger than the one predicted.
 */
import { describe, expect, it } from "vitest"
import { fitModel, fittedPeak, leastSquares, MARGIN, predictPeak, type Sample } from "../../src/jobs/exec/tool-model.js"

const MiB = 2 ** 20
const line = (base: number, perVoxel: number, perThread = 0) => (voxels: number, threads: number): Sample => ({
  voxels,
  threads,
  peakBytes: base + perVoxel * voxels + perThread * threads
})

describe("fitModel", () => {
  it("recovers an exact line in voxels, with no thread term when threads change nothing", () => {
    const at = line(50 * MiB, 20)
    const m = fitModel([at(65536, 1), at(65536, 2), at(221184, 1), at(524288, 2)])!
    expect(m.baseBytes).toBeCloseTo(50 * MiB, 0)
    expect(m.bytesPerVoxel).toBeCloseTo(20, 6)
    expect(m.bytesPerThread).toBe(0)
    expect(m.maxResidualBytes).toBeLessThan(1)
    expect(m.samples).toBe(4)
  })

  it("keeps a per-thread term when the measurements show one", () => {
    const at = line(40 * MiB, 10, 8 * MiB)
    const m = fitModel([at(1e5, 1), at(1e5, 4), at(1e6, 1), at(1e6, 2), at(4e6, 4)])!
    expect(m.bytesPerThread).toBeCloseTo(8 * MiB, -1)
    expect(m.bytesPerVoxel).toBeCloseTo(10, 4)
    expect(fittedPeak(m, 2e6, 3)).toBeCloseTo(40 * MiB + 2e7 + 24 * MiB, -2)
  })

  it("drops a thread term that noise alone suggests", () => {
    // ±0.3 MiB of noise that happens to be higher at 2 threads: not a term worth keeping.
    const m = fitModel([
      { voxels: 65536, threads: 1, peakBytes: 54.0 * MiB },
      { voxels: 65536, threads: 2, peakBytes: 54.2 * MiB },
      { voxels: 524288, threads: 1, peakBytes: 75.4 * MiB },
      { voxels: 524288, threads: 2, peakBytes: 75.3 * MiB }
    ])!
    expect(m.bytesPerThread).toBe(0)
  })

  it("takes the prior slope when every sample has one size, and ignores unmeasured (0) peaks", () => {
    const m = fitModel(
      [
        { voxels: 1e6, threads: 1, peakBytes: 100 * MiB },
        { voxels: 1e6, threads: 1, peakBytes: 102 * MiB },
        { voxels: 5e6, threads: 1, peakBytes: 0 }
      ],
      17.5
    )!
    expect(m.samples).toBe(2)
    expect(m.bytesPerVoxel).toBe(17.5)
    expect(fittedPeak(m, 1e6, 1)).toBeCloseTo(101 * MiB, 0)
  })

  it("never fits a negative slope (noise at small sizes): the prior instead", () => {
    const m = fitModel([{ voxels: 1000, threads: 1, peakBytes: 50 * MiB }, { voxels: 2000, threads: 1, peakBytes: 49 * MiB }], 9)!
    expect(m.bytesPerVoxel).toBe(9)
  })

  it("has nothing to fit without samples", () => {
    expect(fitModel([])).toBeUndefined()
    expect(fitModel([{ voxels: 1, threads: 1, peakBytes: 0 }])).toBeUndefined()
  })
})

describe("predictPeak", () => {
  it("adds the margin to the fitted line", () => {
    const at = line(50 * MiB, 20)
    const m = fitModel([at(1e5, 1), at(1e6, 1)])!
    expect(predictPeak(m, 2e6, 1)).toBe(Math.ceil(MARGIN * (50 * MiB + 4e7)))
  })

  it("never predicts below a peak measured on a run of the same size or smaller", () => {
    // An outlier at 1e6 voxels: the line stays low, the prediction for 1e6 and above does not.
    const samples = [...[1e5, 2e5, 4e5, 8e5].map((v) => line(50 * MiB, 20)(v, 1)), { voxels: 1e6, threads: 1, peakBytes: 300 * MiB }]
    const m = fitModel(samples)!
    expect(MARGIN * fittedPeak(m, 1e6, 1)).toBeLessThan(300 * MiB)
    expect(predictPeak(m, 1e6, 1)).toBe(300 * MiB)
    expect(predictPeak(m, 2e6, 1)).toBeGreaterThanOrEqual(300 * MiB)
    // A larger run's peak is no floor for a smaller one.
    expect(predictPeak(m, 1e5, 1)).toBeLessThan(300 * MiB)
  })
})

describe("leastSquares", () => {
  it("solves a well-posed system and refuses a singular one", () => {
    expect(leastSquares([[1, 0], [1, 1], [1, 2]], [1, 3, 5])!.map((c) => Math.round(c * 1e9) / 1e9)).toEqual([1, 2])
    expect(leastSquares([[1, 2], [2, 4]], [1, 2])).toBeUndefined()
  })
})
