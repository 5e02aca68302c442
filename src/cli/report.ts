/**
 * What `slicewise run` prints: one line per stage with its measured figures, and the totals.
 */
import type { RunResult } from "../interpreters/run/index.js"
import { formatBytes, formatMs } from "../util/units.js"

const pad = (s: string, n: number) => (s.length >= n ? s : s + " ".repeat(n - s.length))
const padLeft = (s: string, n: number) => (s.length >= n ? s : " ".repeat(n - s.length) + s)

/** A table of stages: pass, stage, slices, CPU, wall, read, written, buffers. */
export const metricsText = (r: RunResult): string => {
  const header = ["pass", "stage", "slices", "cpu", "wall", "read", "written", "buffers"]
  const rows = r.stages.map((s) => [
    String(s.pass + 1),
    `#${s.id} ${s.label}`.slice(0, 48),
    String(s.slices),
    formatMs(s.cpuMs),
    formatMs(s.wallMs),
    s.bytesRead ? formatBytes(s.bytesRead) : "",
    s.bytesWritten ? formatBytes(s.bytesWritten) : "",
    s.peakBufferBytes ? formatBytes(s.peakBufferBytes) : ""
  ])
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
