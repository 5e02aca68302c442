/**
 * Profiles of real runs: the sampler's time series, the file's Schema (written, read back, bad
 * files refused naming the field), sampling that stops however the work ends, and the HTML page
 * of a run and of a batch.
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { runBatch } from "../../src/batch/index.js"
import { resolveJobPaths } from "../../src/jobs/file.js"
import { runJobSetUp } from "../../src/jobs/run-job.js"
import { batchProfile, decodeProfile, readProfile, recording, runProfile, writeProfile } from "../../src/profile/index.js"
import { reportHtml } from "../../src/profile/report-html.js"
import { startSampler, type Sampler } from "../../src/profile/sampler.js"
import type { Profile } from "../../src/profile/schema.js"
import * as Run from "../../src/interpreters/run/index.js"

let dir: string
const hasProcIo = fs.existsSync("/proc/self/io")

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "slicewise-profile-"))
  // Large enough that the run takes several sampling intervals.
  const [z, y, x] = [48, 256, 256]
  const header = `NRRD0004\ntype: uint8\ndimension: 3\nsizes: ${x} ${y} ${z}\nencoding: raw\n\n`
  const data = Buffer.alloc(x * y * z)
  for (let i = 0; i < data.length; i++) data[i] = (i * 2654435761) % 251
  fs.writeFileSync(path.join(dir, "in.nrrd"), Buffer.concat([Buffer.from(header), data]))
})
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

const jobsFile = () => path.join(dir, "jobs.json")

/** A real run of median:radius=2 over in.nrrd, recorded with 20 ms samples, as a profile. */
const profiledRun = async (): Promise<Profile> => {
  const job = { kind: "run" as const, input: "in.nrrd", output: "median.nrrd", steps: ["median:radius=2"] }
  const { program } = await Effect.runPromise(runJobSetUp(resolveJobPaths(job, jobsFile())))
  const baselineRssBytes = process.memoryUsage.rss()
  const { value, samples, startedAt } = await Effect.runPromise(recording(Run.run(program), { intervalMs: 20 }))
  return runProfile({ startedAt, samples, result: value, baselineRssBytes, name: "median.nrrd", sampleIntervalMs: 20 })
}

describe("the sampler", () => {
  it("samples RSS, CPU and I/O through a real run, in time order", async () => {
    const p = await profiledRun()
    expect(p.samples.length).toBeGreaterThanOrEqual(3)
    const times = p.samples.map((s) => s.tMs)
    expect([...times].sort((a, b) => a - b)).toEqual(times)
    for (const s of p.samples) {
      expect(s.rssBytes).toBeGreaterThan(10 * 2 ** 20)
      expect(s.running).toBeUndefined()
    }
    // The median kept a core busy for part of the run.
    expect(Math.max(...p.samples.map((s) => s.cpuPercent))).toBeGreaterThan(20)
    if (hasProcIo) {
      expect(p.samples.slice(1).every((s) => s.io !== undefined)).toBe(true)
      // The run wrote its 3 MiB output through write calls.
      const written = p.samples.slice(1).reduce((a, s, i) => a + (s.io!.writeBytesPerSecond * (s.tMs - p.samples[i]!.tMs)) / 1000, 0)
      expect(written).toBeGreaterThan(3 * 2 ** 20 * 0.9)
    } else {
      expect(p.samples.every((s) => s.io === undefined)).toBe(true)
    }
    expect(p.jobs[0]!.stages.map((s) => s.label).join(" ")).toMatch(/median/)
  })

  const stopsAfter = async (work: Effect.Effect<void, string>) => {
    let sampler: Sampler | undefined
    const exit = await Effect.runPromiseExit(
      Effect.scoped(
        Effect.gen(function* () {
          sampler = yield* startSampler({ intervalMs: 10 })
          yield* Effect.sleep("60 millis")
          yield* work
        })
      )
    )
    const count = sampler!.samples.length
    await new Promise((r) => setTimeout(r, 100))
    return { exit, before: count, after: sampler!.samples.length }
  }

  it("stops when the work fails", async () => {
    const r = await stopsAfter(Effect.fail("no"))
    expect(Exit.isFailure(r.exit)).toBe(true)
    expect(r.before).toBeGreaterThan(2)
    expect(r.after).toBe(r.before)
  })

  it("stops when the work is interrupted", async () => {
    const r = await stopsAfter(Effect.interrupt)
    expect(Exit.isInterrupted(r.exit)).toBe(true)
    expect(r.after).toBe(r.before)
  })
})

describe("the profile file", () => {
  it("is written with its Schema and read back equal", async () => {
    const p = await profiledRun()
    const file = path.join(dir, "run.profile.json")
    await Effect.runPromise(writeProfile(file, p))
    const back = await Effect.runPromise(readProfile(file))
    expect(back).toEqual(p)
  })

  it("refuses a bad profile, naming the field", async () => {
    const p = await profiledRun()
    const bad = JSON.parse(JSON.stringify(p))
    bad.samples[2].rssBytes = -5
    const r = decodeProfile("bad.json", JSON.stringify(bad))
    expect(Either.isLeft(r) && r.left.message).toMatch(/^bad\.json: samples\[2\]\.rssBytes: /)
    const missing = JSON.parse(JSON.stringify(p))
    delete missing.jobs[0].stages[0].cpuMs
    const m = decodeProfile("m.json", JSON.stringify(missing))
    expect(Either.isLeft(m) && m.left.message).toBe("m.json: jobs[0].stages[0].cpuMs: is missing")
    const v = decodeProfile("v.json", JSON.stringify({ ...p, version: 99 }))
    expect(Either.isLeft(v) && v.left.message).toMatch(/^v\.json: version: version 99; this slicewise reads version 1/)
    expect(Either.isLeft(decodeProfile("x.json", "{ nope"))).toBe(true)
  })
})

/** Inline SVG elements only: nothing fetched, no script. */
const expectSelfContained = (html: string) => {
  expect(html).not.toMatch(/<script|<link|@import|url\(|\bsrc=/i)
  expect(html).not.toMatch(/https?:\/\//)
}

describe("the HTML report", () => {
  it("renders a run: memory, CPU and I/O charts and the stage table", async () => {
    const p = await profiledRun()
    const html = reportHtml(p)
    expectSelfContained(html)
    expect(html).toMatch(/^<!doctype html>/)
    for (const h of ["Memory", "CPU", "I/O", "Stages"]) expect(html).toContain(`<h2>${h}</h2>`)
    // One polyline per series: RSS and RSS above the baseline; CPU; and four I/O rates where /proc/self/io exists.
    expect(html.match(/<polyline /g)!.length).toBe(hasProcIo ? 7 : 3)
    for (const s of p.jobs[0]!.stages) expect(html).toContain(`#${s.id} ${s.label.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")}`)
  })

  it("renders a batch: the budget, the predicted sum, a strip of jobs and a table per job", async () => {
    const jobs = ["a", "b", "c"].map((n) => ({
      name: `job <${n}>`,
      kind: "run",
      setUp: runJobSetUp(resolveJobPaths({ kind: "run", input: "in.nrrd", output: `batch-${n}.nrrd`, steps: ["uniform:size=3"] }, jobsFile()))
    }))
    const memoryBytes = 2 ** 30
    const { value, samples, startedAt } = await Effect.runPromise(
      recording(runBatch(jobs, { memoryBytes, concurrency: 2 }), { intervalMs: 20, load: () => ({ running: 0, runningPredictedBytes: 0 }) })
    )
    const p = batchProfile(value, startedAt, samples, 20)
    expect(decodeProfile("p", JSON.stringify(p))._tag).toBe("Right")
    const html = reportHtml(p)
    expectSelfContained(html)
    expect(html).toContain("budget (--memory)")
    expect(html).toContain("predicted peaks of running jobs")
    expect(html).toContain("<h2>Jobs</h2>")
    // The strip: one bar per job that ran, titled with its name (escaped).
    expect(html.match(/<rect [^>]*rx="2"[^>]*><title>job &lt;[abc]&gt;: done/g)!.length).toBe(3)
    expect(html.match(/<details>/g)!.length).toBe(3)
    expect(html).not.toContain("job <a>")
  })
})
