/**
 * No leaked file descriptor or spill (issue 22, item 4), in-process: library runs — banded and
 * spilling on worker threads, a batch of many jobs, runs that fail mid-volume and a run that is
 * interrupted — leave this process with the same open fds (from /proc/self/fd, each with what it
 * points at) as before, and nothing in SLICEWISE_SPILL_DIR.
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest"
import { runBatch, type BatchJob } from "../../src/batch/index.js"
import * as Run from "../../src/interpreters/run/index.js"
import { resolveJobPaths } from "../../src/jobs/file.js"
import { runJobSetUp, type RunJob } from "../../src/jobs/run-job.js"
import { leftovers, rawNrrd, tempDir } from "./cli.js"

const MiB = 2 ** 20
let dir: string
let spill: string
const spillBefore = process.env.SLICEWISE_SPILL_DIR

/** This process's open fds, each as "fd -> target". */
const openFds = (): Array<string> =>
  fs
    .readdirSync("/proc/self/fd")
    .map((fd) => {
      try {
        return `${fd} -> ${fs.readlinkSync(`/proc/self/fd/${fd}`)}`
      } catch {
        return undefined // the directory listing's own fd, closed by now
      }
    })
    .filter((s): s is string => s !== undefined)
    .sort()

let fdsBefore: Array<string>

beforeAll(async () => {
  dir = tempDir("fd-leaks")
  spill = tempDir("fd-leaks-spill")
  process.env.SLICEWISE_SPILL_DIR = spill
  rawNrrd(path.join(dir, "tall.nrrd"), [16, 1024, 48], 3)
  for (let i = 0; i < 3; i++) rawNrrd(path.join(dir, `small-${i}.nrrd`), [8, 20 + 4 * i, 28], i + 1)
  // Warm up what a first run loads once for the process's life (modules, the worker pool's code),
  // so that what is compared is what a run holds, not what the runtime keeps.
  await runSteps("small-0.nrrd", "warm.tif", ["gaussian:sigma=1"], { threads: 2 })
})

afterAll(() => {
  if (spillBefore === undefined) delete process.env.SLICEWISE_SPILL_DIR
  else process.env.SLICEWISE_SPILL_DIR = spillBefore
  fs.rmSync(dir, { recursive: true, force: true })
  fs.rmSync(spill, { recursive: true, force: true })
})

beforeEach(() => {
  fdsBefore = openFds()
})

afterEach(() => {
  expect(openFds()).toEqual(fdsBefore)
  expect(fs.readdirSync(spill)).toEqual([])
  expect(leftovers(dir)).toEqual([])
})

const job = (input: string, output: string, steps: ReadonlyArray<string>, name = output): RunJob => ({ kind: "run", name, input, output, steps })

const setUp = (input: string, output: string, steps: ReadonlyArray<string>) => runJobSetUp(resolveJobPaths(job(input, output, steps), path.join(dir, "jobs.json")))

/** Runs `steps` from `input` to `output` (names in `dir`) with the library's run interpreter. */
async function runSteps(input: string, output: string, steps: ReadonlyArray<string>, options: Run.RunOptions = {}) {
  const { program } = await Effect.runPromise(setUp(input, output, steps))
  return Effect.runPromise(Run.run(program, options))
}

describe("file descriptors and spills after library runs", () => {
  it("a run in hundreds of bands over two passes with a spill, on worker threads", async () => {
    const steps = ["gaussian:sigma=1", "median:radius=1"]
    await runSteps("tall.nrrd", "free.nrrd", steps, { threads: 2 })
    const tight = await runSteps("tall.nrrd", "tight.nrrd", steps, { threads: 2, memoryBytes: 6 * 1024 })
    expect(tight.plan.passes.length).toBeGreaterThanOrEqual(2)
    expect(tight.plan.passes.reduce((n, p) => n + (p.bands?.bands.length ?? 0), 0)).toBeGreaterThan(300)
    expect(fs.readFileSync(path.join(dir, "tight.nrrd")).equals(fs.readFileSync(path.join(dir, "free.nrrd")))).toBe(true)
  }, 60_000)

  it("a batch of 120 jobs, 8 at a time, in four formats", async () => {
    const formats = ["nrrd", "tif", "nii.gz", "zarr"]
    const steps = [["median:radius=1"], ["otsu", "edt"], ["gaussian:sigma=1", "threshold:min=100"]]
    const jobs: Array<BatchJob> = Array.from({ length: 120 }, (_, j) => {
      const output = `batch-${j}.${formats[j % 4]}`
      return { name: output, kind: "run", setUp: setUp(`small-${j % 3}.nrrd`, output, steps[j % 3]!) }
    })
    const r = await Effect.runPromise(runBatch(jobs, { memoryBytes: 1024 * MiB, baselineBytes: 0, headroomBytes: 0, concurrency: 8 }))
    expect(r.jobs.filter((j) => j.status !== "done")).toEqual([])
  }, 60_000)

  it("runs that fail mid-volume: a stack file become a directory, an input cut short", async () => {
    // A TIFF stack whose slice 5 is replaced by a directory after the source is opened: its read
    // fails with EISDIR, a real read error.
    await runSteps("small-1.nrrd", "stack/", ["copy"])
    const stack = await Effect.runPromise(setUp("stack/", "from-stack.nrrd", ["gaussian:sigma=1"]))
    const slice5 = path.join(dir, "stack", "slice_00005.tif")
    fs.rmSync(slice5)
    fs.mkdirSync(slice5)
    const failedStack = await Effect.runPromiseExit(Run.run(stack.program, { threads: 2 }))
    expect(Exit.isFailure(failedStack) && String(failedStack.cause)).toMatch(/slice_00005\.tif.*is a directory/)

    // An NRRD cut short after it was opened.
    fs.copyFileSync(path.join(dir, "tall.nrrd"), path.join(dir, "cut.nrrd"))
    const cut = await Effect.runPromise(setUp("cut.nrrd", "from-cut.tif", ["median:radius=1"]))
    fs.truncateSync(path.join(dir, "cut.nrrd"), Math.floor(fs.statSync(path.join(dir, "cut.nrrd")).size * 0.6))
    const failedCut = await Effect.runPromiseExit(Run.run(cut.program, { threads: 2, memoryBytes: 64 * 1024 }))
    expect(Exit.isFailure(failedCut) && String(failedCut.cause)).toMatch(/cut\.nrrd.*ends \d+ bytes early/)
    expect(fs.existsSync(path.join(dir, "from-stack.nrrd")) || fs.existsSync(path.join(dir, "from-cut.tif"))).toBe(false)
  }, 60_000)

  it("a run interrupted mid-pass", async () => {
    const { program } = await Effect.runPromise(setUp("tall.nrrd", "interrupted.nrrd", ["gaussian:sigma=1", "median:radius=1"]))
    let ticks = 0
    const fiber = Effect.runFork(Run.run(program, { threads: 2, memoryBytes: 16 * 1024, onProgress: () => void ticks++ }))
    while (ticks < 200) await new Promise((r) => setTimeout(r, 5))
    const exit = await Effect.runPromise(Fiber.interrupt(fiber))
    expect(Exit.isInterrupted(exit)).toBe(true)
    expect(fs.existsSync(path.join(dir, "interrupted.nrrd"))).toBe(false)
  }, 60_000)
})
