/**
 * DICOM input through the `slicewise` command as a user runs it: `info` lists the series of a
 * directory, `run` refuses a directory of several without --series in one line and converts the
 * chosen one to NIfTI with its geometry.
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as Effect from "effect/Effect"
import { afterAll, describe, expect, it } from "vitest"
import { inSpace, sameGeometry } from "../../src/algebra/geometry.js"
import { openSource } from "../../src/io/index.js"

const root = path.resolve(__dirname, "../..")
const exam = path.join(root, "test/fixtures/dicom/series/exam")
const cliArgs = ["--import", "tsx", path.join(root, "src/cli/main.ts")]
const slicewise = (...args: Array<string>) => {
  const r = spawnSync(process.execPath, [...cliArgs, ...args], { cwd: root, encoding: "utf8", env: { ...process.env, SLICEWISE_DEBUG: "" } })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "slicewise-dicom-cli-"))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

describe("slicewise with a DICOM directory", () => {
  it("info lists every series and what was ignored", () => {
    const r = slicewise("info", exam)
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toContain(": dicom\n")
    expect(r.stdout).toMatch(/^ {2}series +reading 2, one of 2 \(choose with --series\)$/m)
    expect(r.stdout).toMatch(/^ {2}series 2 "CT oblique" CT, 12 slices of 16×20, UID [\d.]+ \(read\)$/m)
    expect(r.stdout).toMatch(/^ {2}series 7 "MR T1" MR, 5 slices of 16×20, UID [\d.]+$/m)
    expect(r.stdout).toMatch(/^ {2}ignored other files 1$/m)
    const json = JSON.parse(slicewise("info", exam, "--json", "--series", "7").stdout)
    expect(json).toMatchObject({ format: "dicom", dtype: "float32", shape: [5, 16, 20], spacing: [3, 1, 0.9] })
  })

  it("run refuses several series without --series in one line, and converts the chosen one to NIfTI", async () => {
    const out = path.join(dir, "ct.nii.gz")
    const refused = slicewise("run", exam, out, "copy")
    expect(refused.code).toBe(1)
    expect(refused.stderr.trim().split("\n")).toHaveLength(1)
    expect(refused.stderr).toContain("holds 2 DICOM series")
    expect(refused.stderr).toContain("--series")
    expect(fs.existsSync(out)).toBe(false)
    const r = slicewise("run", exam, out, "copy", "--series", "2")
    expect(r.code, r.stderr).toBe(0)
    const info = JSON.parse(slicewise("info", out, "--json").stdout)
    expect(info).toMatchObject({ format: "nifti-gz", dtype: "int16", shape: [12, 16, 20] })
    // The geometry survives the trip (NIfTI holds it as RAS, in float32).
    const [dicom, nifti] = await Effect.runPromise(Effect.all([openSource(exam, { series: "2" }), openSource(out)]))
    const back = inSpace(nifti.info.geometry!, "LPS")
    expect(back.origin[0]).toBeCloseTo(-120.5, 4)
    expect(sameGeometry(back, dicom.info.geometry!, 1e-5)).toBe(true)
    nifti.info.spacing.forEach((s, i) => expect(s).toBeCloseTo(dicom.info.spacing[i]!, 5))
  })
})
