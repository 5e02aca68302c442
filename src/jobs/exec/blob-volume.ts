/**
 * Synthetic images for calibrating registration tools: a few smooth anisotropic Gaussian blobs on
 * an n³ uint8 grid, and the same blobs shifted, written as NIfTI through slicewise's own sink.
 * Smooth, so that a metric has gradients to follow at any size; asymmetric, so that an affine
 * registration has one answer. Each blob is separable (a product of three 1D Gaussians), so a
 * voxel costs three multiplications per blob and no closure call.
 *
 * @example
 * ```ts
 * yield* writeBlobVolume("/tmp/fixed.nii.gz", 48)
 * yield* writeBlobVolume("/tmp/moving.nii.gz", 48, [1, 2, -1])
 * ```
 */
import * as Effect from "effect/Effect"
import { volumeInfo } from "../../algebra/volume.js"
import type { IoError } from "../../algebra/io-errors.js"
import * as Run from "../../interpreters/run/index.js"
import { sinkFor } from "../../io/index.js"
import { arraySource } from "../../io/memory.js"

/** Blobs of the unshifted image as fractions of the size: centre (z, y, x), sigma (z, y, x), height. */
const BLOBS: ReadonlyArray<readonly [readonly [number, number, number], readonly [number, number, number], number]> = [
  [[0.5, 0.5, 0.5], [0.22, 0.26, 0.2], 160],
  [[0.4, 0.35, 0.62], [0.08, 0.1, 0.07], 90],
  [[0.62, 0.66, 0.38], [0.1, 0.06, 0.09], 70]
]

/** exp(−(i − c)² / 2s²) for i = 0 … n − 1. */
const gaussian1d = (n: number, c: number, s: number): Float64Array => {
  const g = new Float64Array(n)
  for (let i = 0; i < n; i++) g[i] = Math.exp(-((i - c) ** 2) / (2 * s * s))
  return g
}

/** The blob image on an n³ grid, its content moved by `shift` voxels (z, y, x). */
export const blobVolume = (n: number, shift: readonly [number, number, number] = [0, 0, 0]): Uint8Array => {
  const sum = new Float64Array(n * n * n)
  for (const [centre, sigma, height] of BLOBS) {
    const [gz, gy, gx] = [0, 1, 2].map((a) => gaussian1d(n, centre[a]! * (n - 1) + shift[a]!, sigma[a]! * n)) as [Float64Array, Float64Array, Float64Array]
    for (let z = 0; z < n; z++)
      for (let y = 0; y < n; y++) {
        const zy = height * gz[z]! * gy[y]!
        const row = (z * n + y) * n
        for (let x = 0; x < n; x++) sum[row + x]! += zy * gx[x]!
      }
  }
  const out = new Uint8Array(sum.length)
  for (let i = 0; i < sum.length; i++) out[i] = Math.min(255, Math.round(sum[i]!))
  return out
}

/** Writes `blobVolume(n, shift)` to `path` (the format by its extension, e.g. .nii.gz). */
export const writeBlobVolume = (path: string, n: number, shift?: readonly [number, number, number]): Effect.Effect<void, IoError | Run.RunError> =>
  Effect.flatMap(sinkFor(path), (sink) =>
    Effect.asVoid(Run.run((alg) => ({ out: alg.write(alg.source(arraySource(volumeInfo("uint8", [n, n, n]), blobVolume(n, shift))), sink) })))
  )
