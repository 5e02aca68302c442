/**
 * One stage's measured figures as table cells, for the terminal table of `run` and the stage
 * tables of the HTML report: the same columns in the same order, formatted once.
 *
 * @example
 * ```ts
 * const rows = result.stages.map((s) => stageCells(s))   // ["1", "#3 gaussian-z", "64", "12.0 ms", …]
 * ```
 */
import { formatBytes, formatMs } from "./units.js"

/** The column headings of `stageCells`. */
export const STAGE_COLUMNS = ["pass", "stage", "slices", "CPU", "wall", "read", "written", "buffers"] as const

/** The figures a stage table shows (a run's `StageMetrics`, a profile's stage). */
export interface StageFigures {
  readonly pass: number
  readonly id: number
  readonly label: string
  readonly slices: number
  readonly cpuMs: number
  readonly wallMs: number
  readonly bytesRead: number
  readonly bytesWritten: number
  readonly peakBufferBytes: number
}

/** The cells of one stage, in `STAGE_COLUMNS` order; the label cut to `labelWidth` characters. */
export const stageCells = (s: StageFigures, labelWidth = Infinity): Array<string> => [
  String(s.pass + 1),
  `#${s.id} ${s.label}`.slice(0, labelWidth),
  String(s.slices),
  formatMs(s.cpuMs),
  formatMs(s.wallMs),
  s.bytesRead ? formatBytes(s.bytesRead) : "",
  s.bytesWritten ? formatBytes(s.bytesWritten) : "",
  s.peakBufferBytes ? formatBytes(s.peakBufferBytes) : ""
]
