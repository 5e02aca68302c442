/**
 * The output's file system fills up mid-run: a 4 MiB tmpfs (mounted here, as root) receives an
 * 8 MiB output, or a 32 MiB spill. The run must fail with one line naming the output (or the spill)
 * and saying the device is full — a FileError, not an internal error — and leave nothing on the
 * full file system: no temporary, no lock, no spill, no output.
 *
 * A journaled run (`--resume`) out of space says so in the same one line, adds that it can be
 * resumed, and keeps its journal and temporary; once the file system has room (the tmpfs is made
 * larger), `--resume` keeps the slices it verifies and finishes with the uninterrupted run's bytes.
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

  it("a --resume run out of space is kept, and --resume finishes it once there is room, keeping what was written", async () => {
    const output = path.join(full, "resumed.nrrd")
    const reference = path.join(dir, "reference.nrrd")
    const steps = ["gaussian:sigma=1", "median:radius=1"]
    expect((await runCli(["run", input, reference, ...steps, "--threads", "1"])).code).toBe(0)
    const args = ["run", input, output, ...steps, "--threads", "1", "--resume"]
    try {
      const r = await runCli(args)
      expect(r.code, r.stderr).toBe(1)
      const journal = `${output}.slicewise-journal`
      expect(r.stderr).toBe(
        `slicewise: cannot write ${output}: no space left on device; resumable once there is room: run the same command with --resume (journal ${journal})\n`
      )
      expect(fs.existsSync(journal)).toBe(true)
      expect(fs.readdirSync(full).filter((n) => n.startsWith("resumed.nrrd.partial-"))).toHaveLength(1)
      execFileSync("mount", ["-o", "remount,size=32m", full])
      const again = await runCli(args)
      expect(again.code, again.stderr).toBe(0)
      expect(again.stdout).toMatch(/resumed at slice [1-9]\d* of pass 1 of 1 \([1-9]\d* slices kept, the last \d+ read back and verified\)/)
      expect(fs.readFileSync(output).equals(fs.readFileSync(reference))).toBe(true)
      expect(fs.readdirSync(full)).toEqual(["resumed.nrrd"])
    } finally {
      fs.rmSync(output, { force: true })
      execFileSync("mount", ["-o", "remount,size=4m", full])
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
