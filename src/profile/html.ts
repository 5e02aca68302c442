/**
 * What the report pages share (the profile's, ./report-html.ts, and a cluster run's,
 * ./cluster-html.ts): the style sheet, the colours, tables, number formats and the page's frame.
 * Pure: data in, markup out; text is escaped.
 *
 * @example
 * ```ts
 * page("slicewise run", `<p class="meta">…</p>`, [table(["job", "wall"], [["a", "1.2 s"]])])
 * ```
 */
import { formatBytes } from "../util/units.js"
import { escapeHtml } from "./svg.js"

export const COLORS = {
  rss: "#2563eb",
  predicted: "#d97706",
  budget: "#dc2626",
  baseline: "#6b7280",
  cpu: "#059669",
  read: "#2563eb",
  write: "#c026d3",
  done: "#60a5fa",
  failed: "#ef4444",
  interrupted: "#9ca3af",
  running: "#34d399"
} as const

/** The colour of a job's span by its state. */
export const stateColor = (state: string): string =>
  state === "done" ? COLORS.done : state === "failed" || state === "refused" ? COLORS.failed : state === "running" ? COLORS.running : COLORS.interrupted

const STYLE = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1f2937;background:#fff;margin:24px auto;max-width:940px;padding:0 16px}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:28px 0 8px;border-bottom:1px solid #e5e7eb;padding-bottom:4px}h3{font-size:14px;margin:18px 0 4px}
.meta{color:#4b5563;margin:0 0 8px}.meta b{color:#1f2937;font-weight:600}
.chart text{font-size:11px;fill:#4b5563}.chart .grid{stroke:#eef0f3}.chart .frame{fill:none;stroke:#d1d5db}
.chart .edge{stroke:#9ca3af;fill:none}.chart .node text{fill:#1f2937}
.legend{display:flex;gap:18px;flex-wrap:wrap;color:#374151;font-size:12px;margin:2px 0 0 72px}
.legend i{display:inline-block;width:22px;margin:0 6px 3px 0;vertical-align:middle}
table{border-collapse:collapse;font-size:12.5px;margin:6px 0 14px;width:100%}
th,td{padding:3px 8px;border-bottom:1px solid #eef0f3;text-align:right;white-space:nowrap}
th{font-weight:600;color:#374151;background:#f9fafb;white-space:normal;vertical-align:bottom}td.l,th.l{text-align:left;white-space:normal}
.status-failed,.status-refused{color:#b91c1c}.status-interrupted,.status-not-run{color:#6b7280}
details{margin:4px 0}summary{cursor:pointer;color:#1f2937}
.note{color:#6b7280;font-size:12px}code{font-size:12px}
`

export const percent = (v: number) => `${Math.round(v)} %`
export const rate = (v: number) => `${formatBytes(v)}/s`

/** "" for a figure that is not there. */
export const opt = (v: number | undefined, f: (n: number) => string) => (v === undefined ? "" : f(v))

/**
 * A table of text cells. Left-aligned, wrapping text: the first `left` columns, or the columns
 * `left` lists; the others are figures. `rowAttributes` gives each row's attributes (a class,
 * data-*), already escaped.
 */
export const table = (
  header: ReadonlyArray<string>,
  rows: ReadonlyArray<ReadonlyArray<string>>,
  left: number | ReadonlyArray<number> = 1,
  rowAttributes?: (i: number) => string
): string => {
  const cls = (i: number) => ((typeof left === "number" ? i < left : left.includes(i)) ? ' class="l"' : "")
  const head = header.map((h, i) => `<th${cls(i)}>${escapeHtml(h)}</th>`).join("")
  const body = rows.map((r, ri) => `<tr${rowAttributes === undefined ? "" : ` ${rowAttributes(ri)}`}>${r.map((c, i) => `<td${cls(i)}>${escapeHtml(c)}</td>`).join("")}</tr>`)
  return `<table><thead><tr>${head}</tr></thead><tbody>${body.join("")}</tbody></table>`
}

/** A whole page: its title as <title> and <h1>, the meta line (markup), then the sections. */
export const page = (title: string, meta: string, sections: ReadonlyArray<string>): string =>
  [
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">`,
    `<title>${escapeHtml(title)}</title><style>${STYLE}</style></head><body>`,
    `<h1>${escapeHtml(title)}</h1><p class="meta">${meta}</p>`,
    ...sections,
    `</body></html>\n`
  ].join("\n")
