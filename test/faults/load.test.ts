/**
 * Under load (issue 22, item 4), through the CLI as real processes:
 *
 * - `slicewise batch` of 300 small jobs (12 configurations of input, steps and output format, 25
 *   jobs each, up to 16 at once) completes; every output is byte-identical to the other outputs of
 *   its configuration and to a `slicewise run` of that configuration alone (one per format), and no
 *   temporary, lock or spill is left.
 * - `slicewise run` with a tiny buffer budget, forced into over a thousand bands of rows over two
 *   passes (with a spill between them), writes the output of the run without a budget, byte for
 *   byte, and leaves no spill. The budget is `--buffers` (the part of `--memory` the planner fits):
 *   `--memory` first takes off the runtime measured in that process, which varies by MiB between
 *   processes, so it cannot pin a plan to a few KiB of buffers.
 *
 * - The same batch out of file descriptors: once its jobs have started, its limit (`prlimit`) is
 *   cut to what it holds plus 10, so that most jobs fail with EMFILE. The batch reports them and
 *   exits 1 (it used to die of an EMFILE thrown by its RSS sampler's timer), and leaves no lock,
 *   temporary or spill (a lock's release read the lock to check it was its own, which EMFILE
 *   prevented, so the locks stayed).
 *
 * Leaked file descriptors are checked in-process in fd-leaks.test.ts.
 */
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { leftovers, rawNrrd, runCli, startCli, tempDir } from "./cli.js"
import { sameFiles } from "../support/files.js"

let dir: string
let spill: string

beforeAll(() => {
  dir = tempDir("load")
  spill = tempDir("load-spill")
})

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true })
  fs.rmSync(spill, { recursive: true, force: true })
})

describe("a batch of 300 small jobs", () => {
  const inputs = [
    { shape: [6, 24, 32] as const, steps: ["gaussian:sigma=1"] },
    { shape: [9, 17, 28] as const, steps: ["median:radius=1", "threshold:min=128"] },
    { shape: [12, 32, 16] as const, steps: ["otsu", "edt"] }
  ]
  const formats = ["nrrd", "tif", "nii.gz", "zarr"]
  const JOBS = 300
  /** Job j's configuration: its input (and steps) and its output format. */
  const configOf = (j: number) => ({ input: j % 3, format: formats[Math.floor((j % 12) / 3)]! })

  /** Writes the inputs and a jobs file whose outputs go to `out` (made empty); returns the file. */
  const jobsFile = (out: string): string => {
    inputs.forEach((c, i) => rawNrrd(path.join(dir, `in-${i}.nrrd`), c.shape, i + 1))
    fs.rmSync(path.join(dir, out), { recursive: true, force: true })
    fs.mkdirSync(path.join(dir, out))
    const jobs = Array.from({ length: JOBS }, (_, j) => {
      const { input, format } = configOf(j)
      return { kind: "run", name: `job-${j}`, input: `in-${input}.nrrd`, output: `${out}/job-${j}.${format}`, steps: inputs[input]!.steps }
    })
    fs.writeFileSync(path.join(dir, `${out}.json`), JSON.stringify({ jobs }))
    return path.join(dir, `${out}.json`)
  }

  it("completes with each output identical to a run of its job alone, leaving nothing behind", async () => {
    const file = jobsFile("out")

    const r = await runCli(["batch", file, "--memory", "1GiB", "--concurrency", "16"], { SLICEWISE_SPILL_DIR: spill })
    expect(r.code, r.stderr.slice(-2000)).toBe(0)
    expect(fs.readdirSync(path.join(dir, "out"))).toHaveLength(JOBS)

    // The jobs of one configuration wrote the same bytes, however they were interleaved.
    for (let j = 12; j < JOBS; j++) {
      expect(sameFiles(path.join(dir, "out", `job-${j}.${configOf(j).format}`), path.join(dir, "out", `job-${j % 12}.${configOf(j).format}`)), `job-${j}`).toBe(true)
    }
    // And the bytes of a run alone: one configuration per output format, two runs at a time.
    const alone = [0, 4, 8, 10]
    for (let k = 0; k < alone.length; k += 2) {
      await Promise.all(
        alone.slice(k, k + 2).map(async (j) => {
          const { input, format } = configOf(j)
          const out = path.join(dir, `alone-${j}.${format}`)
          const single = await runCli(["run", path.join(dir, `in-${input}.nrrd`), out, ...inputs[input]!.steps], { SLICEWISE_SPILL_DIR: spill })
          expect(single.code, single.stderr).toBe(0)
          expect(sameFiles(path.join(dir, "out", `job-${j}.${format}`), out), `job-${j} against a run alone`).toBe(true)
        })
      )
    }
    expect(leftovers(dir)).toEqual([])
    expect(leftovers(path.join(dir, "out"))).toEqual([])
    expect(fs.readdirSync(spill)).toEqual([])
  }, 120_000)

  it("out of file descriptors: reports the failed jobs, exits 1, and leaves no lock, temporary or spill", async () => {
    const file = jobsFile("starved")
    const batch = startCli(["batch", file, "--memory", "1GiB", "--concurrency", "16"], { SLICEWISE_SPILL_DIR: spill })
    expect(await batch.saw(" start ")).toBe(true)
    const pid = batch.child.pid!
    const held = fs.readdirSync(`/proc/${pid}/fd`).length
    execFileSync("prlimit", [`--pid=${pid}`, `--nofile=${held + 10}:${held + 10}`])
    const r = await batch.done
    expect(r.code, r.stderr.slice(-2000)).toBe(1)
    const last = r.stderr.trim().split("\n").pop()!
    expect(last).toMatch(/^slicewise: batch: \d+ failed of 300 jobs$/)
    expect(r.stderr).toMatch(/ fail +job-\d+ .*: too many open files/)
    expect(r.stderr).not.toMatch(/^\s+at /m)
    expect(leftovers(path.join(dir, "starved"))).toEqual([])
    expect(fs.readdirSync(spill)).toEqual([])
  }, 120_000)
})

describe("a run in over a thousand bands", () => {
  it("writes the output of the run without a budget, byte for byte, and leaves no spill", async () => {
    // Tall, narrow slices (2048 rows of 48 voxels): bands of a row or a few.
    const input = rawNrrd(path.join(dir, "tall.nrrd"), [24, 2048, 48], 5)
    const steps = ["gaussian:sigma=1", "median:radius=1"]
    const free = await runCli(["run", input, path.join(dir, "free.nrrd"), ...steps, "--json"], { SLICEWISE_SPILL_DIR: spill })
    expect(free.code, free.stderr).toBe(0)
    const tight = await runCli(["run", input, path.join(dir, "tight.nrrd"), ...steps, "--buffers", "6KiB", "--json"], { SLICEWISE_SPILL_DIR: spill })
    expect(tight.code, tight.stderr).toBe(0)

    const passes: Array<{ bands: { rows: Array<unknown> } | null }> = JSON.parse(tight.stdout).plan.passes
    const bands = passes.reduce((n, p) => n + (p.bands?.rows.length ?? 0), 0)
    expect(passes.length).toBeGreaterThanOrEqual(2)
    expect(bands).toBeGreaterThanOrEqual(1000)
    expect(JSON.parse(free.stdout).plan.passes.every((p: { bands: unknown }) => p.bands === null)).toBe(true)

    expect(fs.readFileSync(path.join(dir, "tight.nrrd")).equals(fs.readFileSync(path.join(dir, "free.nrrd")))).toBe(true)
    expect(fs.readdirSync(spill)).toEqual([])
    expect(leftovers(dir)).toEqual([])
  }, 120_000)
})
