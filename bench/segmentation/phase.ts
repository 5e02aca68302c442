/**
 * One run of the segmentation pipeline on a cluster of its own: a fresh PostgreSQL
 * (test/support/postgres.ts), two `slicewise runner` processes r1 and r2, each in a memory cgroup
 * (with a kernel limit or for accounting only), `slicewise submit pipeline.json --wait --json`, and
 * optionally a crash: `kill -9` of one runner once it runs an external command (a process group
 * recorded with it as owner), a look at which of its commands outlived it, and a replacement runner
 * r3, which reaps them.
 * Everything it started is stopped and removed before it returns, also on failure.
 *
 *   const r = await runPhase({ name: "clean", dir: "/tmp/seg/clean", pipelines: ["/tmp/seg/clean/pipeline.json"],
 *     memory: "2GiB", limitBytes: null, timeoutMs: 600_000 })
 *   r.reports      // every job's JobReport, as submit --json prints them
 *
 * Used by bench/segmentation/run.ts.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { groupAlive, groupsDirectory } from "../../src/jobs/exec/orphans.js"
import { startPostgres } from "../../test/support/postgres.js"
import { onSignal } from "./cleanup.js"
import { makeMemoryCgroup, type CgroupCounters, type MemoryCgroup } from "./cgroup.js"
import { cli, killRunner, startRunner, stopRunner, waitFor, type LogLine, type Runner } from "./processes.js"

/** A job's report as `submit --json` prints it (src/cluster/protocol.ts's JobReport). */
export interface Report {
  readonly name: string
  readonly kind: string
  readonly state: string
  readonly runner?: string
  readonly attempts: number
  readonly predictedBytes?: number
  readonly measuredBytes?: number
  readonly cpuMs?: number
  readonly wallMs?: number
  readonly startedAt?: number
  readonly finishedAt?: number
  readonly bytesRead?: number
  readonly bytesWritten?: number
  readonly error?: string
}

export interface PhaseSpec {
  readonly name: string
  /** The run's directory: runner logs and the report page go here. */
  readonly dir: string
  /** The pipeline files (from `slicewise segment --out`), each submitted with its own `submit --wait`, all at once. */
  readonly pipelines: ReadonlyArray<string>
  /** Each runner's `--memory`. */
  readonly memory: string
  /** The kernel's limit on each runner's cgroup (itself and its commands), or null for none. */
  readonly limitBytes: number | null
  /** Kill this runner (SIGKILL) while it runs a job, then start a replacement r3. */
  readonly crash?: string
  /** Write the cluster report page of the pipeline (slicewise report ID --cluster URL --out …). */
  readonly htmlReport?: boolean
  /** Give up waiting for the pipeline after this long. */
  readonly timeoutMs: number
}

export interface RunnerResult {
  readonly name: string
  readonly memory: string
  /** What the runner said its jobs may use, bytes. */
  readonly budgetBytes: number
  /** The runner's /proc/PID/oom_score_adj once it was ready (its commands start with theirs raised), null if unread. */
  readonly oomScoreAdj?: number | null
  readonly exit: string
  /** When the process exited, ms since the epoch. */
  readonly exitedAt: number
  /** How it ended if it died before the bench stopped it (SIGKILL: the OOM killer, or the crash run's kill), else null. */
  readonly died: string | null
  readonly log: ReadonlyArray<LogLine>
  readonly cgroup: CgroupCounters
}

export interface CrashResult {
  readonly victim: string
  readonly killedAt: number
  /** The jobs the victim had started and not finished when it was killed. */
  readonly running: ReadonlyArray<string>
  /**
   * The victim's external commands when it was killed: the process groups recorded with it as their
   * owner, the job each belongs to (from its temporaries' paths) and its processes then.
   */
  readonly commands: ReadonlyArray<{ readonly pgid: number; readonly job: string | null; readonly processes: number }>
  /** Those of its commands' groups with a process still running half a second after the kill… */
  readonly aliveAfterKill: ReadonlyArray<number>
  /** …and once the replacement was ready (it reaps orphans before it says so), looked at until none ran or 5 s had passed… */
  readonly aliveAtReplacement: ReadonlyArray<number>
  /** …for this long after it was ready. */
  readonly lookedMs?: number
  readonly replacement: string
  /** Processes left in the victim's cgroup (its commands) just after the kill, and when the replacement was ready (as aliveAtReplacement). */
  readonly orphansAfterKill: number
  readonly orphansAtReplacement: number
  /** Process groups the replacement reaped (its "reaped N process group(s)" line), 0 if it said nothing. */
  readonly reaped: number
  readonly reapedLine: string | null
}

export interface PhaseResult {
  readonly name: string
  readonly dir: string
  /** Per pipeline file, its id and how its `submit --wait` ended. */
  readonly submits: ReadonlyArray<{ readonly file: string; readonly id: string | null; readonly code: number | null; readonly stderr: string }>
  readonly startedAt: number
  readonly wallMs: number
  /** How waiting for the pipeline ended: its submit returned, time ran out, or every runner had died. */
  readonly ended: "finished" | "timed out" | "every runner died"
  readonly reports: ReadonlyArray<Report>
  readonly runners: ReadonlyArray<RunnerResult>
  readonly crash?: CrashResult
  /** The cluster report page, or why there is none. */
  readonly htmlReport?: { readonly path: string } | { readonly skipped: string }
}

/** Jobs a runner's log shows started and not yet finished (done, failed). */
export const runningJobs = (log: ReadonlyArray<LogLine>): Array<string> => {
  const open = new Set<string>()
  for (const { text } of log) {
    const start = /^start (\S+)/.exec(text)
    const end = /^(?:done|failed|not-run|refused) ([^\s:]+)/.exec(text)
    if (start) open.add(start[1]!)
    else if (end) open.delete(end[1]!)
  }
  return [...open]
}

interface GroupRecord {
  readonly owner: number
  readonly pgid: number
  readonly paths: ReadonlyArray<string>
}

/**
 * The process groups recorded by runners whose TMPDIR is `tmpdir` (src/jobs/exec/orphans.ts's
 * groupsDirectory() in those processes) and whose owner is `pid`.
 */
const groupsOf = (tmpdir: string, pid: number): ReadonlyArray<GroupRecord> => {
  const dir = path.join(tmpdir, path.basename(groupsDirectory()))
  if (!fs.existsSync(dir)) return []
  return fs.readdirSync(dir).flatMap((f) => {
    try {
      const g = JSON.parse(fs.readFileSync(path.join(dir, f), "utf8")) as GroupRecord
      return g.owner === pid ? [g] : []
    } catch {
      return [] // being written or removed
    }
  })
}

/** The running job a group belongs to: the one whose output its temporaries sit beside (reg/PAIR…, warped/PAIR-labels…). */
const jobOfGroup = (g: GroupRecord, running: ReadonlyArray<string>): string | null =>
  running.find((j) => {
    const m = /^(reg|warp-labels|warp-image)-(.+)$/.exec(j)
    if (m === null) return false
    // Temporaries are DIR/.slicewise-TAG.NAME beside the output DIR/NAME (src/jobs/exec/run-external.ts).
    const [dir, name] = m[1] === "reg" ? ["reg", m[2]!] : ["warped", `${m[2]}-${m[1] === "warp-labels" ? "labels" : "image"}.nii.gz`]
    return g.paths.some((p) => path.basename(path.dirname(p)) === dir && path.basename(p).startsWith(".slicewise-") && p.endsWith(`.${name}`))
  }) ?? null

/** The pids of group `pgid`'s running processes. */
const groupMembers = (pgid: number): ReadonlyArray<number> =>
  fs.readdirSync("/proc").filter((n) => /^\d+$/.test(n) && inGroup(Number(n), pgid)).map(Number)

const inGroup = (pid: number, pgid: number): boolean => {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8")
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    return fields[0] !== "Z" && fields[0] !== "X" && Number(fields[2]) === pgid
  } catch {
    return false
  }
}

const dead = (r: Runner) => r.child.exitCode !== null || r.child.signalCode !== null

export const runPhase = async (spec: PhaseSpec): Promise<PhaseResult> => {
  const pg = await startPostgres()
  // Undone on SIGINT / SIGTERM too (runners are in process groups of their own).
  const undo = [onSignal(() => pg.stop())]
  const cgroups = new Map<string, MemoryCgroup>()
  const runners: Array<Runner> = []
  const oomScoreAdj = new Map<string, number>()
  // The runners' TMPDIR, this run's own: their process-group records (and r3's reaping) are this run's only.
  const tmpdir = path.join(spec.dir, "tmp")
  fs.mkdirSync(tmpdir, { recursive: true })
  const start = async (name: string) => {
    const cgroup = makeMemoryCgroup(`slicewise-bench-${name}`, spec.limitBytes)
    cgroups.set(name, cgroup)
    undo.push(onSignal(() => cgroup.remove()))
    const r = await startRunner({ name, url: pg.url, memory: spec.memory, logFile: path.join(spec.dir, `runner-${name}.log`), cgroup, tmpdir })
    runners.push(r)
    undo.push(onSignal(() => killRunner(r)))
    void r.ready.then(() => {
      try {
        oomScoreAdj.set(name, Number(fs.readFileSync(`/proc/${r.child.pid}/oom_score_adj`, "utf8")))
      } catch {
        // exited already
      }
    }, () => undefined)
    return r
  }
  const startReady = async (name: string): Promise<Runner> => {
    const r = await start(name)
    await r.ready
    return r
  }
  try {
    await Promise.all([startReady("r1"), startReady("r2")])
    const startedAt = Date.now()
    let settled = false
    const submit = Promise.all(spec.pipelines.map((file) => cli(["submit", file, "--cluster", pg.url, "--wait", "--json"], spec.timeoutMs + 5000))).finally(() => (settled = true))
    let crash: CrashResult | undefined
    if (spec.crash !== undefined) {
      const victim = runners.find((r) => r.name === spec.crash)!
      // Killed once it runs a command: a job it has started whose external command is running in a
      // process group of its own, recorded on this machine with the runner as its owner (orphans.ts).
      // A job only logged as started may not have spawned anything yet.
      await waitFor(() => groupsOf(tmpdir, victim.child.pid!).length > 0 || settled, spec.timeoutMs, `${victim.name} to run a command`)
      // A second in: elastix has read its images (and the runner may have spawned the commands of its other jobs).
      await new Promise((r) => setTimeout(r, 1000))
      const running = runningJobs(victim.log)
      const groups = groupsOf(tmpdir, victim.child.pid!)
      const commands = groups.map((g) => ({ pgid: g.pgid, job: jobOfGroup(g, running), processes: groupMembers(g.pgid).length }))
      const killedAt = Date.now()
      await killRunner(victim)
      // The runner's group is gone; its commands, in groups of their own, may run on.
      await new Promise((r) => setTimeout(r, 500))
      const aliveAfterKill = commands.filter((c) => groupAlive(c.pgid)).map((c) => c.pgid)
      const orphansAfterKill = cgroups.get(victim.name)!.pids().length
      console.error(
        `${spec.name}: kill -9 ${victim.name} at ${((killedAt - startedAt) / 1000).toFixed(1)} s, running ${running.join(", ")}; ` +
          `its commands ${commands.map((c) => `${c.job ?? "?"} (group ${c.pgid})`).join(", ")}; ${aliveAfterKill.length} of them alive after the kill, ${orphansAfterKill} processes in its cgroup`
      )
      const replacement = await startReady("r3")
      // A process killed by r3 takes a moment to exit (its memory freed): looked at until none of
      // the victim's commands runs, for at most 5 s after r3 said it was ready.
      const readyAt = Date.now()
      const stillAlive = () => commands.filter((c) => groupAlive(c.pgid)).map((c) => c.pgid)
      await waitFor(() => stillAlive().length === 0 && cgroups.get(victim.name)!.pids().length === 0, 5000, "").catch(() => undefined)
      const lookedMs = Date.now() - readyAt
      const orphansAtReplacement = cgroups.get(victim.name)!.pids().length
      const aliveAtReplacement = stillAlive()
      const reapedLine = replacement.log.find((l) => /^reaped \d+ process group/.test(l.text))?.text ?? null
      const reaped = Number(/^reaped (\d+) process group/.exec(reapedLine ?? "")?.[1] ?? 0)
      console.error(
        `${spec.name}: ${replacement.name} ready: ${reapedLine ?? "no reaped line"}; ${lookedMs} ms later ${aliveAtReplacement.length} of ${victim.name}'s commands alive, ${orphansAtReplacement} processes in its cgroup`
      )
      crash = {
        victim: victim.name,
        killedAt,
        running,
        commands,
        aliveAfterKill,
        aliveAtReplacement,
        lookedMs,
        replacement: replacement.name,
        orphansAfterKill,
        orphansAtReplacement,
        reaped,
        reapedLine
      }
    }
    // Wait for the pipeline, unless every runner is dead or time is up.
    const deadline = Date.now() + spec.timeoutMs
    await waitFor(() => settled || Date.now() > deadline || runners.every(dead), spec.timeoutMs + 1000, "the pipeline")
    const ended = settled ? "finished" : runners.every(dead) ? "every runner died" : "timed out"
    const wallMs = Date.now() - startedAt
    const died = new Map(runners.filter(dead).map((r) => [r.name, r.child.signalCode ?? String(r.child.exitCode)]))
    const done = settled ? await submit : spec.pipelines.map(() => ({ code: null, stdout: "", stderr: "did not finish in time (or every runner died)" }))
    const parsed = done.map((d) => parseSubmit(d.stdout))
    const submits = spec.pipelines.map((file, i) => ({ file, id: parsed[i]?.id ?? null, code: done[i]!.code, stderr: done[i]!.stderr.trim() }))
    let htmlReport: PhaseResult["htmlReport"]
    if (spec.htmlReport && submits[0]?.id) htmlReport = await clusterReport(submits[0].id, pg.url, path.join(spec.dir, "report.html"))
    const counters = new Map([...cgroups].map(([n, g]) => [n, g.counters()]))
    await Promise.all(runners.map(stopRunner))
    const results: Array<RunnerResult> = []
    for (const r of runners) {
      const e = await r.exited
      results.push({ name: r.name, memory: spec.memory, budgetBytes: await r.ready.catch(() => NaN), oomScoreAdj: oomScoreAdj.get(r.name) ?? null, exit: e.signal ?? String(e.code), exitedAt: e.at, died: died.get(r.name) ?? null, log: r.log, cgroup: counters.get(r.name)! })
    }
    return {
      name: spec.name,
      dir: spec.dir,
      submits,
      startedAt,
      wallMs,
      ended,
      reports: parsed.flatMap((p) => p?.jobs ?? []),
      runners: results,
      ...(crash ? { crash } : {}),
      ...(htmlReport ? { htmlReport } : {})
    }
  } finally {
    for (const u of undo) u()
    await Promise.all(runners.map((r) => killRunner(r).catch(() => undefined)))
    for (const g of cgroups.values()) g.remove()
    await pg.stop()
  }
}

/** What `submit --wait --json` printed: the pipeline's id and its jobs' reports (null if it printed none). */
const parseSubmit = (stdout: string): { id: string; jobs: Array<Report> } | null => {
  try {
    return JSON.parse(stdout) as { id: string; jobs: Array<Report> }
  } catch {
    return null
  }
}

/**
 * `slicewise report ID --cluster URL --out FILE`, if this slicewise has it (it is being built);
 * otherwise why not, in one line.
 */
const clusterReport = async (id: string, url: string, out: string): Promise<{ path: string } | { skipped: string }> => {
  const r = await cli(["report", id, "--cluster", url, "--out", out], 120_000)
  if (r.code === 0 && fs.existsSync(out)) return { path: out }
  const why = (r.stderr.trim().split("\n")[0] ?? "").slice(0, 200)
  console.error(`note: no cluster report page: slicewise report ${id} --cluster … exited ${r.code}: ${why}`)
  return { skipped: `slicewise report ${id} --cluster URL exited ${r.code}: ${why}` }
}
