/**
 * A small synthetic head for registration tests and benches: an ellipsoid "brain" with a gradient,
 * two asymmetric inner structures, labels 1–3, drawn analytically after a rotation about z and a
 * shift, so that every transformed copy has exact labels. Written as NIfTI through slicewise's
 * own sinks.
 */
import * as Effect from "effect/Effect"
import { volumeInfo } from "../../src/algebra/volume.js"
import * as Run from "../../src/interpreters/run/index.js"
import { sinkFor } from "../../src/io/index.js"
import { arraySource } from "../../src/io/memory.js"

export interface Pose {
  /** Rotation about the z axis, degrees. */
  readonly angleDeg: number
  /** Shift in voxels, z y x. */
  readonly shift: readonly [number, number, number]
}

export const IDENTITY: Pose = { angleDeg: 0, shift: [0, 0, 0] }

/** The label at a point of the untransformed phantom of size n (coordinates in voxels). */
const labelAt = (n: number, z: number, y: number, x: number): number => {
  const s = n / 32
  const c = (n - 1) / 2
  const inside = (cz: number, cy: number, cx: number, rz: number, ry: number, rx: number) =>
    ((z - cz) / rz) ** 2 + ((y - cy) / ry) ** 2 + ((x - cx) / rx) ** 2 <= 1
  if (inside(c - 3 * s, c - 4 * s, c + 3 * s, 4 * s, 4 * s, 4 * s)) return 2
  if (inside(c + 3 * s, c + 5 * s, c - 4 * s, 3 * s, 5 * s, 3.5 * s)) return 3
  if (inside(c, c, c, 11 * s, 13 * s, 12 * s)) return 1
  return 0
}

const INTENSITY = [0, 90, 200, 150]

/** Labels and image (uint8) of the phantom in `pose`, on an n³ grid. */
export const phantom = (n: number, pose: Pose): { readonly labels: Uint8Array; readonly image: Uint8Array } => {
  const labels = new Uint8Array(n * n * n)
  const image = new Uint8Array(n * n * n)
  const c = (n - 1) / 2
  const a = (-pose.angleDeg * Math.PI) / 180
  const [cos, sin] = [Math.cos(a), Math.sin(a)]
  for (let z = 0; z < n; z++)
    for (let y = 0; y < n; y++)
      for (let x = 0; x < n; x++) {
        // Where this voxel comes from in the untransformed phantom: the inverse pose.
        const [qz, qy, qx] = [z - pose.shift[0], y - pose.shift[1] - c, x - pose.shift[2] - c]
        const py = cos * qy - sin * qx + c
        const px = sin * qy + cos * qx + c
        const l = labelAt(n, qz, py, px)
        const i = (z * n + y) * n + x
        labels[i] = l
        // A gradient inside the brain along its own x axis: something for the metric to hold on to.
        image[i] = l === 0 ? 0 : Math.min(255, INTENSITY[l]! + (l === 1 ? Math.round((px / n) * 50) : 0))
      }
  return { labels, image }
}

/** Writes a uint8 volume of n³ to `file` (format by extension, e.g. .nii.gz). */
export const writeVolume = (file: string, n: number, data: Uint8Array): Promise<void> =>
  Effect.runPromise(
    Effect.flatMap(sinkFor(file), (sink) =>
      Effect.asVoid(Run.run((alg) => ({ out: alg.write(alg.source(arraySource(volumeInfo("uint8", [n, n, n]), data)), sink) })))
    )
  )

/** Dice of one label between two label maps. */
export const dice = (a: ArrayLike<number>, b: ArrayLike<number>, label: number): number => {
  let both = 0
  let sum = 0
  for (let i = 0; i < a.length; i++) {
    const [x, y] = [a[i] === label, b[i] === label]
    if (x && y) both++
    if (x) sum++
    if (y) sum++
  }
  return sum === 0 ? 1 : (2 * both) / sum
}
