/**
 * runBatch on real files: NRRD and TIFF inputs written in a temp dir, `run` jobs set up as the CLI
 * does, a budget with the baseline and headroom fixed (so that the test does not depend on the
 * test runner's own RSS), and the scheduler's own log as the witness.
 */
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { volumeInfo } from "../../src/algebra/volume.js"
import { runBatch, type BatchJob, type BatchResult } from "../../src/batch/index.js"
import { HEADROOM_BYTES, headroomBytes } from "../../src/jobs/memory.js"
import type { RunJob } from "../../src/jobs/run-job.js"
import { resolveJobPaths } from "../../src/jobs/file.js"
import { runJobSetUp } from "../../src/jobs/run-job.js"
import * as Run from "../../src/interpreters/run/index.js"
import { openSource } from "../../src/io/index.js"
import { arraySource } from "../../src/io/memory.js"
import { tiffFileSink } from "../../src/io/tiff/writer.js"
import { readAll } from "../support/volume-io.js"

const MiB = 2 ** 20
let dir: string
const jobsFile = () => path.join(dir, "jobs.json")

const writeNrrd = (file: string, shape: readonly [number, number, number], seed: number) => {
  const [z, y, x] = shape
  const header = `NRRD0004\ntype: uint8\ndimension: 3\nsizes: ${x} ${y} ${z}\nencoding: raw\n\n`
  const data = Buffer.from(Array.from({ length: x * y * z }, (_, i) => (i * 2654435761 + seed * 97) % 251))
  fs.writeFileSync(file, Buffer.concat([Buffer.from(header), data]))
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "slicewise-batch-"))
  for (let i = 0; i < 4; i++) writeNrrd(path.join(dir, `in-${i}.nrrd`), [12, 40, 56], i)
  const info = volumeInfo("uint16", [9, 33, 41])
  const data = Uint16Array.from({ length: 9 * 33 * 41 }, (_, i) => (i * 40503) % 4000)
  await Effect.runPromise(Run.run((alg) => ({ o: alg.write(alg.source(arraySource(info, data)), tiffFileSink(path.join(dir, "in.tif"))) })))
  // A row of 1 MiB: median radius 1 needs at least 20 MiB of buffers however it is banded.
  writeNrrd(path.join(dir, "wide.nrrd"), [4, 2, 1 << 20], 9)
  // The header promises more voxels than the file holds.
  fs.writeFileSync(path.join(dir, "truncated.nrrd"), fs.readFileSync(path.join(dir, "in-0.nrrd")).subarray(0, 5000))
})
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

const runJob = (name: string, input: string, output: string, steps: ReadonlyArray<string>): RunJob => ({ kind: "run", name, input, output, steps })

const toBatch = (jobs: ReadonlyArray<RunJob>): ReadonlyArray<BatchJob> =>
  jobs.map((j) => ({ name: j.name!, kind: "run", setUp: runJobSetUp(resolveJobPaths(j, jobsFile())) }))

/** The largest running count and sum of predicted peaks in the scheduler's log. */
const highWater = (r: BatchResult) => ({
  running: Math.max(...r.events.map((e) => e.running)),
  bytes: Math.max(...r.events.map((e) => e.runningPredictedBytes))
})

const voxelsOf = (file: string) => Effect.runPromise(Effect.flatMap(openSource(file), (s) => readAll(s))).then((r) => r.bytes)

describe("runBatch", () => {
  it("with a budget that fits three jobs, never runs more than three and never exceeds it; outputs equal single runs", async () => {
    const steps = [
      ["median:radius=1"],
      ["gaussian:sigma=1", "threshold:min=120"],
      ["uniform:size=3"],
      ["grey-dilate:radius=1"]
    ]
    const jobs: Array<RunJob> = []
    for (let i = 0; i < 8; i++) {
      const ext = i % 3 === 0 ? "tif" : i % 3 === 1 ? "nrrd" : "nii"
      const input = i === 5 ? "in.tif" : `in-${i % 4}.nrrd`
      jobs.push(runJob(`job-${i}`, input, `out-${i}.${ext}`, steps[i % steps.length]!))
    }
    const overhead = 1 * MiB
    // Every job predicts 1 MiB plus its (few KiB of) buffers: 3.5 MiB fits three, never four.
    const budget = 3.5 * MiB
    const r = await Effect.runPromise(
      runBatch(toBatch(jobs), { memoryBytes: budget, baselineBytes: 0, headroomBytes: 0, overheadBytesPerJob: overhead, concurrency: 8 })
    )
    expect(r.jobs.map((j) => j.status)).toEqual(jobs.map(() => "done"))
    for (const j of r.jobs) expect(j.predictedPeakBytes).toBeGreaterThan(overhead)
    const high = highWater(r)
    expect(high.running).toBe(3)
    expect(high.bytes).toBeLessThanOrEqual(budget)
    for (const e of r.events) {
      expect(e.running).toBeLessThanOrEqual(3)
      expect(e.runningPredictedBytes).toBeLessThanOrEqual(r.jobBudgetBytes)
    }
    // Each job was admitted once and then started, finished once, in the log's time order.
    for (let i = 0; i < jobs.length; i++) expect(r.events.filter((e) => e.index === i).map((e) => e.kind)).toEqual(["admit", "start", "finish"])
    const times = r.events.map((e) => e.tMs)
    expect([...times].sort((a, b) => a - b)).toEqual(times)

    for (let i = 0; i < jobs.length; i++) {
      const alone = runJob(`alone-${i}`, jobs[i]!.input, `alone-${i}.${jobs[i]!.output.split(".").pop()}`, jobs[i]!.steps)
      const { program } = await Effect.runPromise(runJobSetUp(resolveJobPaths(alone, jobsFile())))
      const single = await Effect.runPromise(Run.run(program))
      expect(r.jobs[i]!.bytesWritten).toBe(single.bytesWritten)
      expect(r.jobs[i]!.bytesRead).toBe(single.bytesRead)
      const [batched, reference] = await Promise.all([voxelsOf(path.join(dir, jobs[i]!.output)), voxelsOf(path.join(dir, alone.output))])
      expect(Buffer.from(batched).equals(Buffer.from(reference))).toBe(true)
    }
  })

  it("holds to --concurrency when memory is plentiful", async () => {
    const jobs = [0, 1, 2, 3, 4].map((i) => runJob(`c-${i}`, `in-${i % 4}.nrrd`, `c-${i}.nrrd`, ["median:radius=1"]))
    const r = await Effect.runPromise(
      runBatch(toBatch(jobs), { memoryBytes: 1024 * MiB, baselineBytes: 0, headroomBytes: 0, overheadBytesPerJob: MiB, concurrency: 2 })
    )
    expect(r.jobs.every((j) => j.status === "done")).toBe(true)
    expect(highWater(r).running).toBe(2)
  })

  it("refuses an oversized job up front, with what it needs, and runs the others", async () => {
    const jobs = [
      runJob("small-a", "in-0.nrrd", "r-a.nrrd", ["median:radius=1"]),
      runJob("wide", "wide.nrrd", "r-wide.nrrd", ["median:radius=1"]),
      runJob("small-b", "in-1.nrrd", "r-b.nrrd", ["median:radius=1"])
    ]
    const r = await Effect.runPromise(
      runBatch(toBatch(jobs), { memoryBytes: 8 * MiB, baselineBytes: 0, headroomBytes: 0, overheadBytesPerJob: MiB, concurrency: 2 })
    )
    expect(r.jobs.map((j) => j.status)).toEqual(["done", "refused", "done"])
    const wide = r.jobs[1]!
    expect(wide.detail).toMatch(/needs 2\d\.\d MiB .*budget leaves 8\.00 MiB for jobs/)
    expect(wide.predictedPeakBytes).toBeGreaterThan(20 * MiB)
    expect(wide.startMs).toBeUndefined()
    expect(fs.existsSync(path.join(dir, "r-wide.nrrd"))).toBe(false)
    // Refused before anything started: its event comes first, and it never starts.
    expect(r.events[0]).toMatchObject({ kind: "refuse", job: "wide", running: 0 })
    expect(r.events.filter((e) => e.job === "wide").map((e) => e.kind)).toEqual(["refuse"])
    expect(fs.existsSync(path.join(dir, "r-a.nrrd")) && fs.existsSync(path.join(dir, "r-b.nrrd"))).toBe(true)
  })

  it("fits a job that is too big as planned into the share the budget leaves, with bands", async () => {
    const jobs = [runJob("fitted", "in-2.nrrd", "f.nrrd", ["gaussian:sigma=2"])]
    const unbudgeted = await Effect.runPromise(runBatch(toBatch(jobs), { memoryBytes: 1024 * MiB, baselineBytes: 0, headroomBytes: 0, overheadBytesPerJob: 0 }))
    const planned = unbudgeted.jobs[0]!.plannedBufferBytes
    const share = Math.floor(planned / 2)
    const r = await Effect.runPromise(runBatch(toBatch([{ ...jobs[0]!, output: "f2.nrrd" }]), { memoryBytes: share, baselineBytes: 0, headroomBytes: 0, overheadBytesPerJob: 0 }))
    expect(r.jobs[0]).toMatchObject({ status: "done", planMemoryBytes: share })
    expect(r.jobs[0]!.plannedBufferBytes).toBeLessThanOrEqual(share)
    expect(r.jobs[0]!.measuredPeakBufferBytes).toBeLessThanOrEqual(share)
    expect(fs.readFileSync(path.join(dir, "f2.nrrd")).equals(fs.readFileSync(path.join(dir, "f.nrrd")))).toBe(true)
  })

  it("plans a job within its own buffers, with bands, and refuses buffers too few for it", async () => {
    const jobs = [runJob("free", "in-2.nrrd", "b.nrrd", ["gaussian:sigma=2"])]
    const unbudgeted = await Effect.runPromise(runBatch(toBatch(jobs), { memoryBytes: 1024 * MiB, baselineBytes: 0, headroomBytes: 0, overheadBytesPerJob: 0 }))
    const cap = Math.floor(unbudgeted.jobs[0]!.plannedBufferBytes / 2)
    const capped = [{ ...jobs[0]!, name: "capped", output: "b2.nrrd", buffers: `${cap}B` }, { ...jobs[0]!, name: "tiny", output: "b3.nrrd", buffers: "16B" }]
    const r = await Effect.runPromise(runBatch(toBatch(capped), { memoryBytes: 1024 * MiB, baselineBytes: 0, headroomBytes: 0, overheadBytesPerJob: 0 }))
    expect(r.jobs[0]).toMatchObject({ status: "done", planMemoryBytes: cap })
    expect(r.jobs[0]!.plannedBufferBytes).toBeLessThanOrEqual(cap)
    expect(fs.readFileSync(path.join(dir, "b2.nrrd")).equals(fs.readFileSync(path.join(dir, "b.nrrd")))).toBe(true)
    expect(r.jobs[1]).toMatchObject({ status: "refused" })
    expect(r.jobs[1]!.detail).toMatch(/^its buffers 16 B are too few: /)
  })

  it("reports failing jobs, before and after they start, and completes the others", async () => {
    const jobs = [
      runJob("ok-1", "in-0.nrrd", "x-1.nrrd", ["median:radius=1"]),
      runJob("truncated", "truncated.nrrd", "x-2.nrrd", ["median:radius=1"]),
      runJob("no-dir", "in-1.nrrd", "no/such/dir/x-3.nrrd", ["copy"]),
      runJob("ok-2", "in-2.nrrd", "x-4.nrrd", ["uniform:size=3"])
    ]
    const r = await Effect.runPromise(
      runBatch(toBatch(jobs), { memoryBytes: 64 * MiB, baselineBytes: 0, headroomBytes: 0, overheadBytesPerJob: MiB, concurrency: 2 })
    )
    expect(r.jobs.map((j) => j.status)).toEqual(["done", "failed", "failed", "done"])
    expect(r.jobs[1]!.detail).toMatch(/truncated\.nrrd/)
    expect(r.jobs[2]!.detail).toMatch(/no\/such\/dir/)
    // The truncated input fails while being set up; the missing directory once the run creates its output.
    expect(r.events.filter((e) => e.job === "truncated").map((e) => e.kind)).toEqual(["fail"])
    expect(r.events.filter((e) => e.job === "no-dir").map((e) => e.kind)).toEqual(["admit", "start", "fail"])
    expect(fs.existsSync(path.join(dir, "x-1.nrrd")) && fs.existsSync(path.join(dir, "x-4.nrrd"))).toBe(true)
    expect(fs.existsSync(path.join(dir, "x-2.nrrd"))).toBe(false)
  })
})

describe("the batch's headroom", () => {
  it("is 24 MiB on Node 20 and 22, 40 MiB from Node 24 on (measured: docs/BATCH.md), and follows the running Node", () => {
    expect([20, 22, 24, 26].map((major) => headroomBytes(major) / MiB)).toEqual([24, 24, 40, 40])
    expect(HEADROOM_BYTES).toBe(headroomBytes(Number(process.versions.node.split(".")[0])))
  })
})

describe("runBatch with after", () => {
  const after = (job: RunJob, names: ReadonlyArray<string>): BatchJob => ({
    name: job.name!,
    kind: "run",
    after: names,
    setUp: Effect.suspend(() => runJobSetUp(resolveJobPaths(job, jobsFile())))
  })

  it("starts a job only after the jobs it comes after finished, reading their outputs; never starts those after a failed one", async () => {
    const jobs: ReadonlyArray<BatchJob> = [
      // d-second reads d-first's output, which does not exist when the batch starts.
      after(runJob("d-second", "d-first.nrrd", "d-second.nrrd", ["uniform:size=3"]), ["d-first"]),
      ...toBatch([runJob("d-first", "in-0.nrrd", "d-first.nrrd", ["median:radius=1"])]),
      ...toBatch([runJob("d-broken", "in-1.nrrd", "no/such/dir/d.nrrd", ["copy"])]),
      after(runJob("d-orphan", "no/such/dir/d.nrrd", "d-orphan.nrrd", ["copy"]), ["d-broken"]),
      after(runJob("d-grandchild", "d-orphan.nrrd", "d-grandchild.nrrd", ["copy"]), ["d-orphan", "d-first"]),
      after(runJob("d-third", "d-second.nrrd", "d-third.nrrd", ["copy"]), ["d-second", "d-first"])
    ]
    const r = await Effect.runPromise(runBatch(jobs, { memoryBytes: 64 * MiB, baselineBytes: 0, headroomBytes: 0, overheadBytesPerJob: MiB, concurrency: 4 }))
    expect(r.jobs.map((j) => [j.name, j.status])).toEqual([
      ["d-second", "done"],
      ["d-first", "done"],
      ["d-broken", "failed"],
      ["d-orphan", "not-run"],
      ["d-grandchild", "not-run"],
      ["d-third", "done"]
    ])
    expect(r.jobs[3]!.detail).toBe("not run: it comes after d-broken, which failed")
    expect(r.jobs[4]!.detail).toBe("not run: it comes after d-orphan, which was not run")
    for (const j of [3, 4]) expect(r.events.filter((e) => e.index === j).map((e) => e.kind)).toEqual(["skip"])
    const at = (job: string, kind: string) => r.events.findIndex((e) => e.job === job && e.kind === kind)
    expect(at("d-second", "start")).toBeGreaterThan(at("d-first", "finish"))
    expect(at("d-third", "start")).toBeGreaterThan(at("d-second", "finish"))
    expect(at("d-orphan", "skip")).toBeGreaterThan(at("d-broken", "fail"))
    expect(r.jobs.find((j) => j.name === "d-second")).toMatchObject({ attempts: 1 })
    expect(r.jobs[3]!.attempts).toBeUndefined()
    expect(fs.existsSync(path.join(dir, "d-third.nrrd"))).toBe(true)
    expect(fs.existsSync(path.join(dir, "d-orphan.nrrd")) || fs.existsSync(path.join(dir, "d-grandchild.nrrd"))).toBe(false)
  })

  it("fails a job whose after names no job, and does not run what comes after it", async () => {
    const jobs = [after(runJob("lost", "in-0.nrrd", "lost.nrrd", ["copy"]), ["nobody"]), after(runJob("next", "lost.nrrd", "next.nrrd", ["copy"]), ["lost"])]
    const r = await Effect.runPromise(runBatch(jobs, { memoryBytes: 64 * MiB, baselineBytes: 0, headroomBytes: 0, overheadBytesPerJob: MiB }))
    expect(r.jobs.map((j) => j.status)).toEqual(["failed", "not-run"])
    expect(r.jobs[0]!.detail).toBe("it comes after nobody: no such job")
  })
})
