/**
 * The figures of one run of the segmentation bench, from its job reports and runner logs: per
 * stage (register, warp, fuse — a Table-I-like row: jobs, CPU, predicted and measured peaks, bytes
 * read and written, wall time), how many jobs ran at once (per runner and over the cluster, from the
 * runners' start / done / failed lines), and which jobs the kernel killed (signal 9).
 *
 *   const rows = stageRows(phase.reports)
 *   const most = mostAtOnce(phase.runners)     // { r1: 2, r2: 1, cluster: 3 }
 *
 * Used by bench/segmentation/run.ts and markdown.ts.
 */
import type { PhaseResult, Report, RunnerResult } from "./phase.js"

export interface StageRow {
  readonly stage: string
  readonly jobs: number
  readonly done: number
  readonly cpuMs: number
  readonly predictedMaxBytes: number
  readonly measuredMaxBytes: number
  readonly bytesRead: number
  readonly bytesWritten: number
  readonly wallTotalMs: number
  readonly wallMeanMs: number
  /** Whether every job reported bytes (external jobs' reports may lack them). */
  readonly bytesComplete: boolean
}

export const STAGES: ReadonlyArray<readonly [kind: string, label: string]> = [
  ["register", "registration (elastix)"],
  ["warp", "warp labels (transformix)"],
  ["fuse", "fusion (slicewise, majority)"]
]

const sum = (xs: ReadonlyArray<number | undefined>) => xs.reduce<number>((a, b) => a + (b ?? 0), 0)
const max = (xs: ReadonlyArray<number | undefined>) => xs.reduce<number>((a, b) => Math.max(a, b ?? 0), 0)

export const stageRows = (reports: ReadonlyArray<Report>): ReadonlyArray<StageRow> =>
  STAGES.map(([kind, stage]) => {
    const js = reports.filter((r) => r.kind === kind)
    const done = js.filter((r) => r.state === "done")
    return {
      stage,
      jobs: js.length,
      done: done.length,
      cpuMs: sum(done.map((r) => r.cpuMs)),
      predictedMaxBytes: max(js.map((r) => r.predictedBytes)),
      measuredMaxBytes: max(done.map((r) => r.measuredBytes)),
      bytesRead: sum(done.map((r) => r.bytesRead)),
      bytesWritten: sum(done.map((r) => r.bytesWritten)),
      wallTotalMs: sum(done.map((r) => r.wallMs)),
      wallMeanMs: done.length === 0 ? 0 : sum(done.map((r) => r.wallMs)) / done.length,
      bytesComplete: done.every((r) => r.bytesRead !== undefined && r.bytesWritten !== undefined)
    }
  })

/** The most jobs running at once on each runner and over the cluster, from the runners' log lines. */
export const mostAtOnce = (runners: ReadonlyArray<RunnerResult>): Record<string, number> => {
  const events: Array<{ at: number; runner: string; delta: number }> = []
  for (const r of runners) {
    let open = 0
    for (const { at, text } of r.log) {
      const delta = /^start /.test(text) ? 1 : /^(done|failed) /.test(text) ? -1 : 0
      if (delta !== 0) events.push({ at, runner: r.name, delta })
      open += delta
    }
    // A runner that died (kill -9, the OOM killer) ended its jobs with it, though it logged no end.
    if (open > 0) events.push({ at: r.exitedAt, runner: r.name, delta: -open })
  }
  // Ends before starts at the same millisecond: a job that finished is not running beside its successor.
  events.sort((a, b) => a.at - b.at || a.delta - b.delta)
  const now: Record<string, number> = { cluster: 0 }
  const most: Record<string, number> = { cluster: 0 }
  for (const r of runners) most[r.name] = now[r.name] = 0
  for (const e of events) {
    now[e.runner]! += e.delta
    now.cluster! += e.delta
    most[e.runner] = Math.max(most[e.runner]!, now[e.runner]!)
    most.cluster = Math.max(most.cluster!, now.cluster!)
  }
  return most
}

/** A failed job whose command died of SIGKILL (the OOM killer, under a cgroup limit). */
export const killedBySignal9 = (r: Report): boolean => r.state === "failed" && /signal 9|SIGKILL/.test(r.error ?? "")

export interface Outcome {
  readonly jobs: number
  readonly byState: Record<string, number>
  /** Jobs whose command died of signal 9: from the reports, and from the runners' "failed" lines (a runner that died reports nothing). */
  readonly killed: ReadonlyArray<string>
  /** From the runners' logs: distinct jobs started, and finished done. */
  readonly started: number
  readonly doneInLogs: number
  /** Jobs with more than one start line (taken again after their runner died). */
  readonly startedAgain: ReadonlyArray<string>
  /** Jobs taken more than once (a runner died under them, or a retry). */
  readonly retaken: ReadonlyArray<string>
  readonly oomKills: number
  readonly failcnt: number
  readonly memswFailcnt: number
  readonly maxUsageBytes: number
}

export const outcomeOf = (p: PhaseResult): Outcome => {
  const byState: Record<string, number> = {}
  for (const r of p.reports) byState[r.state] = (byState[r.state] ?? 0) + 1
  const lines = p.runners.flatMap((r) => r.log.map((l) => l.text))
  const named = (re: RegExp) => new Set(lines.flatMap((t) => re.exec(t)?.[1] ?? []))
  const killedInLogs = [...named(/^failed ([^\s:]+): .*(?:signal 9|SIGKILL)/)]
  return {
    jobs: p.reports.length,
    byState,
    killed: [...new Set([...p.reports.filter(killedBySignal9).map((r) => r.name), ...killedInLogs])],
    started: named(/^start (\S+)/).size,
    startedAgain: [...named(/^start (\S+)/)].filter((j) => lines.filter((t) => t.startsWith(`start ${j} `)).length > 1),
    doneInLogs: named(/^done (\S+)/).size,
    retaken: p.reports.filter((r) => r.attempts > 1).map((r) => r.name),
    oomKills: sum(p.runners.map((r) => r.cgroup.oomKills)),
    failcnt: sum(p.runners.map((r) => r.cgroup.failcnt)),
    memswFailcnt: sum(p.runners.map((r) => r.cgroup.memswFailcnt)),
    maxUsageBytes: max(p.runners.map((r) => r.cgroup.maxUsageBytes))
  }
}
