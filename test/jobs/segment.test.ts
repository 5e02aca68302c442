/**
 * The segmentation pipeline as data (src/jobs/segment.ts): names, dependencies and layout, for
 * majority voting (labels only) and for methods that compare images (warped images too).
 */
import * as Either from "effect/Either"
import { describe, expect, it } from "vitest"
import { decodeJobs } from "../../src/jobs/file.js"
import { distinctIds, segmentationJobs } from "../../src/jobs/segment.js"

describe("segmentationJobs", () => {
  it("for weighted voting warps the atlas images linearly too, and the fuse job comes after both warps", () => {
    const jobs = segmentationJobs({
      targets: ["/d/t1.nii.gz"],
      atlases: [{ image: "/d/a1.nii.gz", labels: "/d/a1-labels.nii.gz" }],
      method: "weighted",
      params: "bspline",
      threads: 2
    })
    expect(jobs.map((j) => `${j.kind}:${j.name}`)).toEqual(["register:reg-a1-to-t1", "warp:warp-labels-a1-to-t1", "warp:warp-image-a1-to-t1", "fuse:fuse-t1"])
    expect(jobs[0]).toMatchObject({ params: "bspline", threads: 2, output: "reg/a1-to-t1" })
    expect(jobs[2]).toMatchObject({ interpolation: "linear", input: "/d/a1.nii.gz", output: "warped/a1-to-t1-image.nii.gz" })
    expect(jobs[3]).toMatchObject({
      after: ["warp-labels-a1-to-t1", "warp-image-a1-to-t1"],
      atlases: [{ labels: "warped/a1-to-t1-labels.nii.gz", image: "warped/a1-to-t1-image.nii.gz" }],
      method: "weighted"
    })
    // The pipeline is sound as batch reads it (its inputs taken as there).
    expect(Either.isRight(decodeJobs("/out/pipeline.json", JSON.stringify({ jobs })))).toBe(true)
  })

  it("numbers images whose names collide", () => {
    expect(distinctIds(["/a/t.nii.gz", "/b/t.nii.gz", "/c/u.nrrd"])).toEqual(["t-1", "t-2", "u"])
  })
})
