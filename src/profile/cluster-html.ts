/**
 * A cluster run (./cluster-page.ts) as one self-contained HTML page: the pipeline as a graph of its
 * jobs and what each ran; a timeline with one lane per runner and a bar per job; per runner, its
 * memory (RSS of the runner and its tools, its baseline plus the predictions of its running jobs,
 * and its budget as a rule) above its job lane, its CPU and its I/O over the pipeline's time; and a
 * table of every job, predicted against measured. No script, font or stylesheet is fetched. Pure.
 *
 * @example
 * ```ts
 * fs.writeFileSync("page.html", clusterHtml(yield* clusterReportOf(url, id)))
 * ```
 */
import { formatBytes, formatMs } from "../util/units.js"
import type { ClusterPage, ClusterPageJob, RunnerSample } from "./cluster-page.js"
import { dagChart } from "./dag-svg.js"
import { COLORS, opt, page, percent, rate, stateColor, table } from "./html.js"
import { escapeHtml, laneChart, legend, lineChart, type Rule, type Series, type Span } from "./svg.js"

/** The page's clock: ms since the pipeline started, up to its end (or now, while it runs). */
interface Clock {
  readonly t: (ms: number) => number
  readonly xMax: number
}

const clockOf = (p: ClusterPage): Clock => ({ t: (ms) => ms - p.startedAt, xMax: Math.max(1, (p.finishedAt ?? p.madeAt) - p.startedAt) })

const whatText = (j: ClusterPageJob): string =>
  j.what.command ?? (j.what.steps === undefined ? j.kind : `${j.what.steps.join(" → ")}`)

const pipelineSection = (p: ClusterPage): string => {
  const nodes = p.jobs.map((j) => ({
    id: j.name,
    label: j.name,
    sublabel: `${j.kind} · ${j.state}${j.runner === undefined ? "" : ` · ${j.runner}`}`,
    color: stateColor(j.state),
    title: `${j.name}: ${whatText(j)}`,
    after: j.after
  }))
  const rows = p.jobs.map((j) => [j.name, j.kind, j.after.join(", "), whatText(j), j.what.inputs.join(", "), j.what.outputs.join(", ")])
  return `<h2>Pipeline</h2>` + dagChart(nodes) + table(["job", "kind", "after", "command or steps", "inputs", "outputs"], rows, 6, (i) => `data-submitted="${escapeHtml(p.jobs[i]!.name)}"`)
}

const jobSpan = (j: ClusterPageJob, clock: Clock): Array<Span> =>
  j.startedAt === undefined
    ? []
    : [
        {
          id: j.name,
          label: j.name,
          startMs: clock.t(j.startedAt),
          endMs: clock.t(j.finishedAt ?? j.startedAt + (j.wallMs ?? 0)),
          color: stateColor(j.state),
          title: `${j.name}: ${j.state} on ${j.runner ?? "?"}, ${formatMs(j.wallMs ?? 0)}, predicted ${opt(j.predictedBytes, formatBytes)}, measured ${opt(j.measuredBytes, formatBytes)}`
        }
      ]

const laneOf = (p: ClusterPage, runner: string, clock: Clock) => ({ name: runner, spans: p.jobs.filter((j) => j.runner === runner).flatMap((j) => jobSpan(j, clock)) })

const timelineSection = (p: ClusterPage, clock: Clock): string =>
  `<h2>Timeline</h2>` + laneChart(p.runners.map((r) => laneOf(p, r.name, clock)), clock.xMax, { labelSpans: true, id: "timeline" })

const memoryChart = (samples: ReadonlyArray<RunnerSample>, clock: Clock): string => {
  const pts = (f: (s: RunnerSample) => number) => samples.map((s) => [clock.t(s.at), f(s)] as const)
  const series: Array<Series> = [
    { id: "rss", name: "RSS of the runner and its tools", color: COLORS.rss, points: pts((s) => s.rssBytes) },
    { id: "predicted", name: "runner's baseline + predicted peaks of its running jobs", color: COLORS.predicted, points: pts((s) => s.baselineBytes + s.runningPredictedBytes), steps: true }
  ]
  const last = samples[samples.length - 1]
  const rules: Array<Rule> =
    last === undefined
      ? []
      : [
          { id: "budget", name: "runner's baseline + budget for jobs", color: COLORS.budget, value: last.baselineBytes + last.budgetBytes },
          { id: "baseline", name: "runner's baseline", color: COLORS.baseline, value: last.baselineBytes }
        ]
  return lineChart({ id: "memory", xMaxMs: clock.xMax, series, rules, unit: formatBytes }) + legend([...series, ...rules.map((r) => ({ ...r, dashed: true }))])
}

const cpuIoCharts = (samples: ReadonlyArray<RunnerSample>, clock: Clock): string => {
  const cpu: Array<Series> = [{ id: "cpu", name: "CPU of the runner and its tools, % of one core", color: COLORS.cpu, points: samples.map((s) => [clock.t(s.at), s.cpuPercent]) }]
  const withIo = samples.filter((s) => s.io !== undefined)
  const io = (id: string, name: string, color: string, f: (io: NonNullable<RunnerSample["io"]>) => number, dashed = false): Series => ({
    id,
    name,
    color,
    dashed,
    points: withIo.map((s) => [clock.t(s.at), f(s.io!)])
  })
  const ios: Array<Series> = [
    io("read", "read (rchar)", COLORS.read, (x) => x.readBytesPerSecond),
    io("written", "written (wchar)", COLORS.write, (x) => x.writeBytesPerSecond),
    io("disk-read", "read from storage", COLORS.read, (x) => x.diskReadBytesPerSecond, true),
    io("disk-written", "sent to storage", COLORS.write, (x) => x.diskWriteBytesPerSecond, true)
  ]
  return (
    `<h3>CPU</h3>` +
    lineChart({ id: "cpu", xMaxMs: clock.xMax, series: cpu, unit: percent, height: 150 }) +
    legend(cpu) +
    `<h3>I/O</h3>` +
    (withIo.length === 0
      ? `<p class="note">No /proc/PID/io readable on this runner: no I/O rates.</p>`
      : lineChart({ id: "io", xMaxMs: clock.xMax, series: ios, unit: rate, height: 150 }) + legend(ios))
  )
}

const runnerSection = (p: ClusterPage, r: ClusterPage["runners"][number], clock: Clock): string => {
  const inSpan = r.samples.filter((s) => s.at >= p.startedAt && s.at <= p.startedAt + clock.xMax)
  const last = inSpan[inSpan.length - 1]
  const meta = [
    `${inSpan.length} samples`,
    ...(last === undefined ? [] : [`budget for jobs <b>${escapeHtml(formatBytes(last.budgetBytes))}</b>`, `baseline <b>${escapeHtml(formatBytes(last.baselineBytes))}</b>`]),
    ...(inSpan.length === 0 ? [] : [`peak RSS <b>${escapeHtml(formatBytes(Math.max(...inSpan.map((s) => s.rssBytes))))}</b>`])
  ].join(" · ")
  return (
    `<section class="runner" data-runner="${escapeHtml(r.name)}"><h2>Runner ${escapeHtml(r.name)}</h2><p class="meta">${meta}</p>` +
    (inSpan.length === 0 ? `<p class="note">No samples of this runner in the pipeline's time.</p>` : memoryChart(inSpan, clock)) +
    laneChart([laneOf(p, r.name, clock)], clock.xMax, { labelSpans: true, id: "jobs" }) +
    (inSpan.length === 0 ? "" : cpuIoCharts(inSpan, clock)) +
    `</section>`
  )
}

const ratio = (j: ClusterPageJob): string =>
  j.measuredBytes === undefined || j.predictedBytes === undefined || j.predictedBytes === 0 ? "" : (j.measuredBytes / j.predictedBytes).toFixed(2)

const jobsSection = (p: ClusterPage): string => {
  const rows = p.jobs.map((j) => [
    j.name,
    j.state,
    j.runner ?? "",
    opt(j.attempts, String),
    opt(j.predictedBytes, formatBytes),
    opt(j.measuredBytes, formatBytes),
    ratio(j),
    opt(j.cpuMs, formatMs),
    opt(j.wallMs, formatMs),
    opt(j.bytesRead, formatBytes),
    opt(j.bytesWritten, formatBytes),
    j.error ?? ""
  ])
  const header = ["job", "state", "runner", "attempts", "predicted peak", "measured peak", "measured / predicted", "CPU", "wall", "read", "written", "error"]
  return (
    `<h2>Jobs</h2>` +
    table(header, rows, [0, 1, 2, 11], (i) => `class="status-${escapeHtml(p.jobs[i]!.state)}" data-job="${escapeHtml(p.jobs[i]!.name)}"`) +
    `<p class="note">Measured peak: the RSS of an external job's processes; for a slicewise job, which runs inside its runner, the runner's RSS while it ran (shared with the jobs beside it).</p>`
  )
}

/** The page of a cluster run. */
export const clusterHtml = (p: ClusterPage): string => {
  const clock = clockOf(p)
  const done = p.jobs.filter((j) => j.state === "done").length
  const title = `slicewise pipeline ${p.id}: ${done} of ${p.jobs.length} jobs done`
  const meta = [
    `started <b>${escapeHtml(new Date(p.startedAt).toISOString())}</b>`,
    p.finishedAt === undefined ? `<b>still running</b> (page made ${escapeHtml(formatMs(clock.xMax))} after its start)` : `duration <b>${escapeHtml(formatMs(clock.xMax))}</b>`,
    `${p.runners.length} runner(s)`
  ].join(" · ")
  return page(title, meta, [pipelineSection(p), timelineSection(p, clock), ...p.runners.map((r) => runnerSection(p, r, clock)), jobsSection(p)])
}
