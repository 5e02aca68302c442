/**
 * The `slicewise` command as a user runs it: a real process, real files, exit codes and stderr.
 */
import { spawn, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { xorshift32 } from "../support/voxels.js"

const root = path.resolve(__dirname, "../..")
const fixture = (p: string) => path.join(root, "test/fixtures/tiff", p)
const cliArgs = ["--import", "tsx", path.join(root, "src/cli/main.ts")]

const slicewise = (...args: Array<string>) => {
  const r = spawnSync(process.execPath, [...cliArgs, ...args], { cwd: root, encoding: "utf8", env: { ...process.env, SLICEWISE_DEBUG: "" } })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

let dir: string
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "slicewise-cli-"))
})
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

describe("slicewise info", () => {
  it("describes a TIFF file", () => {
    const r = slicewise("info", fixture("classic/uint16.tif"), "--json")
    expect(r.code).toBe(0)
    const facts = JSON.parse(r.stdout)
    expect(facts).toMatchObject({ format: "tiff", dtype: "uint16", shape: [3, 5, 7] })
  })

  it("says in one line when the file does not exist", () => {
    const r = slicewise("info", path.join(dir, "nope.tif"))
    expect(r.code).toBe(1)
    expect(r.stderr.trim().split("\n")).toHaveLength(1)
    expect(r.stderr).toBe(`slicewise: ${path.join(dir, "nope.tif")}: no such file or directory\n`)
  })

  it("prints a NIfTI's float32 pixdim as the decimal it was written as (0.9, not 0.8999999761581421)", () => {
    // A NIfTI-1 header by hand: 2×3×4 uint8, pixdim 0.9 × 1.1 × 2.5 (x, y, z) as float32.
    const header = Buffer.alloc(352)
    header.writeInt32LE(348, 0)
    ;[3, 2, 3, 4, 1, 1, 1, 1].forEach((d, i) => header.writeInt16LE(d, 40 + 2 * i))
    header.writeInt16LE(2, 70) // DT_UNSIGNED_CHAR
    header.writeInt16LE(8, 72)
    ;[1, 0.9, 1.1, 2.5].forEach((p, i) => header.writeFloatLE(p, 76 + 4 * i))
    header.writeFloatLE(352, 108)
    header.writeUInt8(2, 123) // mm
    header.write("n+1\0", 344, "latin1")
    const file = path.join(dir, "pixdim.nii")
    fs.writeFileSync(file, Buffer.concat([header, Buffer.alloc(24, 1)]))
    const text = slicewise("info", file)
    expect(text.code, text.stderr).toBe(0)
    expect(text.stdout).toMatch(/^ {2}spacing {2}2\.5 × 1\.1 × 0\.9 mm$/m)
    const json = slicewise("info", file, "--json")
    expect(JSON.parse(json.stdout).spacing).toEqual([2.5, 1.1, 0.9])
  })
})

describe("physical metadata on the command line", () => {
  // An oblique LPS volume in mm, as 3D Slicer writes NRRD: 2×3×4 uint8.
  const obliqueNrrd = () => {
    const file = path.join(dir, "oblique.nrrd")
    const header = [
      "NRRD0004",
      "type: uint8",
      "dimension: 3",
      "space: left-posterior-superior",
      "sizes: 4 3 2",
      "space directions: (0,0.5,0) (-0.5,0,0) (0,0,2)",
      "space origin: (-10,20.5,30)",
      'space units: "mm" "mm" "mm"',
      "encoding: raw",
      "",
      ""
    ].join("\n")
    fs.writeFileSync(file, Buffer.concat([Buffer.from(header, "latin1"), Buffer.alloc(24, 7)]))
    return file
  }

  it("info shows the unit, frame, origin and directions", () => {
    const r = slicewise("info", obliqueNrrd())
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/^ {2}spacing {2}2 × 0\.5 × 0\.5 mm$/m)
    expect(r.stdout).toMatch(/^ {2}space {4}LPS$/m)
    expect(r.stdout).toMatch(/^ {2}origin {3}\(-10, 20\.5, 30\)$/m)
    expect(r.stdout).toMatch(/^ {2}direction \(0, 1, 0\) \(-1, 0, 0\) \(0, 0, 1\)$/m)
    const facts = JSON.parse(slicewise("info", obliqueNrrd(), "--json").stdout)
    expect(facts.geometry).toEqual({ unit: "mm", space: "LPS", origin: [-10, 20.5, 30], direction: [[0, 1, 0], [-1, 0, 0], [0, 0, 1]] })
  })

  it("a run into a format that cannot hold the directions and frame says so in one line; one that can says nothing", () => {
    const input = obliqueNrrd()
    const zarr = slicewise("run", input, path.join(dir, "oblique.ome.zarr"), "copy")
    expect(zarr.code, zarr.stderr).toBe(0)
    const notes = zarr.stdout.split("\n").filter((l) => l.startsWith("note:"))
    expect(notes).toEqual([
      `note: ${path.join(dir, "oblique.ome.zarr")} (ome-zarr) does not hold the direction (not axis-aligned) and the anatomical frame (LPS); they are not written`
    ])
    expect(slicewise("plan", input, path.join(dir, "p.ome.zarr"), "copy").stdout).toContain("does not hold the direction")
    const nifti = slicewise("run", input, path.join(dir, "oblique.nii"), "copy")
    expect(nifti.code, nifti.stderr).toBe(0)
    expect(nifti.stdout).not.toContain("note:")
    const back = JSON.parse(slicewise("info", path.join(dir, "oblique.nii"), "--json").stdout)
    // The same directions in RAS: x and y mirrored.
    expect(back.geometry).toMatchObject({ unit: "mm", space: "RAS", origin: [10, -20.5, 30], direction: [[0, -1, 0], [1, 0, 0], [0, 0, 1]] })
  })
})

describe("slicewise run", () => {
  it("runs steps, writes the output and reports measured figures as JSON", () => {
    const out = path.join(dir, "out.nrrd")
    const r = slicewise("run", fixture("classic/uint8.tif"), out, "median:radius=1", "threshold:min=100", "--json")
    expect(r.code).toBe(0)
    const result = JSON.parse(r.stdout)
    expect(result.metrics.bytesWritten).toBe(fs.statSync(out).size)
    expect(result.metrics.peakBufferBytes).toBeLessThanOrEqual(result.metrics.plannedPeakBufferBytes)
    expect(result.plan.passes).toHaveLength(1)
    const info = JSON.parse(slicewise("info", out, "--json").stdout)
    expect(info).toMatchObject({ format: "nrrd", dtype: "uint8", shape: [3, 5, 7] })
  })

  it("gives the same bytes with 1 and 2 row threads, and says how many it used", () => {
    // 300² slices: enough work per slice for the gaussian and median passes to be split.
    const [z, y, x] = [6, 300, 300]
    const random = xorshift32(11)
    const voxels = Uint16Array.from({ length: z * y * x }, () => random() % 4096)
    const input = path.join(dir, "threads-in.nrrd")
    const header = `NRRD0004\ntype: ushort\ndimension: 3\nsizes: ${x} ${y} ${z}\nendian: little\nencoding: raw\n\n`
    fs.writeFileSync(input, Buffer.concat([Buffer.from(header), Buffer.from(voxels.buffer)]))
    const outputs = [1, 2].map((threads) => {
      const out = path.join(dir, `threads-${threads}.nrrd`)
      const r = slicewise("run", input, out, "gaussian:sigma=1.5", "median:radius=1", "--threads", String(threads), "--json")
      expect(r.code, r.stderr).toBe(0)
      expect(JSON.parse(r.stdout).plan.passes[0].threads).toBe(threads)
      return fs.readFileSync(out)
    })
    expect(outputs[1]!.equals(outputs[0]!)).toBe(true)
    const bad = slicewise("run", input, path.join(dir, "threads-0.nrrd"), "copy", "--threads", "0")
    expect(bad.code).toBe(1)
    expect(bad.stderr).toContain("--threads must be an integer from 1 to 256, got 0")
  })

  it("refuses a bad step in one line naming it, without a stack trace", () => {
    const r = slicewise("run", fixture("classic/uint8.tif"), path.join(dir, "x.tif"), "median:radius=-2")
    expect(r.code).toBe(1)
    expect(r.stderr.trim().split("\n")).toHaveLength(1)
    expect(r.stderr).toContain('step "median:radius=-2"')
    expect(r.stderr).not.toMatch(/\bat .*\.ts:\d+/)
    expect(fs.existsSync(path.join(dir, "x.tif"))).toBe(false)
  })

  it("refuses to run, plan or cost no steps, saying to give a step or copy; copy converts", () => {
    const input = fixture("classic/uint8.tif")
    const out = path.join(dir, "nosteps.nrrd")
    for (const command of ["run", "plan", "cost"]) {
      const r = slicewise(command, input, out)
      expect(r.code, command).toBe(1)
      expect(r.stderr).toBe(
        `slicewise: no steps: give at least one (e.g. median:radius=1; the list is in slicewise run --help), or copy to convert ${input} to ${out} unchanged\n`
      )
      expect(fs.existsSync(out)).toBe(false)
    }
    expect(slicewise("run", input, out, "copy").code).toBe(0)
    expect(JSON.parse(slicewise("info", out, "--json").stdout)).toMatchObject({ format: "nrrd", dtype: "uint8", shape: [3, 5, 7] })
  })

  it("names the output's directory when it does not exist", () => {
    const out = path.join(dir, "no-such-dir", "deeper", "x.tif")
    const r = slicewise("run", fixture("classic/uint8.tif"), out, "copy")
    expect(r.code).toBe(1)
    expect(r.stderr).toBe(`slicewise: cannot create ${out}: the directory ${path.join(dir, "no-such-dir", "deeper")} does not exist\n`)
  })

  it("reports an unknown option as an option, in one line, with the closest known one, on every command", () => {
    const input = fixture("classic/uint8.tif")
    const out = path.join(dir, "never3.nrrd")
    const r = slicewise("run", input, out, "--memmory", "64MiB")
    expect(r.code).toBe(1)
    expect(r.stderr).toBe("slicewise: unknown option --memmory for slicewise run (did you mean --memory?)\n")
    expect(fs.existsSync(out)).toBe(false)
    const cases: Array<[Array<string>, string]> = [
      [["plan", input, out, "copy", "--thread", "2"], "unknown option --thread for slicewise plan (did you mean --threads?)"],
      [["cost", input, out, "copy", "--memory=1GiB", "--jsn"], "unknown option --jsn for slicewise cost (did you mean --json?)"],
      [["info", "--jsn", input], "unknown option --jsn for slicewise info (did you mean --json?)"],
      [["batch", "jobs.json", "--memory", "1GiB", "--concurency", "2"], "unknown option --concurency for slicewise batch (did you mean --concurrency?)"],
      [["fuse", out, "--target", input, "--atlass", input], "unknown option --atlass for slicewise fuse (did you mean --atlas?)"],
      [["run", input, out, "copy", "--frobnicate"], "unknown option --frobnicate for slicewise run (slicewise run --help lists its options)"]
    ]
    for (const [args, line] of cases) {
      const c = slicewise(...args)
      expect(c.code, args.join(" ")).toBe(1)
      expect(c.stderr, args.join(" ")).toBe(`slicewise: ${line}\n`)
    }
  })

  it("refuses an unknown step", () => {
    const r = slicewise("run", fixture("classic/uint8.tif"), path.join(dir, "x.tif"), "sharpen")
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^slicewise: step "sharpen"/)
  })

  it("refuses a buffer budget smaller than the plan's buffers, naming the minimum", () => {
    const r = slicewise("run", fixture("classic/uint8.tif"), path.join(dir, "x.tif"), "median:radius=1", "--buffers", "10B")
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/smallest budget that works is \d/)
  })

  it("refuses a corrupt input in one line naming the file", () => {
    const bad = path.join(dir, "bad.tif")
    fs.writeFileSync(bad, Buffer.from("II*\0garbage that is not an IFD"))
    const r = slicewise("run", bad, path.join(dir, "y.tif"), "copy")
    expect(r.code).toBe(1)
    expect(r.stderr.trim().split("\n")).toHaveLength(1)
    expect(r.stderr).toContain("bad.tif")
  })

  it("interrupted by Ctrl-C, leaves no output and no temporary file", async () => {
    const input = path.join(dir, "big.nrrd")
    // A volume big enough that the run is still going when the signal comes.
    const header = "NRRD0004\ntype: uint8\ndimension: 3\nsizes: 512 512 200\nencoding: raw\n\n"
    fs.writeFileSync(input, Buffer.concat([Buffer.from(header), Buffer.alloc(512 * 512 * 200, 7)]))
    const outDir = path.join(dir, "interrupted")
    fs.mkdirSync(outDir)
    const output = path.join(outDir, "out.tif")
    const child = spawn(process.execPath, [...cliArgs, "run", input, output, "median:radius=2"], { cwd: root })
    let stderr = ""
    child.stderr.on("data", (d) => (stderr += d))
    // Wait until the temporary output exists (beside the output's lock, not the lock's own
    // short-lived draft, out.tif.slicewise-lock.partial-…), then interrupt.
    const deadline = Date.now() + 30_000
    while (!fs.readdirSync(outDir).some((n) => n.startsWith("out.tif.partial-")) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
    expect(fs.readdirSync(outDir).map((n) => n.replace(/\.partial-.*/, ".partial-…")).sort()).toEqual(["out.tif.partial-…", "out.tif.slicewise-lock"])
    child.kill("SIGINT")
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve))
    expect(code).toBe(130)
    expect(stderr.trim()).toBe("slicewise: interrupted")
    expect(fs.readdirSync(outDir)).toEqual([])
  })
})

describe("slicewise cost", () => {
  it("predicts, without writing anything, the bytes the run then reads and writes", () => {
    const out = path.join(dir, "cost.nrrd")
    const steps = ["gaussian:sigma=1", "threshold:min=100", "edt"]
    const dry = slicewise("cost", fixture("classic/uint16.tif"), out, ...steps, "--json")
    expect(dry.code).toBe(0)
    expect(fs.existsSync(out)).toBe(false)
    const predicted = JSON.parse(dry.stdout)
    expect(predicted.passes).toHaveLength(2)
    const r = slicewise("run", fixture("classic/uint16.tif"), out, ...steps, "--json")
    const measured = JSON.parse(r.stdout).metrics
    expect(measured.bytesRead).toBe(predicted.bytesRead)
    expect(measured.bytesWritten).toBe(predicted.bytesWritten)
  })
})

describe("slicewise plan", () => {
  it("prints passes, stages, latencies and rings without reading voxels", () => {
    const r = slicewise("plan", fixture("classic/uint8.tif"), path.join(dir, "p.tif"), "gaussian:sigma=1", "median:radius=1")
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/pass 1\/1/)
    expect(r.stdout).toMatch(/median/)
    expect(r.stdout).toMatch(/latency \d+/)
    expect(r.stdout).toMatch(/ring \d+ slices?/)
    expect(fs.existsSync(path.join(dir, "p.tif"))).toBe(false)
  })
})

describe("slicewise --buffers and --memory", () => {
  it("fits a run's buffers into --buffers with bands of rows: same output, buffers within it, predicted bytes exact", () => {
    const input = path.join(dir, "budget-in.nrrd")
    const header = "NRRD0004\ntype: uint8\ndimension: 3\nsizes: 40 30 12\nencoding: raw\n\n"
    fs.writeFileSync(input, Buffer.concat([Buffer.from(header), Buffer.from(Array.from({ length: 40 * 30 * 12 }, (_, i) => (i * 37) % 251))]))
    const steps = ["gaussian:sigma=1", "median:radius=1"]
    const free = slicewise("run", input, path.join(dir, "free.nrrd"), ...steps, "--json")
    expect(free.code).toBe(0)
    const planned = JSON.parse(free.stdout).plan.peakBufferBytes as number
    const budget = `${Math.floor(planned / 3)}B`
    const dry = slicewise("cost", input, path.join(dir, "tight.nrrd"), ...steps, "--buffers", budget, "--json")
    expect(dry.code).toBe(0)
    expect(JSON.parse(dry.stdout).passes.some((p: { bands: number }) => p.bands > 1)).toBe(true)
    const tight = slicewise("run", input, path.join(dir, "tight.nrrd"), ...steps, "--buffers", budget, "--json")
    expect(tight.code).toBe(0)
    const result = JSON.parse(tight.stdout)
    expect(result.plan.peakBufferBytes).toBeLessThanOrEqual(Math.floor(planned / 3))
    expect(result.metrics.peakBufferBytes).toBeLessThanOrEqual(result.plan.peakBufferBytes)
    expect(result.metrics.bytesRead).toBe(JSON.parse(dry.stdout).bytesRead)
    expect(result.metrics.bytesRead).toBe(result.predicted.bytesRead)
    expect(fs.readFileSync(path.join(dir, "tight.nrrd")).equals(fs.readFileSync(path.join(dir, "free.nrrd")))).toBe(true)
    const plan = slicewise("plan", input, path.join(dir, "tight.nrrd"), ...steps, "--buffers", budget)
    expect(plan.stdout).toMatch(/\d+ bands of \d+ rows/)
  })

  it("refuses an impossible budget before creating the output, with a size that works", () => {
    const out = path.join(dir, "never.tif")
    const r = slicewise("run", fixture("classic/uint16.tif"), out, "gaussian:sigma=1", "--memory", "64B")
    expect(r.code).toBe(1)
    expect(r.stderr.trim().split("\n")).toHaveLength(1)
    const suggested = /try --memory (\S+)/.exec(r.stderr)
    expect(suggested).not.toBeNull()
    expect(fs.existsSync(out)).toBe(false)
    const again = slicewise("run", fixture("classic/uint16.tif"), out, "gaussian:sigma=1", "--memory", suggested![1]!)
    expect(again.code, again.stderr).toBe(0)
  })

  it("shares --memory out as runtime, headroom, worker threads and buffers, and says so in the plan", () => {
    const out = path.join(dir, "split.tif")
    const r = slicewise("plan", fixture("classic/uint16.tif"), out, "gaussian:sigma=1", "--memory", "1GiB", "--threads", "2", "--json")
    expect(r.code).toBe(0)
    const plan = JSON.parse(r.stdout)
    const m = plan.memory
    expect(m.totalBytes).toBe(2 ** 30)
    expect(m.workerThreads).toBe(1)
    expect(m.runtimeBytes).toBeGreaterThan(20 * 2 ** 20)
    expect(m.runtimeBytes + m.headroomBytes + m.workerBytes + m.bufferBytes).toBe(m.totalBytes)
    expect(plan.peakBufferBytes).toBeLessThanOrEqual(m.bufferBytes)
    const text = slicewise("plan", fixture("classic/uint16.tif"), out, "gaussian:sigma=1", "--memory", "1GiB", "--threads", "2")
    expect(text.stdout.split("\n")[0]).toMatch(/^memory 1\.00 GiB \(peak RSS\): runtime .*, headroom .*, 1 worker thread .*, buffers up to .* \(planned .*\)$/)
  })

  it("refuses a --memory the runtime alone exceeds, naming what takes it", () => {
    const r = slicewise("run", fixture("classic/uint16.tif"), path.join(dir, "never2.tif"), "copy", "--memory", "8MiB")
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^slicewise: --memory 8MiB is too small: the runtime takes .*, headroom .* and the plan's buffers at least .*; try --memory \S+\n$/)
  })
})

describe("slicewise calibrate", () => {
  it("measures throughputs into the calibration file, which cost then uses; a damaged file is named", () => {
    const file = path.join(dir, "config", "calibration.json")
    const env = { ...process.env, SLICEWISE_CALIBRATION: file, SLICEWISE_DEBUG: "" }
    const run = (...args: Array<string>) => spawnSync(process.execPath, [...cliArgs, ...args], { cwd: root, encoding: "utf8", env })
    const c = run("calibrate", "--size", "4MiB", "--json")
    expect(c.status).toBe(0)
    const saved = JSON.parse(fs.readFileSync(file, "utf8"))
    for (const k of ["readBytesPerSecond", "writeBytesPerSecond", "voxelOpsPerSecond"]) expect(saved[k]).toBeGreaterThan(0)
    const cost = run("cost", fixture("classic/uint8.tif"), path.join(dir, "c.tif"), "median:radius=1", "--json")
    expect(JSON.parse(cost.stdout)).toMatchObject({ throughputFrom: file, throughput: { voxelOpsPerSecond: saved.voxelOpsPerSecond } })
    fs.writeFileSync(file, '{"version": 1, "readBytesPerSecond": "fast"}')
    const bad = run("cost", fixture("classic/uint8.tif"), path.join(dir, "c.tif"), "median:radius=1")
    expect(bad.status).toBe(1)
    expect(bad.stderr).toContain(file)
  })
})
