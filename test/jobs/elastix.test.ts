/**
 * register and warp jobs with the real elastix and transformix on 32³ phantoms: the registration
 * brings the moving labels onto the fixed ones, nearest-neighbour warping invents no label, a
 * B-spline chain refers to its final paths, outputs are atomic, and the memory model and parameter
 * files are what the docs say. Fails (does not skip) without elastix: see ./elastix-required.ts.
 */
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { openSource } from "../../src/io/index.js"
import {
  paramFiles,
  predictBytes,
  REGISTER_MODEL,
  registerSetUp,
  setParameter,
  transformFile,
  warpSetUp,
  type RegisterJob,
  type WarpJob
} from "../../src/jobs/exec/elastix.js"
import { decodeJobs } from "../../src/jobs/file.js"
import { readAll } from "../support/volume-io.js"
import { requireElastix } from "./elastix-required.js"
import { dice, phantom, writeVolume } from "./phantom.js"

const N = 32
let dir: string
const at = (p: string) => path.join(dir, p)
const read = (f: string) => Effect.runPromise(Effect.flatMap(openSource(f), (s) => readAll(s))).then((r) => r.bytes)

beforeAll(async () => {
  requireElastix()
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "slicewise-elastix-"))
  const fixed = phantom(N, { angleDeg: 0, shift: [0, 0, 0] })
  const moving = phantom(N, { angleDeg: 10, shift: [1, 2, -2] })
  await writeVolume(at("fixed.nii.gz"), N, fixed.image)
  await writeVolume(at("fixed-labels.nii.gz"), N, fixed.labels)
  await writeVolume(at("moving.nii.gz"), N, moving.image)
  await writeVolume(at("moving-labels.nii.gz"), N, moving.labels)
}, 60_000)
afterAll(() => dir !== undefined && fs.rmSync(dir, { recursive: true, force: true }))

const register = (fields: Partial<RegisterJob>) =>
  Effect.runPromise(
    Effect.flatMap(
      registerSetUp({ kind: "register", fixed: at("fixed.nii.gz"), moving: at("moving.nii.gz"), params: "affine", output: at("reg"), ...fields }, "reg"),
      (s) => s.run
    )
  )
const warp = (fields: Partial<WarpJob>) =>
  Effect.runPromise(
    Effect.flatMap(
      warpSetUp({ kind: "warp", transform: at("reg"), input: at("moving-labels.nii.gz"), output: at("warped.nii.gz"), interpolation: "nearest", ...fields }, "warp"),
      (s) => s.run
    )
  )
const leftovers = () => fs.readdirSync(dir, { recursive: true }).map(String).filter((f) => f.includes(".slicewise-"))

describe("register and warp with elastix", () => {
  it("registers the moving phantom to the fixed one; nearest warping of its labels overlaps the fixed labels and invents none", async () => {
    const r = await register({})
    expect(r.attempts).toBe(1)
    expect(r.peakRssBytes).toBeGreaterThan(20 * 2 ** 20)
    expect(fs.existsSync(at("reg/TransformParameters.0.txt"))).toBe(true)
    expect(fs.readFileSync(at("reg.log"), "utf8")).toMatch(/Total time elapsed/)
    const w = await warp({})
    expect(w.attempts).toBe(1)
    const [truth, before, after] = await Promise.all([read(at("fixed-labels.nii.gz")), read(at("moving-labels.nii.gz")), read(at("warped.nii.gz"))])
    expect(after.length).toBe(N ** 3)
    expect(new Set(after)).toEqual(new Set([0, 1, 2, 3]))
    for (const label of [1, 2, 3]) {
      // Unregistered: 0.77, 0.42, 0.48; registered here 0.96, 0.87, 0.88 (2 × 150 iterations at 32³).
      expect(dice(after, truth, label)).toBeGreaterThan(Math.max(0.8, dice(before, truth, label) + 0.1))
    }
    expect(leftovers()).toEqual([])
  }, 60_000)

  it("chains affine and B-spline, each transform file naming the final path of the one before", async () => {
    await register({ params: "bspline", output: at("reg-bspline") })
    expect(transformFile(at("reg-bspline"))).toBe(at("reg-bspline/TransformParameters.1.txt"))
    const last = fs.readFileSync(at("reg-bspline/TransformParameters.1.txt"), "utf8")
    expect(last).toContain(`(InitialTransformParametersFileName "${at("reg-bspline/TransformParameters.0.txt")}")`)
    expect(last).toMatch(/\(Transform "BSplineTransform"\)/)
    await warp({ transform: at("reg-bspline"), output: at("warped-bspline.nii.gz") })
    const [truth, after] = await Promise.all([read(at("fixed-labels.nii.gz")), read(at("warped-bspline.nii.gz"))])
    expect(dice(after, truth, 1)).toBeGreaterThan(0.9)
  }, 120_000)

  it("warps an image linearly, keeping its voxel type", async () => {
    await warp({ input: at("moving.nii.gz"), output: at("warped-image.nii.gz"), interpolation: "linear" })
    const s = await Effect.runPromise(openSource(at("warped-image.nii.gz")))
    expect(s.info.dtype).toBe("uint8")
    expect(s.info.shape).toEqual([N, N, N])
  }, 60_000)

  it("fails with elastix's last lines and leaves no output directory when elastix fails", async () => {
    fs.writeFileSync(at("bad-params.txt"), '(Transform "NoSuchTransform")\n')
    const e = await Effect.runPromise(Effect.flip(Effect.flatMap(registerSetUp({ kind: "register", fixed: at("fixed.nii.gz"), moving: at("moving.nii.gz"), params: at("bad-params.txt"), output: at("reg-bad") }, "bad"), (s) => s.run)))
    expect(e.message).toMatch(/^elastix (exited with code \d+|exited 0 but|.*wrote no TransformParameters)/)
    expect(e.message).toContain(`log ${at("reg-bad.log")}`)
    expect(e.message).toMatch(/last lines: /)
    expect(fs.existsSync(at("reg-bad"))).toBe(false)
    expect(leftovers()).toEqual([])
  }, 60_000)
})

describe("without elastix", () => {
  it("the tests that need it fail, saying how to install it", () => {
    const path0 = process.env.PATH
    process.env.PATH = "/nonexistent"
    try {
      expect(() => requireElastix()).toThrow(/apt-get install -y elastix/)
    } finally {
      process.env.PATH = path0
    }
  })
})

describe("register and warp jobs as data", () => {
  it("predict their memory from the images' voxels, or take the job's own", async () => {
    // An empty store of measured peaks: the registrations above recorded theirs in this file's.
    const s = await Effect.runPromise(registerSetUp({ kind: "register", fixed: at("fixed.nii.gz"), moving: at("moving.nii.gz"), params: "affine", output: at("r2") }, "r2", { modelsPath: at("no-models.json") }))
    expect(s.predictedBytes).toBe(predictBytes(REGISTER_MODEL, 2 * N ** 3))
    const own = await Effect.runPromise(registerSetUp({ kind: "register", fixed: at("fixed.nii.gz"), moving: at("moving.nii.gz"), params: "affine", output: at("r2"), memory: "1GiB" }, "r2"))
    expect(own.predictedBytes).toBe(2 ** 30)
  })

  it("find the repository's parameter files by name, and take paths", () => {
    expect(paramFiles("bspline").map((f) => path.basename(f))).toEqual(["affine.txt", "bspline.txt"])
    for (const f of paramFiles("bspline")) expect(fs.existsSync(f)).toBe(true)
    expect(paramFiles(["affine", "/x/mine.txt"]).map((f) => path.basename(f))).toEqual(["affine.txt", "mine.txt"])
  })

  it("set a parameter in a copy of a transform file, replacing or adding it", () => {
    const text = '(Transform "AffineTransform")\n(FinalBSplineInterpolationOrder 3)\n'
    expect(setParameter(text, "FinalBSplineInterpolationOrder", "0")).toBe('(Transform "AffineTransform")\n(FinalBSplineInterpolationOrder 0)\n')
    expect(setParameter(text, "ResultImageFormat", '"nii.gz"')).toBe(`${text}(ResultImageFormat "nii.gz")\n`)
  })

  it("decode with their paths checked: a missing parameter file, a warp before its registration", () => {
    const decode = (jobs: ReadonlyArray<unknown>) => decodeJobs(path.join(dir, "p.json"), JSON.stringify({ jobs }), fs.existsSync)
    const reg = { kind: "register", name: "reg", fixed: "fixed.nii.gz", moving: "moving.nii.gz", params: "affine", output: "out/reg" }
    const w = { kind: "warp", name: "w", transform: "out/reg", input: "moving-labels.nii.gz", output: "out/w.nii.gz", interpolation: "nearest" }
    expect(decode([reg, { ...w, after: ["reg"] }])._tag).toBe("Right")
    const missing = decode([{ ...reg, params: ["affine", "mine.txt"] }])
    expect(missing._tag === "Left" && missing.left.message).toBe(`${at("p.json")}: jobs[0].params[1]: ${at("mine.txt")}: no such file, and no job this one comes after writes it`)
    const race = decode([reg, w])
    expect(race._tag === "Left" && race.left.message).toMatch(/jobs\[1\]\.transform: .*out\/reg is written by "reg" \(jobs\[0\]\), which this job does not come after/)
    const interp = decode([{ ...w, interpolation: "cubic" }])
    expect(interp._tag === "Left" && interp.left.message).toMatch(/jobs\[0\]\.interpolation: Expected "linear", actual "cubic"/)
  })
})
