/**
 * A profile as one self-contained HTML page: what was run (command line, versions) and the plan as
 * a graph of its stages, when the profile has them; memory (RSS; for a batch also the budget and
 * the admitted prediction), CPU and I/O over time as inline SVG, the jobs as a strip of spans
 * (batch), and the per-stage figures of every job. No script, font or stylesheet is fetched. Pure.
 *
 * @example
 * ```ts
 * fs.writeFileSync("report.html", reportHtml(yield* readProfile("batch.profile.json")))
 * ```
 */
import { STAGE_COLUMNS, stageCells } from "../util/stage-cells.js"
import { formatBytes, formatMs } from "../util/units.js"
import { dagChart } from "./dag-svg.js"
import type { JobFigures, PlanStage, Profile } from "./schema.js"
import { COLORS, opt, page, percent, rate, stateColor, table } from "./html.js"
import { escapeHtml, legend, lineChart, spanStrip, type Rule, type Series, type Span } from "./svg.js"

/** RSS over time; for a batch, the budget and what the admitted jobs were predicted to add. */
const memorySection = (p: Profile, xMax: number): string => {
  const series: Array<Series> = [{ id: "rss", name: "RSS", color: COLORS.rss, points: p.samples.map((s) => [s.tMs, s.rssBytes]) }]
  const rules: Array<Rule> = [{ id: "baseline", name: "baseline RSS", color: COLORS.baseline, value: p.baselineRssBytes }]
  if (p.command === "batch") {
    const base = p.baselineRssBytes + (p.headroomBytes ?? 0)
    // The prediction changes at events: draw it from the scheduler's log, not the samples.
    const points: Array<readonly [number, number]> = [[0, base]]
    for (const e of p.events) if (e.kind !== "refuse") points.push([e.tMs, base + e.runningPredictedBytes])
    points.push([xMax, points[points.length - 1]![1]])
    series.push({ id: "predicted", name: "baseline + headroom + predicted peaks of running jobs", color: COLORS.predicted, points, steps: true })
  }
  if (p.memoryBytes !== undefined) rules.push({ id: "budget", name: "budget (--memory)", color: COLORS.budget, value: p.memoryBytes })
  return (
    `<h2>Memory</h2>` +
    lineChart({ id: "memory", xMaxMs: xMax, series, rules, unit: formatBytes }) +
    legend([...series, ...rules.map((r) => ({ ...r, dashed: true }))]) +
    aboveBaseline(p, xMax)
  )
}

/**
 * What the jobs added to the process, on a scale of their own: beside the runtime's baseline the
 * buffers of a small run would be a flat line at the bottom of the chart above.
 */
const aboveBaseline = (p: Profile, xMax: number): string => {
  const series: Array<Series> = [{ id: "rss-above", name: "RSS − baseline RSS", color: COLORS.rss, points: p.samples.map((s) => [s.tMs, Math.max(0, s.rssBytes - p.baselineRssBytes)]) }]
  if (p.command === "batch") {
    const points: Array<readonly [number, number]> = [[0, 0], ...p.events.filter((e) => e.kind !== "refuse").map((e) => [e.tMs, e.runningPredictedBytes] as const)]
    series.push({ id: "predicted-above", name: "predicted peaks of running jobs", color: COLORS.predicted, points: [...points, [xMax, points[points.length - 1]![1]]], steps: true })
  }
  const planned = Math.max(0, ...p.jobs.map((j) => j.plannedBufferBytes))
  const measured = Math.max(0, ...p.jobs.map((j) => j.measuredPeakBufferBytes ?? 0))
  const rules: Array<Rule> = [
    { id: "planned-buffers", name: "planned peak buffers (largest job)", color: COLORS.predicted, value: planned },
    { id: "measured-buffers", name: "measured peak buffers (largest job)", color: COLORS.cpu, value: measured },
    ...(p.jobBudgetBytes === undefined ? [] : [{ id: "job-budget", name: "budget for jobs", color: COLORS.budget, value: Math.max(0, p.jobBudgetBytes) }])
  ]
  return (
    `<h3>Above the baseline</h3>` +
    lineChart({ id: "memory-above", xMaxMs: xMax, series, rules, unit: formatBytes, height: 180 }) +
    legend([...series, ...rules.map((r) => ({ ...r, dashed: true }))])
  )
}

const cpuSection = (p: Profile, xMax: number): string => {
  const series: Array<Series> = [{ id: "cpu", name: "CPU, % of one core", color: COLORS.cpu, points: p.samples.map((s) => [s.tMs, s.cpuPercent]) }]
  return `<h2>CPU</h2>` + lineChart({ id: "cpu", xMaxMs: xMax, series, unit: percent, height: 180 }) + legend(series)
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
    lineChart({ id: "io", xMaxMs: xMax, series, unit: rate, height: 180 }) +
    legend(series) +
    `<p class="note">rchar/wchar count every byte through read and write calls, page cache included; read_bytes/write_bytes what the storage layer fetched and was sent.</p>`
  )
}

const jobsSection = (p: Profile, xMax: number): string => {
  const ran = p.jobs.filter((j) => j.startMs !== undefined && j.endMs !== undefined)
  const spans: Array<Span> = ran.map((j) => ({
    id: j.name,
    label: j.name,
    startMs: j.startMs!,
    endMs: j.endMs!,
    color: stateColor(j.status),
    title: `${j.name}: ${j.status}, ${formatMs(j.wallMs ?? 0)}, predicted peak ${formatBytes(j.predictedPeakBytes)}${j.detail ? `: ${j.detail}` : ""}`
  }))
  const strip = spans.length === 0 || p.command !== "batch" ? "" : spanStrip(spans, xMax)
  const rows = p.jobs.map((j) => [
    j.name,
    j.status,
    formatBytes(j.predictedPeakBytes),
    opt(j.measuredPeakBufferBytes, formatBytes),
    opt(j.measuredPeakRssBytes, formatBytes),
    opt(j.wallMs, formatMs),
    opt(j.cpuMs, formatMs),
    opt(j.bytesRead, formatBytes),
    opt(j.bytesWritten, formatBytes)
  ])
  const problems = p.jobs.filter((j) => j.detail !== undefined)
  return (
    `<h2>Jobs</h2>` +
    strip +
    table(["job", "status", "predicted peak", "measured buffers", "measured RSS (tools)", "wall", "CPU", "read", "written"], rows, 2, (i) => `class="status-${p.jobs[i]!.status}" data-job="${escapeHtml(p.jobs[i]!.name)}"`) +
    (problems.length === 0
      ? ""
      : `<ul>${problems.map((j) => `<li class="status-${j.status}">${escapeHtml(`${j.name}: ${j.status}: ${j.detail}`)}</li>`).join("")}</ul>`)
  )
}

const stageTable = (j: JobFigures): string =>
  table(
    STAGE_COLUMNS,
    j.stages.map((s) => stageCells(s)),
    2,
    (i) => `data-stage="${j.stages[i]!.pass}/${j.stages[i]!.id}"`
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

/** A shell word as typed: quoted when it holds a space or a quote. */
const shellWord = (w: string) => (/^[\w@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, "'\\''")}'`)

const whatSection = (p: Profile): string =>
  p.what === undefined
    ? ""
    : `<h2>What was run</h2><p><code>${escapeHtml(["slicewise", ...p.what.argv].map(shellWord).join(" "))}</code></p>` +
      `<p class="meta">slicewise <b>${escapeHtml(p.what.versions.slicewise)}</b> · Node <b>${escapeHtml(p.what.versions.node)}</b> · effect <b>${escapeHtml(p.what.versions.effect)}</b></p>`

const KIND_COLORS: Readonly<Record<string, string>> = { source: COLORS.read, window: COLORS.predicted, pointwise: COLORS.cpu }

/** A job's plan: its stages as a graph, each with its pass and the slices its window reaches. */
const planGraph = (stages: ReadonlyArray<PlanStage>): string =>
  dagChart(
    stages.map((st) => ({
      id: `${st.pass}/${st.id}`,
      label: `#${st.id} ${st.label}`,
      sublabel: `pass ${st.pass} · ${st.kind}${st.reachZ[0] + st.reachZ[1] > 0 ? ` · z −${st.reachZ[0]}…+${st.reachZ[1]}` : ""}`,
      color: KIND_COLORS[st.kind] ?? COLORS.baseline,
      title: `${st.label}: ${st.kind}, pass ${st.pass}, ring of ${st.ringSlices} slice(s)`,
      after: st.inputs.map((i) => `${st.pass}/${i}`)
    }))
  )

const planSection = (p: Profile): string => {
  const planned = p.jobs.filter((j) => j.plan !== undefined && j.plan.length > 0)
  if (planned.length === 0) return ""
  const body = planned.length === 1 ? planGraph(planned[0]!.plan!) : planned.map((j) => `<details><summary>${escapeHtml(j.name)}</summary>${planGraph(j.plan!)}</details>`).join("")
  return `<h2>Plan</h2>${body}`
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
  return page(title, meta, [whatSection(p), planSection(p), memorySection(p, xMax), cpuSection(p, xMax), ioSection(p, xMax), jobsSection(p, xMax), stagesSection(p)])
}
