/**
 * The pipeline of a multi-atlas segmentation, as data: for every target and atlas, register the
 * atlas image to the target (elastix), warp the atlas labels onto the target's grid with nearest
 * neighbour (and the atlas image linearly when the fusion method compares images), then per target
 * one fuse job after its warps. What `slicewise segment` writes and `slicewise batch` runs.
 *
 * Inside the output directory: `reg/ATLAS-to-TARGET/` (transforms), `warped/ATLAS-to-TARGET-labels.nii.gz`
 * (and `-image.nii.gz`), `fused/TARGET-labels.nii.gz`, and each external job's log beside its output.
 *
 * @example
 * ```ts
 * const jobs = segmentationJobs({ targets: ["/d/t1.nii.gz"], atlases: [{ image: "/d/a1.nii.gz", labels: "/d/a1-labels.nii.gz" }],
 *   method: "majority", params: "affine" })
 * // register reg-a1-to-t1, warp warp-labels-a1-to-t1, fuse fuse-t1
 * ```
 */
import * as nodePath from "node:path"
import type { Job } from "./file.js"

export interface SegmentAtlas {
  readonly image: string
  readonly labels: string
}

export interface Segmentation {
  readonly targets: ReadonlyArray<string>
  readonly atlases: ReadonlyArray<SegmentAtlas>
  readonly method: "majority" | "weighted" | "joint"
  /** elastix parameters: "affine", "bspline" (affine then B-spline) or a parameter file's path. */
  readonly params: string
  /** elastix threads per registration (default 1). */
  readonly threads?: number
}

/** A short name from a path: its file name without the image extension. */
const stem = (p: string): string => nodePath.basename(p).replace(/\.(nii\.gz|nii|nrrd|nhdr|mha|mhd|tiff?|zarr)$/i, "")

/** Distinct ids for paths: their stems, numbered where two share one. */
export const distinctIds = (paths: ReadonlyArray<string>): ReadonlyArray<string> => {
  const stems = paths.map(stem)
  return stems.map((s, i) => (stems.filter((t) => t === s).length > 1 ? `${s}-${i + 1}` : s))
}

/** The jobs, with output paths relative to the directory the pipeline file is written in. */
export const segmentationJobs = (s: Segmentation): ReadonlyArray<Job> => {
  const targetIds = distinctIds(s.targets)
  const atlasIds = distinctIds(s.atlases.map((a) => a.image))
  const images = s.method !== "majority"
  const threads = s.threads === undefined ? {} : { threads: s.threads }
  const jobs: Array<Job> = []
  s.targets.forEach((target, t) => {
    const tid = targetIds[t]!
    const fused: Array<{ labels: string; image?: string }> = []
    const warps: Array<string> = []
    s.atlases.forEach((atlas, a) => {
      const pair = `${atlasIds[a]}-to-${tid}`
      const reg = `reg-${pair}`
      jobs.push({ kind: "register", name: reg, fixed: target, moving: atlas.image, params: s.params, output: `reg/${pair}`, ...threads })
      const labels = `warped/${pair}-labels.nii.gz`
      jobs.push({ kind: "warp", name: `warp-labels-${pair}`, after: [reg], transform: `reg/${pair}`, input: atlas.labels, interpolation: "nearest", output: labels })
      warps.push(`warp-labels-${pair}`)
      if (images) {
        const image = `warped/${pair}-image.nii.gz`
        jobs.push({ kind: "warp", name: `warp-image-${pair}`, after: [reg], transform: `reg/${pair}`, input: atlas.image, interpolation: "linear", output: image })
        warps.push(`warp-image-${pair}`)
        fused.push({ labels, image })
      } else fused.push({ labels })
    })
    jobs.push({ kind: "fuse", name: `fuse-${tid}`, after: warps, target, atlases: fused, method: s.method, output: `fused/${tid}-labels.nii.gz` })
  })
  return jobs
}
