/**
 * The output's file system fills up mid-run: a 4 MiB tmpfs (mounted here, as root) receives an
 * 8 MiB output, or a 32 MiB spill. The run must fail with one line naming the output (or the spill)
 * and saying the device is full — a FileError, not an internal error — and leave nothing on the
 * full file system: no temporary, no lock, no spill, no output.
 *
 * Resuming once space is freed (`--resume`, issue 22) does not exist yet and is not tested.
 */
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { rawNrrd, runCli, tempDir } from "./cli.js"

let dir: string
let full: string
let input: string
let mounted = false

beforeAll(() => {
  dir = tempDir("disk-full")
  full = path.join(dir, "full")
  fs.mkdirSync(full)
  if (process.getuid?.() !== 0) throw new Error("disk-full tests mount a tmpfs and must run as root (CI does)")
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=4m", "tmpfs", full], { stdio: "pipe" })
  } catch (e) {
    throw new Error(`cannot mount a 4 MiB tmpfs at ${full} (needs root and mount permission): ${String((e as { stderr?: unknown }).stderr ?? e)}`)
  }
  mounted = true
  input = rawNrrd(path.join(dir, "in.nrrd"), [128, 256, 256], 22) // 8 MiB of voxels
})

afterAll(() => {
  if (mounted) execFileSync("umount", [full])
  fs.rmSync(dir, { recursive: true, force: true })
})

describe("a full output file system", () => {
  for (const name of ["out.nrrd", "out.tif", "out.nii", "out.zarr", "stack/"]) {
    it(`fails writing ${name} with a typed error naming it, and leaves nothing behind`, async () => {
      const output = path.join(full, name)
      const r = await runCli(["run", input, output, "copy"])
      expect(r.code, r.stderr).toBe(1)
      const lines = r.stderr.trim().split("\n")
      expect(lines).toHaveLength(1)
      // The output's own path (a stack's file within it), never its temporary's.
      expect(lines[0]).toMatch(new RegExp(`^slicewise: cannot (write|create) ${escape(output.replace(/\/$/, ""))}(/[^ ]*)?: no space left on device$`))
      expect(fs.readdirSync(full)).toEqual([])
    })
  }

  it("fails when the spill directory fills, naming the spill file, and removes the spill and the output's temporary", async () => {
    const elsewhere = tempDir("disk-full-out")
    try {
      const output = path.join(elsewhere, "edt.nrrd")
      // edt spills its forward sweep (int32, 32 MiB here) for the backward pass.
      const r = await runCli(["run", input, output, "threshold:min=128", "edt"], { SLICEWISE_SPILL_DIR: full })
      expect(r.code, r.stderr).toBe(1)
      expect(r.stderr).toMatch(new RegExp(`^slicewise: cannot write ${escape(full)}/slicewise-spill[^ ]*\\.raw: no space left on device\\n$`))
      expect(fs.readdirSync(full)).toEqual([])
      expect(fs.readdirSync(elsewhere)).toEqual([])
    } finally {
      fs.rmSync(elsewhere, { recursive: true, force: true })
    }
  })

  it("the same runs succeed once there is room (the failure was the device, not the run)", async () => {
    const output = path.join(dir, "roomy.nrrd")
    const r = await runCli(["run", input, output, "copy"])
    expect(r.code, r.stderr).toBe(0)
    expect(fs.statSync(output).size).toBeGreaterThan(128 * 256 * 256)
  })
})

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
