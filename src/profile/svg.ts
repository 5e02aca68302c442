/**
 * Small inline-SVG charts for the profile report: a time-series line chart with axes and optional
 * horizontal reference lines, and a strip of spans (a Gantt chart of jobs). Pure: data in, markup
 * out; text is escaped.
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
  readonly color: string
  /** [time ms, value], in time order. */
  readonly points: ReadonlyArray<readonly [number, number]>
  readonly dashed?: boolean
  /** Draw as steps (a value holds until the next point): counts and sums that change at events. */
  readonly steps?: boolean
}

export interface Rule {
  readonly name: string
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
  const parts: Array<string> = [`<svg viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" class="chart">`]
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
      `<line x1="${MARGIN.left}" x2="${width - MARGIN.right}" y1="${py}" y2="${py}" stroke="${r.color}" stroke-width="1.5" stroke-dasharray="6 4"><title>${escapeHtml(`${r.name}: ${spec.unit(r.value)}`)}</title></line>`
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
    parts.push(`<polyline points="${coords.join(" ")}" fill="none" stroke="${s.color}" stroke-width="1.8"${dash}><title>${escapeHtml(s.name)}</title></polyline>`)
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
}

/** One row per span on a shared time axis: which job ran when. */
export const spanStrip = (spans: ReadonlyArray<Span>, xMaxMs: number, width = 880): string => {
  const rowH = 18
  const labelW = MARGIN.left + 88
  const height = MARGIN.top + spans.length * rowH + MARGIN.bottom
  const xMax = Math.max(xMaxMs, 1)
  const plotW = width - labelW - MARGIN.right
  const x = (t: number) => labelW + (Math.min(Math.max(t, 0), xMax) / xMax) * plotW
  const bottom = MARGIN.top + spans.length * rowH
  const parts: Array<string> = [`<svg viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" class="chart">`]
  parts.push(timeAxis(xMax, x, MARGIN.top, bottom))
  spans.forEach((s, i) => {
    const top = MARGIN.top + i * rowH
    const label = s.label.length > 26 ? `${s.label.slice(0, 25)}…` : s.label
    parts.push(`<text x="${labelW - 8}" y="${top + rowH / 2}" text-anchor="end" dominant-baseline="middle">${escapeHtml(label)}</text>`)
    const x0 = x(s.startMs)
    const w = Math.max(1.5, x(s.endMs) - x0)
    parts.push(
      `<rect x="${f1(x0)}" y="${top + 3}" width="${f1(w)}" height="${rowH - 6}" rx="2" fill="${s.color}"><title>${escapeHtml(s.title)}</title></rect>`
    )
  })
  parts.push(`<rect x="${labelW}" y="${MARGIN.top}" width="${plotW}" height="${bottom - MARGIN.top}" class="frame"/>`)
  parts.push("</svg>")
  return parts.join("")
}
