/**
 * A profile as one self-contained HTML page: memory (RSS; for a batch also the budget and the
 * admitted prediction), CPU and I/O over time as inline SVG, the jobs as a strip of spans (batch),
 * and the per-stage figures of every job. No script, font or stylesheet is fetched. Pure.
 *
 * @example
 * ```ts
 * fs.writeFileSync("report.html", reportHtml(yield* readProfile("batch.profile.json")))
 * ```
 */
import { STAGE_COLUMNS, stageCells } from "../util/stage-cells.js"
import { formatBytes, formatMs } from "../util/units.js"
import type { JobFigures, Profile } from "./schema.js"
import { escapeHtml, legend, lineChart, spanStrip, type Rule, type Series, type Span } from "./svg.js"

const COLORS = {
  rss: "#2563eb",
  predicted: "#d97706",
  budget: "#dc2626",
  baseline: "#6b7280",
  cpu: "#059669",
  read: "#2563eb",
  write: "#c026d3",
  done: "#60a5fa",
  failed: "#ef4444",
  interrupted: "#9ca3af"
} as const

const STYLE = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1f2937;background:#fff;margin:24px auto;max-width:940px;padding:0 16px}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:28px 0 8px;border-bottom:1px solid #e5e7eb;padding-bottom:4px}
.meta{color:#4b5563;margin:0 0 8px}.meta b{color:#1f2937;font-weight:600}
.chart text{font-size:11px;fill:#4b5563}.chart .grid{stroke:#eef0f3}.chart .frame{fill:none;stroke:#d1d5db}
.legend{display:flex;gap:18px;flex-wrap:wrap;color:#374151;font-size:12px;margin:2px 0 0 72px}
.legend i{display:inline-block;width:22px;margin:0 6px 3px 0;vertical-align:middle}
table{border-collapse:collapse;font-size:12.5px;margin:6px 0 14px;width:100%}
th,td{padding:3px 8px;border-bottom:1px solid #eef0f3;text-align:right;white-space:nowrap}
th{font-weight:600;color:#374151;background:#f9fafb}td.l,th.l{text-align:left;white-space:normal}
.status-failed,.status-refused{color:#b91c1c}.status-interrupted{color:#6b7280}
details{margin:4px 0}summary{cursor:pointer;color:#1f2937}
.note{color:#6b7280;font-size:12px}
`

const percent = (v: number) => `${Math.round(v)} %`
const rate = (v: number) => `${formatBytes(v)}/s`

const table = (header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>, leftColumns = 1, rowClass?: (i: number) => string): string =>
  `<table><thead><tr>${header.map((h, i) => `<th${i < leftColumns ? ' class="l"' : ""}>${escapeHtml(h)}</th>`).join("")}</tr></thead><tbody>${rows
    .map(
      (r, ri) =>
        `<tr${rowClass === undefined ? "" : ` class="${rowClass(ri)}"`}>${r.map((c, i) => `<td${i < leftColumns ? ' class="l"' : ""}>${escapeHtml(c)}</td>`).join("")}</tr>`
    )
    .join("")}</tbody></table>`

const opt = (v: number | undefined, f: (n: number) => string) => (v === undefined ? "" : f(v))

/** RSS over time; for a batch, the budget and what the admitted jobs were predicted to add. */
const memorySection = (p: Profile, xMax: number): string => {
  const series: Array<Series> = [{ name: "RSS", color: COLORS.rss, points: p.samples.map((s) => [s.tMs, s.rssBytes]) }]
  const rules: Array<Rule> = [{ name: "baseline RSS", color: COLORS.baseline, value: p.baselineRssBytes }]
  if (p.command === "batch") {
    const base = p.baselineRssBytes + (p.headroomBytes ?? 0)
    // The prediction changes at events: draw it from the scheduler's log, not the samples.
    const points: Array<readonly [number, number]> = [[0, base]]
    for (const e of p.events) if (e.kind !== "refuse") points.push([e.tMs, base + e.runningPredictedBytes])
    points.push([xMax, points[points.length - 1]![1]])
    series.push({ name: "baseline + headroom + predicted peaks of running jobs", color: COLORS.predicted, points, steps: true })
  }
  if (p.memoryBytes !== undefined) rules.push({ name: "budget (--memory)", color: COLORS.budget, value: p.memoryBytes })
  return (
    `<h2>Memory</h2>` +
    lineChart({ xMaxMs: xMax, series, rules, unit: formatBytes }) +
    legend([...series, ...rules.map((r) => ({ ...r, dashed: true }))])
  )
}

const cpuSection = (p: Profile, xMax: number): string => {
  const series: Array<Series> = [{ name: "CPU, % of one core", color: COLORS.cpu, points: p.samples.map((s) => [s.tMs, s.cpuPercent]) }]
  return `<h2>CPU</h2>` + lineChart({ xMaxMs: xMax, series, unit: percent, height: 180 }) + legend(series)
}

const ioSection = (p: Profile, xMax: number): string => {
  const withIo = p.samples.filter((s) => s.io !== undefined)
  if (withIo.length === 0) return `<h2>I/O</h2><p class="note">No /proc/self/io on the machine that made this profile: no I/O rates.</p>`
  const pts = (f: (io: NonNullable<Profile["samples"][number]["io"]>) => number) => withIo.map((s) => [s.tMs, f(s.io!)] as const)
  const series: Array<Series> = [
    { name: "read (rchar)", color: COLORS.read, points: pts((io) => io.readBytesPerSecond) },
    { name: "written (wchar)", color: COLORS.write, points: pts((io) => io.writeBytesPerSecond) },
    { name: "read from storage (read_bytes)", color: COLORS.read, points: pts((io) => io.diskReadBytesPerSecond), dashed: true },
    { name: "sent to storage (write_bytes)", color: COLORS.write, points: pts((io) => io.diskWriteBytesPerSecond), dashed: true }
  ]
  return (
    `<h2>I/O</h2>` +
    lineChart({ xMaxMs: xMax, series, unit: rate, height: 180 }) +
    legend(series) +
    `<p class="note">rchar/wchar count every byte through read and write calls, page cache included; read_bytes/write_bytes what the storage layer fetched and was sent.</p>`
  )
}

const jobsSection = (p: Profile, xMax: number): string => {
  const ran = p.jobs.filter((j) => j.startMs !== undefined && j.endMs !== undefined)
  const spans: Array<Span> = ran.map((j) => ({
    label: j.name,
    startMs: j.startMs!,
    endMs: j.endMs!,
    color: j.status === "done" ? COLORS.done : j.status === "failed" ? COLORS.failed : COLORS.interrupted,
    title: `${j.name}: ${j.status}, ${formatMs(j.wallMs ?? 0)}, predicted peak ${formatBytes(j.predictedPeakBytes)}${j.detail ? `: ${j.detail}` : ""}`
  }))
  const strip = spans.length === 0 || p.command !== "batch" ? "" : spanStrip(spans, xMax)
  const rows = p.jobs.map((j) => [
    j.name,
    j.status,
    formatBytes(j.predictedPeakBytes),
    opt(j.measuredPeakBufferBytes, formatBytes),
    opt(j.wallMs, formatMs),
    opt(j.cpuMs, formatMs),
    opt(j.bytesRead, formatBytes),
    opt(j.bytesWritten, formatBytes)
  ])
  const problems = p.jobs.filter((j) => j.detail !== undefined)
  return (
    `<h2>Jobs</h2>` +
    strip +
    table(["job", "status", "predicted peak", "buffers", "wall", "CPU", "read", "written"], rows, 2, (i) => `status-${p.jobs[i]!.status}`) +
    (problems.length === 0
      ? ""
      : `<ul>${problems.map((j) => `<li class="status-${j.status}">${escapeHtml(`${j.name}: ${j.status}: ${j.detail}`)}</li>`).join("")}</ul>`)
  )
}

const stageTable = (j: JobFigures): string =>
  table(
    STAGE_COLUMNS,
    j.stages.map((s) => stageCells(s)),
    2
  )

const stagesSection = (p: Profile): string => {
  const withStages = p.jobs.filter((j) => j.stages.length > 0)
  if (withStages.length === 0) return ""
  const body =
    withStages.length === 1
      ? stageTable(withStages[0]!)
      : withStages.map((j) => `<details><summary>${escapeHtml(j.name)} — ${escapeHtml(formatMs(j.wallMs ?? 0))}</summary>${stageTable(j)}</details>`).join("")
  return (
    `<h2>Stages</h2>${body}` +
    `<p class="note">CPU of read and write stages is timed across their waits for I/O: with read-ahead or other jobs running it includes work done meanwhile. A job's CPU above counts its compute stages only.</p>`
  )
}

/**
 * How often samples were taken. The sampler runs between slices on the one JavaScript thread, so a
 * long compute step stretches an interval; say so when it happened.
 */
const intervalText = (p: Profile): string => {
  const gaps = p.samples.slice(1).map((s, i) => s.tMs - p.samples[i]!.tMs).sort((a, b) => a - b)
  if (gaps.length === 0) return `asked every ${p.sampleIntervalMs} ms`
  const median = gaps[Math.floor(gaps.length / 2)]!
  return `asked every ${p.sampleIntervalMs} ms, median interval ${formatMs(median)}, longest ${formatMs(gaps[gaps.length - 1]!)}`
}

/** The report page of a profile. */
export const reportHtml = (p: Profile): string => {
  const lastSample = p.samples.length === 0 ? 0 : p.samples[p.samples.length - 1]!.tMs
  const xMax = Math.max(lastSample, ...p.jobs.map((j) => j.endMs ?? 0), 1)
  const done = p.jobs.filter((j) => j.status === "done").length
  const title = p.command === "batch" ? `slicewise batch: ${done} of ${p.jobs.length} jobs done` : `slicewise run: ${p.jobs[0]?.name ?? ""}`
  const meta = [
    `started <b>${escapeHtml(p.startedAt)}</b>`,
    `duration <b>${escapeHtml(formatMs(xMax))}</b>`,
    `peak RSS <b>${escapeHtml(formatBytes(p.peakRssBytes))}</b>`,
    `baseline RSS <b>${escapeHtml(formatBytes(p.baselineRssBytes))}</b>`,
    ...(p.memoryBytes === undefined ? [] : [`budget <b>${escapeHtml(formatBytes(p.memoryBytes))}</b>`]),
    ...(p.jobBudgetBytes === undefined ? [] : [`for jobs <b>${escapeHtml(formatBytes(Math.max(0, p.jobBudgetBytes)))}</b>`]),
    `${p.samples.length} samples, ${escapeHtml(intervalText(p))}`
  ].join(" · ")
  return [
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">`,
    `<title>${escapeHtml(title)}</title><style>${STYLE}</style></head><body>`,
    `<h1>${escapeHtml(title)}</h1><p class="meta">${meta}</p>`,
    memorySection(p, xMax),
    cpuSection(p, xMax),
    ioSection(p, xMax),
    jobsSection(p, xMax),
    stagesSection(p),
    `</body></html>\n`
  ].join("\n")
}
