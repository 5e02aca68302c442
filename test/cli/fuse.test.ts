/**
 * `slicewise fuse` and `slicewise dice` as a user runs them: a real process on the NIfTI fixtures of
 * test/fixtures/fusion, checked against the numpy results stored there.
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as Effect from "effect/Effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { openSource } from "../../src/io/index.js"
import { readAll } from "../support/volume-io.js"

const root = path.resolve(__dirname, "../..")
const fixture = (p: string) => path.join(root, "test/fixtures/fusion", p)
const cliArgs = ["--import", "tsx", path.join(root, "src/cli/main.ts")]
const manifest = JSON.parse(fs.readFileSync(fixture("manifest.json"), "utf8"))

const slicewise = (...args: Array<string>) => {
  const r = spawnSync(process.execPath, [...cliArgs, ...args], { cwd: root, encoding: "utf8", env: { ...process.env, SLICEWISE_DEBUG: "" } })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

const voxels = async (p: string) => (await Effect.runPromise(Effect.flatMap(openSource(p), (s) => readAll(s)))).bytes
const atlas = (i: number) => `${fixture(`atlas${i}-image.nii`)}:${fixture(`atlas${i}-labels.nii`)}`
const atlases = [1, 2, 3, 4, 5].flatMap((i) => ["--atlas", atlas(i)])

let dir: string
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "slicewise-fuse-"))
})
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

describe("slicewise fuse", () => {
  it("weighted voting writes what numpy computes, oriented as the target, and reports the run as JSON", async () => {
    const out = path.join(dir, "weighted.nii.gz")
    const r = slicewise("fuse", out, "--target", fixture("target.nii"), ...atlases, "--method", "weighted", "--radius", "1", "--json")
    expect(r.stderr).toBe("")
    expect(r.code).toBe(0)
    const result = JSON.parse(r.stdout)
    expect(result).toMatchObject({ output: out, method: "weighted", atlases: 5 })
    expect(result.metrics.peakBufferBytes).toBeLessThanOrEqual(result.metrics.plannedPeakBufferBytes)
    expect(Buffer.from(await voxels(out)).equals(Buffer.from(await voxels(fixture("weighted-gaussian.nii"))))).toBe(true)
    const info = JSON.parse(slicewise("info", out, "--json").stdout)
    const targetInfo = JSON.parse(slicewise("info", fixture("target.nii"), "--json").stdout)
    expect(info.dtype).toBe("uint8")
    expect(info.spacing).toEqual(targetInfo.spacing)
  })

  it("majority voting takes bare label maps, and dice then scores it as numpy does", async () => {
    const out = path.join(dir, "majority.nii")
    const maps = [1, 2, 3, 4].flatMap((i) => ["--atlas", fixture(`atlas${i}-labels.nii`)])
    const r = slicewise("fuse", out, "--target", fixture("target.nii"), ...maps, "--method", "majority")
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/total: .* peak buffers/)
    expect(r.stdout).toContain(`wrote ${out}`)
    expect(Buffer.from(await voxels(out)).equals(Buffer.from(await voxels(fixture("majority-4.nii"))))).toBe(true)
    const d = slicewise("dice", out, fixture("truth.nii"), "--json")
    expect(d.code).toBe(0)
    expect(JSON.parse(d.stdout).mean).toBeCloseTo(manifest.dice["majority-4.nii"].mean, 12)
    const text = slicewise("dice", out, fixture("truth.nii"))
    expect(text.stdout).toMatch(new RegExp(`mean dice over 4 labels \\(0 excluded\\): ${manifest.dice["majority-4.nii"].mean.toFixed(4)}`))
  })

  it("refuses an atlas on another grid in one line naming both files, creating nothing", () => {
    const out = path.join(dir, "never.nii")
    const r = slicewise("fuse", out, "--target", fixture("target.nii"), "--atlas", fixture("atlas1-labels.nii"), "--atlas", fixture("other-grid-labels.nii"), "--method", "majority")
    expect(r.code).toBe(1)
    expect(r.stderr.trim().split("\n")).toHaveLength(1)
    expect(r.stderr).toMatch(/^slicewise: atlas 2 labels .*other-grid-labels\.nii is 12×20×20 but the target .*target\.nii is 12×20×24/)
    expect(fs.existsSync(out)).toBe(false)
  })

  it("refuses a missing file in one line naming it", () => {
    const r = slicewise("fuse", path.join(dir, "x.nii"), "--target", fixture("target.nii"), "--atlas", `${fixture("atlas1-image.nii")}:${path.join(dir, "nope.nii")}`)
    expect(r.code).toBe(1)
    expect(r.stderr.trim().split("\n")).toHaveLength(1)
    expect(r.stderr).toMatch(/^slicewise: .*nope\.nii: no such file or directory\n$/)
  })

  it("refuses weighted voting without the atlases' images", () => {
    const r = slicewise("fuse", path.join(dir, "x.nii"), "--target", fixture("target.nii"), "--atlas", fixture("atlas1-labels.nii"), "--method", "weighted")
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^slicewise: atlas 1 .*needs the atlas's image/)
  })

  it("refuses a bad option value through the job schema", () => {
    const r = slicewise("fuse", path.join(dir, "x.nii"), "--target", fixture("target.nii"), "--atlas", atlas(1), "--radius", "-1")
    expect(r.code).toBe(1)
    expect(r.stderr.trim().split("\n")).toHaveLength(1)
    expect(r.stderr).toMatch(/^slicewise: --radius: /)
  })
})

describe("slicewise dice", () => {
  it("refuses maps of different shapes in one line naming both", () => {
    const r = slicewise("dice", fixture("truth.nii"), fixture("other-grid-labels.nii"))
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^slicewise: .*truth\.nii is 12×20×24 but .*other-grid-labels\.nii is 12×20×20/)
  })
})
