/**
 * `slicewise report ID --cluster URL --out page.html` on a real cluster (test/support/cluster.ts:
 * PostgreSQL and two runner processes): a small pipeline runs, the page is written and rendered by
 * Debian's headless Chromium (test/support/chromium.ts), and its DOM has one lane per runner with
 * a bar for each job in its runner's lane, each runner's memory samples (RSS above zero, the
 * predictions of its running jobs above its baseline while a copy ran there, its budget as a rule), CPU and I/O, the
 * pipeline's graph with its edges, and the job table with every job's predicted and measured peak.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import * as Effect from "effect/Effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { clusterReportOf } from "../../src/cluster/report.js"
import { Memory } from "../../src/interpreters/index.js"
import { phantomSource, sinkFor } from "../../src/io/index.js"
import { probePage, type ProbeElement } from "../support/chromium.js"
import { clusterFixture } from "../support/cluster.js"

declare const document: ProbeElement

const fixture = clusterFixture()

beforeAll(async () => {
  await fixture.start("slicewise-cluster-report-")
  await Effect.runPromise(
    Effect.gen(function* () {
      const volume = yield* Memory.loadSource(phantomSource({ shape: [8, 40, 32], seed: 5 }))
      yield* Memory.storeVolume(volume, yield* sinkFor(path.join(fixture.dir, "in.tif")))
    })
  )
  await fixture.startRunners(["A", "B"])
}, 90_000)

afterAll(() => fixture.stop())

/** The page's data once every runner has written a sample taken after the pipeline finished. */
const samplesPastTheEnd = async (id: string) => {
  const deadline = Date.now() + 30_000
  for (;;) {
    const data = await Effect.runPromise(clusterReportOf(fixture.url, id))
    const end = data.finishedAt ?? Infinity
    if (data.runners.every((r) => r.samples.some((x) => x.at > end)) || Date.now() > deadline) return data
    await new Promise((done) => setTimeout(done, 500))
  }
}

interface Rendered {
  readonly lanes: Record<string, Array<string>>
  readonly runners: Record<string, { samples: number; rssAboveZero: boolean; predictedRises: boolean; rules: Array<string>; charts: Array<string> }>
  readonly edges: Array<string>
  readonly rows: Record<string, Array<string>>
}

/** Runs in Chromium: what the laid-out page shows. */
const readPage = (): Rendered => {
  const timeline = document.querySelector('svg[data-chart="timeline"]')!
  const lanes: Rendered["lanes"] = {}
  for (const g of Array.from(timeline.querySelectorAll("g.lane")))
    lanes[g.getAttribute("data-lane")!] = Array.from(g.querySelectorAll("rect.span"))
      .filter((r) => r.getBoundingClientRect().width > 0)
      .map((r) => r.getAttribute("data-job")!)
  const runners: Rendered["runners"] = {}
  for (const section of Array.from(document.querySelectorAll("section.runner"))) {
    const memory = section.querySelector('svg[data-chart="memory"]')!
    const frame = memory.querySelector("rect.frame")!.getBoundingClientRect()
    const rss = memory.querySelector('polyline[data-series="rss"]')!
    const predicted = memory.querySelector('polyline[data-series="predicted"]')!.getBoundingClientRect()
    runners[section.getAttribute("data-runner")!] = {
      samples: (rss.getAttribute("points") ?? "").trim().split(/\s+/).length,
      // Above the frame's bottom edge: a value above zero.
      rssAboveZero: rss.getBoundingClientRect().top < frame.bottom - 2,
      // Above the baseline rule: a running job's prediction added to the runner's baseline. (The
      // chart spans the pipeline's time only, which the copies may fill: no step back is required.)
      predictedRises: predicted.top < memory.querySelector('line[data-rule="baseline"]')!.getBoundingClientRect().top - 2,
      rules: Array.from(memory.querySelectorAll("line[data-rule]")).map((l) => l.getAttribute("data-rule")!),
      charts: Array.from(section.querySelectorAll("svg[data-chart]")).map((s) => s.getAttribute("data-chart")!)
    }
  }
  const edges = Array.from(document.querySelectorAll("svg.dag path.edge")).map((e) => `${e.getAttribute("data-from")}→${e.getAttribute("data-to")}`)
  const rows: Rendered["rows"] = {}
  for (const tr of Array.from(document.querySelectorAll("tr[data-job]"))) rows[tr.getAttribute("data-job")!] = Array.from(tr.querySelectorAll("td")).map((td) => td.textContent ?? "")
  return { lanes, runners, edges, rows }
}

const COLUMN = { state: 1, runner: 2, predicted: 4, measured: 5, ratio: 6 }

describe("slicewise report ID --cluster", () => {
  it("writes a page that Chromium renders with a lane per runner, a bar per job, memory samples and the job table", async () => {
    const jobBytes = Math.floor(0.6 * Math.min(...fixture.budgets()))
    // Two commands that each fill most of a runner's budget: never two at once on one runner.
    const copy = (name: string) => ({
      kind: "exec",
      name,
      command: ["sh", "-c", `sleep 4 && cp "$0" "$1"`, "{input0}", "{output0}"],
      inputs: [path.join(fixture.dir, "in.tif")],
      outputs: [path.join(fixture.dir, `${name}.tif`)],
      memory: String(jobBytes)
    })
    const file = fixture.writePipeline("report", [
      copy("copy-a"),
      copy("copy-b"),
      { kind: "run", name: "smooth", after: ["copy-a", "copy-b"], input: path.join(fixture.dir, "copy-a.tif"), output: path.join(fixture.dir, "smooth.nrrd"), steps: ["median:radius=1"] }
    ])
    const r = await fixture.submit(file, "--wait", "--json")
    expect(r.code, r.stderr).toBe(0)
    const { id, jobs } = JSON.parse(r.stdout) as { id: string; jobs: Array<{ name: string; runner: string }> }
    // Runners write their samples every 5 s (later when loaded): wait until each has written one
    // taken after the pipeline finished, so that the page has all of the pipeline's time.
    const data = await samplesPastTheEnd(id)
    const out = path.join(fixture.dir, "page.html")
    const rep = await fixture.cli("report", id, "--cluster", fixture.url, "--out", out)
    expect(rep.code, rep.stderr).toBe(0)
    expect(rep.stdout.trim()).toBe(`wrote ${out}`)
    expect(fs.readFileSync(out, "utf8")).not.toMatch(/<script|<link|https?:\/\//i)

    const page = await probePage(out, readPage)
    expect(Object.keys(page.lanes).sort()).toEqual(["A", "B"])
    for (const j of jobs) expect(page.lanes[j.runner], `${j.name} in ${j.runner}'s lane`).toContain(j.name)
    expect(Object.values(page.lanes).flat().sort()).toEqual(["copy-a", "copy-b", "smooth"])
    // Both runners were alive through the pipeline; those that ran a copy show its prediction.
    const ranCopies = new Set(jobs.filter((j) => j.name.startsWith("copy-")).map((j) => j.runner))
    expect(Object.keys(page.runners).sort()).toEqual(["A", "B"])
    for (const name of ["A", "B"]) {
      const runner = page.runners[name]!
      expect(runner.samples, name).toBeGreaterThanOrEqual(3)
      expect(runner.rssAboveZero, name).toBe(true)
      const predictions = data.runners.find((r) => r.name === name)!.samples.map((x) => x.runningPredictedBytes)
      if (ranCopies.has(name)) expect(runner.predictedRises, `${name}: a copy's prediction while it ran (samples' predictions: ${predictions.join(" ")})`).toBe(true)
      expect(runner.rules).toEqual(["budget", "baseline"])
      expect(runner.charts).toEqual(["memory", "jobs", "cpu", "io"])
    }
    expect(page.edges.sort()).toEqual(["copy-a→smooth", "copy-b→smooth"])
    for (const j of jobs) {
      const row = page.rows[j.name]!
      expect([row[COLUMN.state], row[COLUMN.runner]]).toEqual(["done", j.runner])
      expect(row[COLUMN.predicted], j.name).toMatch(/\d (KiB|MiB|GiB)$/)
      expect(row[COLUMN.measured], j.name).toMatch(/\d (KiB|MiB|GiB)$/)
      expect(Number(row[COLUMN.ratio]), j.name).toBeGreaterThan(0)
    }
  }, 60_000)

  it("names an unknown pipeline in one line", async () => {
    const r = await fixture.cli("report", "0123456789abcdef", "--cluster", fixture.url, "--out", path.join(fixture.dir, "none.html"))
    expect(r.code).toBe(1)
    expect(r.stderr.trim()).toMatch(/^slicewise: no pipeline 0123456789abcdef in this cluster/)
  })
})
