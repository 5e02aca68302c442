/**
 * The report pages of a real `slicewise run --profile` and `slicewise batch --profile`, as Debian's
 * headless Chromium renders them (test/support/chromium.ts): the charts are there with their
 * series laid out with points inside the plot, one bar per job in the batch's strip with a width,
 * the job and stage tables with predicted and measured figures, the command line and the plan's
 * graph. Fails without Chromium.
 */
import { execFile } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { promisify } from "node:util"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { Profile } from "../../src/profile/schema.js"
import { probePage, screenshot, type ProbeElement } from "../support/chromium.js"

declare const document: ProbeElement

const root = path.resolve(__dirname, "../..")
const run = promisify(execFile)
const slicewise = (...args: Array<string>) => run(process.execPath, ["--import", "tsx", path.join(root, "src/cli/main.ts"), ...args], { cwd: root, encoding: "utf8" })

let dir: string
const at = (f: string) => path.join(dir, f)

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "slicewise-report-chromium-"))
  const [z, y, x] = [24, 128, 128]
  const data = Buffer.alloc(x * y * z)
  for (let i = 0; i < data.length; i++) data[i] = (i * 2654435761) % 251
  fs.writeFileSync(at("in.nrrd"), Buffer.concat([Buffer.from(`NRRD0004\ntype: uint8\ndimension: 3\nsizes: ${x} ${y} ${z}\nencoding: raw\n\n`), data]))
})
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

/** What the probe reads of a rendered page: per chart its series and rules, per lane its bars, the tables' rows. */
interface Rendered {
  readonly charts: Record<string, { readonly series: Record<string, { points: number; inside: boolean }>; readonly rules: Array<string> }>
  readonly bars: Array<{ readonly lane: string; readonly job: string; readonly width: number }>
  readonly jobRows: Record<string, Array<string>>
  readonly stageRows: number
  readonly command: string
  readonly planNodes: number
  readonly planEdges: number
}

/** Runs in Chromium: reads the laid-out DOM. */
const readPage = (): Rendered => {
  const charts: Rendered["charts"] = {}
  for (const svg of Array.from(document.querySelectorAll("svg[data-chart]"))) {
    const frame = svg.querySelector("rect.frame")!.getBoundingClientRect()
    const series: Record<string, { points: number; inside: boolean }> = {}
    for (const line of Array.from(svg.querySelectorAll("polyline[data-series]"))) {
      const box = line.getBoundingClientRect()
      const points = (line.getAttribute("points") ?? "").trim().split(/\s+/).filter((p) => p !== "").length
      series[line.getAttribute("data-series")!] = { points, inside: box.left >= frame.left - 1 && box.right <= frame.right + 1 && box.bottom <= frame.bottom + 1 }
    }
    charts[svg.getAttribute("data-chart")!] = { series, rules: Array.from(svg.querySelectorAll("line[data-rule]")).map((l) => l.getAttribute("data-rule")!) }
  }
  const bars = Array.from(document.querySelectorAll("g.lane rect.span")).map((r) => ({
    lane: r.closest("g.lane")!.getAttribute("data-lane")!,
    job: r.getAttribute("data-job")!,
    width: r.getBoundingClientRect().width
  }))
  const jobRows: Record<string, Array<string>> = {}
  for (const tr of Array.from(document.querySelectorAll("tr[data-job]"))) jobRows[tr.getAttribute("data-job")!] = Array.from(tr.querySelectorAll("td")).map((td) => td.textContent ?? "")
  return {
    charts,
    bars,
    jobRows,
    stageRows: document.querySelectorAll("tr[data-stage]").length,
    command: document.querySelector("code")?.textContent ?? "",
    planNodes: document.querySelectorAll("svg.dag g.node").length,
    planEdges: document.querySelectorAll("svg.dag path.edge").length
  }
}

const JOB_COLUMNS = { predicted: 2, buffers: 3 }

describe("the profile report in Chromium", () => {
  it("a run: memory (whole and above the baseline), CPU and I/O charts, the job's predicted and measured buffers, a row per stage", async () => {
    const r = await slicewise("run", at("in.nrrd"), at("out.nrrd"), "median:radius=1", "--profile", at("run.json"))
    expect(r.stdout).toContain("total")
    await slicewise("report", at("run.json"), "--out", at("run.html"))
    const profile = JSON.parse(fs.readFileSync(at("run.json"), "utf8")) as Profile
    const page = await probePage(at("run.html"), readPage)
    expect(Object.keys(page.charts).sort()).toEqual(fs.existsSync("/proc/self/io") ? ["cpu", "io", "memory", "memory-above"] : ["cpu", "memory", "memory-above"])
    expect(page.charts.memory!.series.rss!.points).toBe(profile.samples.length)
    expect(page.charts.memory!.series.rss!.inside).toBe(true)
    expect(page.charts["memory-above"]!.rules).toEqual(["planned-buffers", "measured-buffers"])
    expect(page.charts.cpu!.series.cpu!.points).toBe(profile.samples.length)
    const row = page.jobRows[profile.jobs[0]!.name]!
    expect(row[JOB_COLUMNS.predicted]).toMatch(/\d (KiB|MiB|B)$/)
    expect(row[JOB_COLUMNS.buffers]).toMatch(/\d (KiB|MiB|B)$/)
    expect(page.stageRows).toBe(profile.jobs[0]!.stages.length)
    // What was run, and the plan as a graph: a node per stage, an edge per input it reads.
    expect(page.command).toBe(`slicewise run ${at("in.nrrd")} ${at("out.nrrd")} median:radius=1 --profile ${at("run.json")}`)
    expect(profile.what!.versions.node).toBe(process.version)
    const plan = profile.jobs[0]!.plan!
    expect(plan.some((st) => st.label.includes("median") && st.reachZ[0] === 1)).toBe(true)
    expect(page.planNodes).toBe(plan.length)
    expect(page.planEdges).toBe(plan.reduce((n, st) => n + st.inputs.length, 0))
    expect(page.planEdges).toBeGreaterThan(0)
    // And it paints: a PNG of the window's size.
    const png = await screenshot(at("run.html"), { width: 960, height: 1200 })
    expect(png.subarray(1, 4).toString("latin1")).toBe("PNG")
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([960, 1200])
  }, 60_000)

  it("a batch: the budget and the predicted sum over RSS, one bar per job with a width, every job's row", async () => {
    const jobs = ["a", "b", "c"].map((n) => ({ kind: "run", name: `job-${n}`, input: "in.nrrd", output: `${n}.nrrd`, steps: ["uniform:size=3"] }))
    fs.writeFileSync(at("jobs.json"), JSON.stringify({ jobs }))
    await slicewise("batch", at("jobs.json"), "--memory", "1GiB", "--concurrency", "2", "--profile", at("batch.json"))
    await slicewise("report", at("batch.json"), "--out", at("batch.html"))
    const page = await probePage(at("batch.html"), readPage)
    expect(Object.keys(page.charts.memory!.series).sort()).toEqual(["predicted", "rss"])
    expect(page.charts.memory!.rules).toEqual(["baseline", "budget"])
    expect(page.charts["memory-above"]!.series["predicted-above"]!.points).toBeGreaterThan(2)
    expect(page.bars.map((b) => b.job).sort()).toEqual(["job-a", "job-b", "job-c"])
    for (const b of page.bars) expect(b.width, b.job).toBeGreaterThan(0)
    for (const j of jobs) {
      const row = page.jobRows[j.name]!
      expect(row[1]).toBe("done")
      expect(row[JOB_COLUMNS.predicted]).toMatch(/\d (KiB|MiB)$/)
      expect(row[JOB_COLUMNS.buffers]).toMatch(/\d (KiB|MiB)$/)
    }
    expect(page.stageRows).toBeGreaterThanOrEqual(3 * 3)
  }, 60_000)
})
