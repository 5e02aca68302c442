/**
 * The generated section of docs/CLUSTER.md: everything between the lines
 * `<!-- bench/segmentation: begin -->` and `<!-- bench/segmentation: end -->` is rewritten from a
 * run's results (results.ts); the markers and a "## Measured: a 4 × 3 segmentation on 2 runners"
 * heading are added before "## Not yet" when the page has none. Every number in the section
 * comes from the results.
 *
 *   writeSection("docs/CLUSTER.md", renderSection(results))
 *
 * Used by bench/segmentation/run.ts.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { formatBytes, formatMs } from "../../src/util/units.js"
import { compareLine } from "./compare.js"
import { mostAtOnce, outcomeOf, stageRows } from "./figures.js"
import type { PhaseResult, Report } from "./phase.js"
import type { BenchResults } from "./results.js"

export const BEGIN = "<!-- bench/segmentation: begin -->"
export const END = "<!-- bench/segmentation: end -->"
const HEADING = "## Measured: a 4 × 3 segmentation on 2 runners"

const row = (cells: ReadonlyArray<string | number>) => `| ${cells.join(" | ")} |`
const head = (cells: ReadonlyArray<string>, right: ReadonlyArray<number> = []) =>
  [row(cells), row(cells.map((_, i) => (right.includes(i) ? "---:" : "---")))].join("\n")
const bytes = (n: number | undefined) => (n === undefined ? "—" : formatBytes(n))
const ms = (n: number | undefined) => (n === undefined ? "—" : formatMs(n))
const secs = (n: number) => `${(n / 1000).toFixed(1)} s`
const d4 = (x: number) => x.toFixed(4)
const mean = (xs: ReadonlyArray<number>) => xs.reduce((a, b) => a + b, 0) / xs.length

const machineText = (r: BenchResults) => {
  const m = r.machine
  return [
    `Machine: ${m.cpu}, ${m.cores} cores, ${formatBytes(m.memoryBytes)} of memory (swap ${m.swapBytes === 0 ? "off" : formatBytes(m.swapBytes)}), ` +
      `Linux ${m.kernel}, Node ${m.node}, elastix ${m.elastix}; commit ${m.commit}. ` +
      `Load average (1, 5, 15 min) at the start: ${r.loadStart}; at the end: ${r.loadEnd} ` +
      `(other sessions' tests shared the cores, so times are noisy).`
  ].join("\n")
}

const stageTable = (reports: ReadonlyArray<Report>) =>
  [
    head(["stage", "jobs", "CPU (total)", "peak predicted (max)", "peak measured (max)", "read", "written", "wall (total)", "wall (mean)"], [1, 2, 3, 4, 5, 6, 7, 8]),
    ...stageRows(reports).map((s) =>
      row([
        s.stage,
        s.done === s.jobs ? s.jobs : `${s.done} of ${s.jobs}`,
        secs(s.cpuMs),
        bytes(s.predictedMaxBytes),
        s.stage.startsWith("fusion") ? `${bytes(s.measuredMaxBytes)} (runner's RSS)` : bytes(s.measuredMaxBytes),
        s.bytesComplete ? bytes(s.bytesRead) : `${bytes(s.bytesRead)} (not all reported)`,
        s.bytesComplete ? bytes(s.bytesWritten) : `${bytes(s.bytesWritten)} (not all reported)`,
        secs(s.wallTotalMs),
        secs(s.wallMeanMs)
      ])
    )
  ].join("\n")

const jobTable = (p: PhaseResult) =>
  [
    head(["job", "state", "runner", "takes", "predicted", "measured", "CPU", "wall", "read", "written", "start", "end"], [3, 4, 5, 6, 7, 8, 9, 10, 11]),
    ...[...p.reports]
      .sort((a, b) => (a.startedAt ?? Infinity) - (b.startedAt ?? Infinity))
      .map((j) =>
        row([
          `\`${j.name}\``,
          j.state,
          j.runner ?? "—",
          j.attempts,
          bytes(j.predictedBytes),
          bytes(j.measuredBytes),
          ms(j.cpuMs),
          ms(j.wallMs),
          bytes(j.bytesRead),
          bytes(j.bytesWritten),
          j.startedAt === undefined ? "—" : secs(j.startedAt - p.startedAt),
          j.finishedAt === undefined ? "—" : secs(j.finishedAt - p.startedAt)
        ])
      )
  ].join("\n")

/** "3 (r1: 1, r2: 3)": the most jobs running at once over the cluster and on each runner. */
const atOnce = (p: PhaseResult) => {
  const most = mostAtOnce(p.runners)
  return `${most.cluster} (${p.runners.map((r) => `${r.name}: ${most[r.name]}`).join(", ")})`
}

const diceText = (r: BenchResults) => {
  if (r.dice === undefined || r.dice.length === 0) return "No Dice: the clean run did not run."
  const n = r.dice[0]!.single.length
  const bestSingle = r.dice.map((t) => Math.max(...t.single))
  const lines = [
    head(["target", "fused (majority)", ...Array.from({ length: n }, (_, i) => `atlas ${i + 1} warped`), "best single atlas", "best unregistered atlas"], Array.from({ length: n + 3 }, (_, i) => i + 1)),
    ...r.dice.map((t, k) => row([t.target, `**${d4(t.fused)}**`, ...t.single.map(d4), d4(bestSingle[k]!), d4(Math.max(...t.unregistered))])),
    row([
      "mean",
      `**${d4(mean(r.dice.map((t) => t.fused)))}**`,
      ...Array.from({ length: n }, (_, i) => d4(mean(r.dice!.map((t) => t.single[i]!)))),
      d4(mean(bestSingle)),
      d4(mean(r.dice.map((t) => Math.max(...t.unregistered))))
    ])
  ]
  const fusedMean = mean(r.dice.map((t) => t.fused))
  const beats = r.dice.filter((t, k) => t.fused > bestSingle[k]!).length
  const bestAtlasMean = Math.max(...Array.from({ length: n }, (_, i) => mean(r.dice!.map((t) => t.single[i]!))))
  return [
    lines.join("\n"),
    "",
    `Mean Dice over the AAL labels present (background excluded), against each target's true labels. ` +
      `Fused: ${d4(fusedMean)}; the best single atlas (the one atlas best on average): ${d4(bestAtlasMean)}; ` +
      `the best single atlas chosen per target with hindsight: ${d4(mean(bestSingle))}. ` +
      `The fusion beats the best single atlas on ${beats} of ${r.dice.length} targets. ` +
      `Unregistered (each atlas's labels as they are, on the target's grid): ${d4(mean(r.dice.flatMap((t) => t.unregistered)))} on average, ` +
      `${d4(mean(r.dice.map((t) => Math.max(...t.unregistered))))} for the best per target` +
      (r.options.pose ? `: the poses make registration matter.` : `: without a pose, registration adds next to nothing here.`)
  ].join("\n")
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`

/** What one crash run measured, in words: the victim's commands at the kill, after it, and once r3 was ready. */
const crashSentence = (p: PhaseResult) => {
  const c = p.crash!
  const commands = c.commands ?? []
  const named = commands.map((x) => `\`${x.job ?? `group ${x.pgid}`}\``).join(", ")
  const idle = c.running.length - new Set(commands.map((x) => x.job).filter((j) => j !== null)).size
  const after = c.aliveAfterKill?.length ?? 0
  const atReady = c.aliveAtReplacement?.length ?? 0
  return (
    `${p.name}: ${c.victim} was killed with ${plural(c.running.length, "job")} started and ${plural(commands.length, "command")} running ` +
    `(${named || "none"}${idle > 0 ? `; ${plural(idle, "job")} had not spawned ${idle === 1 ? "its" : "theirs"} yet` : ""}). ` +
    `Half a second after the kill ${after} of ${commands.length} still ran${after > 0 ? ", in process groups of their own" : ""} ` +
    `(${plural(c.orphansAfterKill, "process", "processes")} left in ${c.victim}'s cgroup). ` +
    `${c.replacement} ${c.reapedLine === null ? "logged no reaping" : `logged \`${c.reapedLine}\``} before it was ready` +
    `${c.reapedLine !== null && c.reaped !== after ? " (it reaps every recorded group on this machine whose owner is dead, not only these)" : ""}; ` +
    `${c.lookedMs === undefined ? "then" : `${(c.lookedMs / 1000).toFixed(1)} s after that`} ${atReady} of ${c.victim}'s commands ran ` +
    `and ${plural(c.orphansAtReplacement, "process", "processes")} ${c.orphansAtReplacement === 1 ? "was" : "were"} left in its cgroup.`
  )
}

const crashText = (r: BenchResults) => {
  const runs = Object.values(r.phases).filter((p) => p.crash !== undefined)
  if (runs.length === 0) return "No crash run in this bench run."
  return [
    `The bench waits until the runner has at least one external command running (a process group recorded in ` +
      `\`groupsDirectory()\` with the runner as its owner, as test/cluster/cluster.test.ts does; each run's runners have a TMPDIR of ` +
      `their own, so only their records are there), a second more, then ` +
      `sends SIGKILL to the runner's process group (its commands run in groups of their own), and starts r3 once the runner has exited.`,
    "",
    head(
      ["run", "killed (SIGKILL)", "at", "its started job(s)", "its commands running", "commands alive after the kill", "processes in its cgroup (after the kill / r3 ready)", "reaped by r3", "commands alive after r3 was ready", "jobs done", "taken again", "outputs identical to the clean run", "wall"],
      [2, 4, 5, 6, 7, 8, 12]
    ),
    ...runs.map((p) => {
      const o = outcomeOf(p)
      const c = r.comparisons[p.name]
      const k = p.crash!
      const commands = k.commands ?? []
      return row([
        p.name,
        k.victim,
        secs(k.killedAt - p.startedAt),
        k.running.map((j) => `\`${j}\``).join(", "),
        commands.length,
        `${k.aliveAfterKill?.length ?? "—"} of ${commands.length}`,
        `${k.orphansAfterKill} / ${k.orphansAtReplacement}`,
        k.reapedLine === null || k.reapedLine === undefined ? "0 (no line)" : k.reaped,
        `${k.aliveAtReplacement?.length ?? "—"} of ${commands.length}`,
        `${o.byState.done ?? 0} of ${o.jobs}`,
        o.retaken.length === 0 ? "none" : o.retaken.map((j) => `\`${j}\``).join(", "),
        c === undefined ? "—" : compareLine(c),
        secs(p.wallMs)
      ])
    }),
    "",
    ...runs.map(crashSentence).flatMap((t) => [t, ""])
  ]
    .join("\n")
    .trimEnd()
}

const oomRow = (p: PhaseResult) => {
  const o = outcomeOf(p)
  const states = Object.entries(o.byState)
    .map(([s, n]) => `${n} ${s}`)
    .join(", ")
  const died = p.runners
    .filter((x) => x.died !== null)
    .map((x) => `${x.name} (${x.died === "SIGKILL" ? "SIGKILL, which the bench did not send: the kernel's OOM killer" : `exited ${x.died}`})`)
  const jobs =
    p.reports.length > 0
      ? `${states}${p.ended === "finished" ? "" : ` (${p.ended})`}`
      : `no report: the pipeline did not finish (${p.ended}); the runners' logs: ${o.started} jobs started, ${o.doneInLogs} done`
  return row([
    p.name,
    `\`--memory ${p.runners[0]?.memory}\``,
    bytes(p.runners[0]?.budgetBytes),
    atOnce(p),
    o.killed.length,
    o.oomKills,
    `${o.failcnt} / ${o.memswFailcnt}`,
    bytes(o.maxUsageBytes),
    `${jobs}${died.length > 0 ? `; runner${died.length > 1 ? "s" : ""} ${died.join(", ")} died` : ""}`,
    secs(p.wallMs)
  ])
}

const oomText = (r: BenchResults) => {
  const naive = r.phases.naive
  const placement = r.phases.placement
  if (naive === undefined && placement === undefined) return "No memory-enforced run in this bench run."
  const runs = [naive, placement].filter((p): p is PhaseResult => p !== undefined)
  const lines = [
    `Each runner in a memory cgroup of its own (cgroup v1, made under the bench's own cgroup) with ` +
      `\`memory.limit_in_bytes\` = \`memory.memsw.limit_in_bytes\` = ${formatBytes(r.limitBytes ?? NaN)} ` +
      `(${r.limitBytes} bytes${r.options.limitBytes === null ? ", `--limit auto`: what the clean run's runners kept for themselves and their headroom, plus the register job's predicted peak, plus 64 MiB" : ""}), the runner written into \`cgroup.procs\` right after spawn; its elastix and ` +
      `transformix inherit the cgroup. **Naive**: runners told \`--memory ${r.options.naiveMemory}\`, so they take every job ` +
      `they see. **Placement**: \`--memory\` = the limit, so a runner takes a job only while the predicted peaks of its ` +
      `jobs fit what the limit leaves after its own RSS and headroom.`,
    "",
    head(["run", "runners", "job budget (each)", "most jobs at once (per runner)", "jobs OOM-killed (signal 9)", "kernel oom_kill (processes)", "failcnt (memory / memsw)", "peak cgroup usage", "jobs", "wall"], [2, 4, 5, 6, 7, 9]),
    ...runs.map(oomRow)
  ]
  for (const p of runs) {
    const o = outcomeOf(p)
    if (o.oomKills === 0) continue
    const died = p.runners.filter((x) => x.died !== null).map((x) => x.name)
    const adj = [...new Set(p.runners.map((x) => x.oomScoreAdj).filter((a): a is number => typeof a === "number"))]
    lines.push(
      "",
      `${p.name}: the kernel's OOM killer killed ${plural(o.oomKills, "process", "processes")} in the runners' cgroups; ` +
        (died.length === 0
          ? `no runner died (runners at oom_score_adj ${adj.join(", ") || "?"}; external commands start at 500), so the processes killed were their commands.`
          : `runner${died.length > 1 ? "s" : ""} ${died.join(", ")} died of SIGKILL (runners at oom_score_adj ${adj.join(", ") || "?"}; external commands start at 500).`)
    )
  }
  for (const p of runs) {
    const o = outcomeOf(p)
    const killed = p.reports.filter((j) => o.killed.includes(j.name))
    // The error up to its log's path: "elastix exited with code 137 (signal 9)".
    const errors = [...new Set(killed.map((j) => (j.error ?? "").replace(/ \(attempt.*$/, "")))]
    if (killed.length > 0) lines.push("", `${p.name}: killed by the kernel: ${killed.map((j) => `\`${j.name}\``).join(", ")} (${errors.join("; ")}).`)
  }
  if (naive !== undefined) {
    const o = outcomeOf(naive)
    const died = naive.runners.filter((x) => x.died !== null).length
    lines.push(
      "",
      naive.reports.length > 0
        ? `Retries: the register and warp jobs \`slicewise segment\` writes have no \`retries\` (default 0): a job whose command ` +
            `the kernel killed fails at its first attempt, and the jobs after it are not run. In the naive run ${plural(o.killed.length, "job")} ` +
            `failed so (signal 9), ${o.byState.failed !== undefined && o.byState.failed !== o.killed.length ? `${o.byState.failed} failed in all, ` : ""}` +
            `${plural(o.byState["not-run"] ?? 0, "job")} after them ${(o.byState["not-run"] ?? 0) === 1 ? "was" : "were"} not run and ${o.byState.done ?? 0} finished; ` +
            (o.startedAgain.length === 0
              ? "no job was started more than once."
              : `${plural(o.startedAgain.length, "job")} ${o.startedAgain.length === 1 ? "was" : "were"} started more than once (a runner died under them and another took them after their locks expired).`)
        : `Retries did not come into play: ${died === naive.runners.length ? "the kernel killed the runners themselves" : "the pipeline did not finish"}, ` +
            `so ${o.killed.length} job(s) reported a failed command (what a job's \`retries\`, 0 in this pipeline, would repeat); ` +
            `the jobs stay taken by dead runners until their locks expire, then a runner started later takes them again (a job ` +
            `taken more than 3 times is given up).`
    )
  }
  return lines.join("\n")
}

/** The subjects' poses (make-subjects' --pose), in a clause; ". " without one. */
const poseText = (r: BenchResults) => {
  if (!r.options.pose) return ", all in the template's position (no pose: an unregistered atlas is as good as a registered one). "
  const [deg, mm, pct] = r.options.pose.split(",")
  const lost = (r.subjects.poses ?? []).map((l) => Number(/\(([\d.]+) %\) outside/.exec(l)?.[1] ?? NaN)).filter((x) => !Number.isNaN(x))
  return (
    `, each also in a random pose of its own (\`--pose ${r.options.pose}\`: rotated by up to ${deg}° about each axis, shifted by up to ${mm} mm ` +
    `along each${pct ? `, scaled by up to ±${pct} % per axis` : ""}), in the same resampling, on the same grid` +
    (lost.length > 0 ? `; the poses put at most ${Math.max(...lost).toFixed(2)} % of the template's labelled voxels outside the field of view` : "") +
    `. So an atlas must be registered to a target before its labels fit. `
  )
}

export const renderSection = (r: BenchResults): string => {
  const clean = r.phases.clean
  const parts = [
    `Generated by \`${r.command}\` (${r.startedAt}, ${(r.wallSeconds / 60).toFixed(1)} min in all); every figure below comes from that run ` +
      `(raw results: \`${path.join(r.options.out, "results.json")}\`). Do not edit by hand: run the bench again.`,
    "",
    machineText(r),
    "",
    `Data: \`${r.subjects.command}\`${r.subjects.seconds === null ? " (reused from an earlier run)" : ` (${r.subjects.seconds.toFixed(0)} s)`}: ` +
      `${plural(r.options.atlases, "atlas", "atlases")} and ${plural(r.options.targets, "target")}, Colin27 under random smooth deformations, 181×217×181 voxels of 1 mm` +
      poseText(r) +
      `Pipeline: \`${r.segment.replace(new RegExp(r.options.data, "g"), "$DATA")}\`. ` +
      `Runners run from the sources under tsx (\`node --import tsx src/cli/main.ts runner --cluster URL --memory SIZE --listen 127.0.0.1:PORT --name r1\`), ` +
      `each run on a PostgreSQL of its own (test/support/postgres.ts), submitted with \`slicewise submit pipeline.json --cluster URL --wait --json\`.`
  ]
  if (clean !== undefined) {
    parts.push(
      "",
      `### Per stage (the clean run: \`--memory ${r.options.memory}\` per runner, no cgroup limit)`,
      "",
      stageTable(clean.reports),
      "",
      `Pipeline wall time ${secs(clean.wallMs)} from submit to its last report. Jobs running at once, at most, over the cluster ` +
        `(and per runner): ${atOnce(clean)}. Peak memory of each runner's cgroup (the runner, its commands and their page cache; ` +
        `no limit): ${clean.runners.map((x) => `${x.name} ${bytes(x.cgroup.maxUsageBytes)}`).join(", ")}. ` +
        `Measured peaks are the peak RSS of elastix / transformix (GNU time and the /proc sampler), and for the fuse jobs, which run ` +
        `inside the runner, the runner's RSS. CPU of external jobs is their processes'; of fuse jobs the runner's while they ran. ` +
        `Read and written: what the jobs' processes read and wrote (compressed .nii.gz files).`,
      "",
      clean.htmlReport === undefined
        ? ""
        : "path" in clean.htmlReport
          ? `Per-runner memory, CPU and I/O over time with job lanes: \`${clean.htmlReport.path}\` (\`slicewise report ID --cluster URL --out …\`).`
          : `No per-runner time-series page: ${clean.htmlReport.skipped}.`,
      "",
      "<details><summary>Every job of the clean run</summary>",
      "",
      jobTable(clean),
      "",
      "</details>",
      "",
      "### Dice of the fused segmentation and of single atlases",
      "",
      diceText(r)
    )
  }
  parts.push("", "### Crash runs: `kill -9` of a runner mid-job", "", crashText(r), "", "### Memory enforced by the kernel: naive concurrency against placement", "", oomText(r))
  return parts.filter((p, i, all) => !(p === "" && all[i - 1] === "")).join("\n")
}

/** Replaces the text between the markers (adding them, under their heading, before "## Not yet"). */
export const writeSection = (file: string, section: string): void => {
  let page = fs.readFileSync(file, "utf8")
  if (!page.includes(BEGIN) || !page.includes(END)) {
    const block = `${HEADING}\n\n${BEGIN}\n${END}\n\n`
    const at = page.indexOf("## Not yet")
    page = at >= 0 ? page.slice(0, at) + block + page.slice(at) : `${page.trimEnd()}\n\n${block}`
  }
  const a = page.indexOf(BEGIN) + BEGIN.length
  const b = page.indexOf(END)
  fs.writeFileSync(file, `${page.slice(0, a)}\n${section.trim()}\n${page.slice(b)}`)
}
