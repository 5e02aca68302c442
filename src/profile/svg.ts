/**
 * Small inline-SVG charts for the report pages: a time-series line chart with axes and optional
 * horizontal reference lines, and lanes of spans (a Gantt chart of jobs: one row per job, or one
 * lane per runner with its jobs packed into as many tracks as overlap). Series, rules, lanes and
 * spans carry data-* attributes naming them, for tests that read the rendered DOM. Pure: data in,
 * markup out; text is escaped.
 *
 * @example
 * ```ts
 * const svg = lineChart({
 *   xMaxMs: 5000, unit: formatBytes,
 *   series: [{ name: "RSS", color: "#2563eb", points: [[0, 7e7], [100, 8e7]] }],
 *   rules: [{ name: "budget", color: "#dc2626", value: 1e8 }]
 * })
 * ```
 */

export const escapeHtml = (s: string): string =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;")

export interface Series {
  readonly name: string
  /** A short key, as the polyline's data-series (for tests and scripts reading the page). */
  readonly id?: string
  readonly color: string
  /** [time ms, value], in time order. */
  readonly points: ReadonlyArray<readonly [number, number]>
  readonly dashed?: boolean
  /** Draw as steps (a value holds until the next point): counts and sums that change at events. */
  readonly steps?: boolean
}

export interface Rule {
  readonly name: string
  /** As the line's data-rule. */
  readonly id?: string
  readonly color: string
  readonly value: number
}

export interface LineChartSpec {
  readonly xMaxMs: number
  readonly series: ReadonlyArray<Series>
  readonly rules?: ReadonlyArray<Rule>
  /** Formats a y value for the axis. */
  readonly unit: (v: number) => string
  readonly width?: number
  readonly height?: number
  /** As the svg's data-chart. */
  readonly id?: string
}

const MARGIN = { left: 72, right: 16, top: 12, bottom: 28 }

/** 1, 2 or 5 times a power of ten, at least `raw`. */
const niceStep = (raw: number): number => {
  if (!(raw > 0)) return 1
  const p = 10 ** Math.floor(Math.log10(raw))
  for (const m of [1, 2, 5, 10]) if (m * p >= raw) return m * p
  return 10 * p
}

/** A step for byte axes: a power of two times 1, 2 or 5 of a binary unit would be odd; use 2^k. */
const niceBytesStep = (raw: number): number => (raw > 0 ? 2 ** Math.ceil(Math.log2(raw)) : 1)

const timeText = (ms: number, stepMs: number): string => `${(ms / 1000).toFixed(stepMs >= 1000 ? 0 : stepMs >= 100 ? 1 : 2)} s`

const f1 = (v: number) => (Math.round(v * 10) / 10).toString()

/** ` data-NAME="value"`, or nothing without a value. */
const data = (name: string, value: string | undefined): string => (value === undefined ? "" : ` data-${name}="${escapeHtml(value)}"`)

/** The time axis between `top` and `bottom`, with its grid lines. */
const timeAxis = (xMaxMs: number, x: (t: number) => number, top: number, bottom: number): string => {
  const step = niceStep(xMaxMs / 8)
  const parts: Array<string> = []
  for (let t = 0; t <= xMaxMs + 1e-9; t += step) {
    const px = f1(x(t))
    parts.push(`<line x1="${px}" x2="${px}" y1="${top}" y2="${bottom}" class="grid"/>`)
    parts.push(`<text x="${px}" y="${bottom + 16}" text-anchor="middle">${escapeHtml(timeText(t, step))}</text>`)
  }
  return parts.join("")
}

/** A line chart over time. */
export const lineChart = (spec: LineChartSpec): string => {
  const width = spec.width ?? 880
  const height = spec.height ?? 220
  const xMax = Math.max(spec.xMaxMs, 1)
  const values = [...spec.series.flatMap((s) => s.points.map((p) => p[1])), ...(spec.rules ?? []).map((r) => r.value)].filter(Number.isFinite)
  const yMaxRaw = Math.max(1e-9, ...values)
  const bytesLike = spec.unit(1024).includes("KiB")
  const yStep = bytesLike ? niceBytesStep(yMaxRaw / 5) : niceStep(yMaxRaw / 5)
  const yMax = Math.ceil((yMaxRaw * 1.02) / yStep) * yStep
  const plotW = width - MARGIN.left - MARGIN.right
  const plotH = height - MARGIN.top - MARGIN.bottom
  const x = (t: number) => MARGIN.left + (Math.min(Math.max(t, 0), xMax) / xMax) * plotW
  const y = (v: number) => MARGIN.top + plotH - (Math.max(v, 0) / yMax) * plotH
  const parts: Array<string> = [`<svg viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" class="chart"${data("chart", spec.id)}>`]
  for (let v = 0; v <= yMax + 1e-9; v += yStep) {
    const py = f1(y(v))
    parts.push(`<line x1="${MARGIN.left}" x2="${width - MARGIN.right}" y1="${py}" y2="${py}" class="grid"/>`)
    parts.push(`<text x="${MARGIN.left - 6}" y="${py}" text-anchor="end" dominant-baseline="middle">${escapeHtml(spec.unit(v))}</text>`)
  }
  parts.push(timeAxis(xMax, x, MARGIN.top, MARGIN.top + plotH))
  parts.push(`<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotW}" height="${plotH}" class="frame"/>`)
  for (const r of spec.rules ?? []) {
    const py = f1(y(r.value))
    parts.push(
      `<line${data("rule", r.id)} x1="${MARGIN.left}" x2="${width - MARGIN.right}" y1="${py}" y2="${py}" stroke="${r.color}" stroke-width="1.5" stroke-dasharray="6 4"><title>${escapeHtml(`${r.name}: ${spec.unit(r.value)}`)}</title></line>`
    )
  }
  for (const s of spec.series) {
    if (s.points.length === 0) continue
    const coords: Array<string> = []
    let prev: number | undefined
    for (const [t, v] of s.points) {
      if (s.steps && prev !== undefined) coords.push(`${f1(x(t))},${f1(y(prev))}`)
      coords.push(`${f1(x(t))},${f1(y(v))}`)
      prev = v
    }
    const dash = s.dashed ? ` stroke-dasharray="4 3"` : ""
    parts.push(`<polyline${data("series", s.id)} points="${coords.join(" ")}" fill="none" stroke="${s.color}" stroke-width="1.8"${dash}><title>${escapeHtml(s.name)}</title></polyline>`)
  }
  parts.push("</svg>")
  return parts.join("")
}

/** The legend of a chart's series and rules, as HTML. */
export const legend = (items: ReadonlyArray<{ readonly name: string; readonly color: string; readonly dashed?: boolean }>): string =>
  `<div class="legend">${items
    .map((i) => `<span><i style="border-top:2px ${i.dashed ? "dashed" : "solid"} ${i.color}"></i>${escapeHtml(i.name)}</span>`)
    .join("")}</div>`

export interface Span {
  readonly label: string
  readonly startMs: number
  readonly endMs: number
  readonly color: string
  /** Shown on hover. */
  readonly title: string
  /** As the bar's data-job. */
  readonly id?: string
}

export interface Lane {
  readonly name: string
  readonly spans: ReadonlyArray<Span>
}

const TRACK_H = 18

/** Spans in tracks: each in the first track where the spans before it have ended. */
const packTracks = (spans: ReadonlyArray<Span>): Array<Array<Span>> => {
  const tracks: Array<Array<Span>> = []
  for (const s of [...spans].sort((a, b) => a.startMs - b.startMs)) {
    const free = tracks.find((t) => t[t.length - 1]!.endMs <= s.startMs)
    if (free === undefined) tracks.push([s])
    else free.push(s)
  }
  return tracks.length === 0 ? [[]] : tracks
}

const shortLabel = (label: string, chars: number) => (label.length > chars ? `${label.slice(0, Math.max(1, chars - 1))}…` : label)

/** One bar, its label inside it when asked and when it fits. */
const spanBar = (s: Span, x: (t: number) => number, top: number, labelInside: boolean): string => {
  const x0 = x(s.startMs)
  const w = Math.max(1.5, x(s.endMs) - x0)
  const bar = `<rect class="span"${data("job", s.id)} x="${f1(x0)}" y="${top + 3}" width="${f1(w)}" height="${TRACK_H - 6}" rx="2" fill="${s.color}"><title>${escapeHtml(s.title)}</title></rect>`
  const fits = Math.floor((w - 6) / 6.2)
  if (!labelInside || fits < 3) return bar
  return bar + `<text x="${f1(x0 + 4)}" y="${top + TRACK_H / 2}" dominant-baseline="middle" style="fill:#111827;font-size:10.5px">${escapeHtml(shortLabel(s.label, fits))}</text>`
}

/**
 * Lanes of spans on a shared time axis: a lane's name on its left, its spans packed into tracks
 * (spans that overlap in time get tracks of their own). With `labelSpans`, each bar shows its label.
 */
export const laneChart = (lanes: ReadonlyArray<Lane>, xMaxMs: number, options: { readonly width?: number; readonly labelSpans?: boolean; readonly id?: string } = {}): string => {
  const width = options.width ?? 880
  const labelW = MARGIN.left + 88
  const packed = lanes.map((l) => ({ lane: l, tracks: packTracks(l.spans) }))
  const bottom = MARGIN.top + packed.reduce((n, p) => n + p.tracks.length, 0) * TRACK_H
  const height = bottom + MARGIN.bottom
  const xMax = Math.max(xMaxMs, 1)
  const plotW = width - labelW - MARGIN.right
  const x = (t: number) => labelW + (Math.min(Math.max(t, 0), xMax) / xMax) * plotW
  const parts: Array<string> = [`<svg viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" class="chart lanes"${data("chart", options.id)}>`]
  parts.push(timeAxis(xMax, x, MARGIN.top, bottom))
  let top = MARGIN.top
  for (const { lane, tracks } of packed) {
    const laneH = tracks.length * TRACK_H
    parts.push(`<g class="lane"${data("lane", lane.name)}>`)
    if (top > MARGIN.top) parts.push(`<line x1="${MARGIN.left}" x2="${width - MARGIN.right}" y1="${top}" y2="${top}" class="grid"/>`)
    parts.push(`<text x="${labelW - 8}" y="${top + laneH / 2}" text-anchor="end" dominant-baseline="middle">${escapeHtml(shortLabel(lane.name, 26))}</text>`)
    tracks.forEach((t, i) => t.forEach((s) => parts.push(spanBar(s, x, top + i * TRACK_H, options.labelSpans === true))))
    parts.push(`</g>`)
    top += laneH
  }
  parts.push(`<rect x="${labelW}" y="${MARGIN.top}" width="${plotW}" height="${bottom - MARGIN.top}" class="frame"/>`)
  parts.push("</svg>")
  return parts.join("")
}

/** One row per span on a shared time axis: which job ran when. */
export const spanStrip = (spans: ReadonlyArray<Span>, xMaxMs: number, width = 880): string =>
  laneChart(
    spans.map((s) => ({ name: s.label, spans: [s] })),
    xMaxMs,
    { width }
  )
