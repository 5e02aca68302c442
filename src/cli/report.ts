/**
 * What `slicewise run` prints: one line per stage with its measured figures, and the totals.
 */
import type { RunResult } from "../interpreters/run/index.js"
import { STAGE_COLUMNS, stageCells } from "../util/stage-cells.js"
import { formatBytes, formatMs } from "../util/units.js"

const pad = (s: string, n: number) => (s.length >= n ? s : s + " ".repeat(n - s.length))
const padLeft = (s: string, n: number) => (s.length >= n ? s : " ".repeat(n - s.length) + s)

/** A table of stages: pass, stage, slices, CPU, wall, read, written, buffers. */
export const metricsText = (r: RunResult): string => {
  const header = STAGE_COLUMNS.map((c) => c.toLowerCase())
  const rows = r.stages.map((s) => stageCells(s, 48))
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)))
  const line = (row: ReadonlyArray<string>) =>
    row.map((c, i) => (i === 1 ? pad(c, widths[i]!) : padLeft(c, widths[i]!))).join("  ")
  return [
    line(header),
    ...rows.map(line),
    `total: ${formatMs(r.wallMs)} wall, read ${formatBytes(r.bytesRead)}, wrote ${formatBytes(r.bytesWritten)}, ` +
      `peak buffers ${formatBytes(r.peakBufferBytes)} (planned ${formatBytes(r.plan.peakBufferBytes)}), ` +
      `peak RSS ${formatBytes(process.resourceUsage().maxRSS * 1024)}`
  ].join("\n")
}

/** The run's figures as JSON-ready data. */
export const metricsJson = (r: RunResult) => ({
  wallMs: r.wallMs,
  bytesRead: r.bytesRead,
  bytesWritten: r.bytesWritten,
  peakBufferBytes: r.peakBufferBytes,
  plannedPeakBufferBytes: r.plan.peakBufferBytes,
  peakRssBytes: process.resourceUsage().maxRSS * 1024,
  passes: r.passes,
  stages: r.stages,
  scalars: r.scalars
})
