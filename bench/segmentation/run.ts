/**
 * The multi-atlas segmentation characterization on a cluster of 2 runners (issue 21): m targets × n
 * atlases made from Colin27 and AAL (examples/multi-atlas/make-subjects.ts; each subject in a random
 * pose of its own, `--pose DEG,MM,PCT`, so that registration matters), the pipeline written by
 * `slicewise segment`, run by two `slicewise runner` processes on a PostgreSQL of its own and
 * `slicewise submit --wait`, in up to five runs:
 *
 * - clean: every job's report (runner, takes, predicted and measured peak, CPU, wall, bytes), the
 *   per-stage table, and the Dice of the fused labels and of each warped atlas against the truth;
 * - crash-r1, crash-r2: the same pipeline in a fresh directory and database, `kill -9` of that
 *   runner once it runs an external command, which of its commands outlived it, a replacement runner
 *   r3 and what it reaped; every output byte-compared with the clean run;
 * - naive, placement: each runner in a memory cgroup limited to `--limit` by the kernel; naive runners
 *   are told `--naive-memory` (far more), placement runners `--memory` = the limit; OOM kills counted.
 *   `--limit auto` (the default) sizes the limit from the clean run: see limitFrom.
 *
 * Writes OUT/results.json and the section of docs/CLUSTER.md between its bench/segmentation markers.
 * Needs root (PostgreSQL as the postgres user, cgroups), PostgreSQL, elastix and mricron-data.
 *
 *   npx tsx bench/segmentation/run.ts [--data /tmp/slicewise-seg/data] [--out /tmp/slicewise-seg]
 *     [--atlases 3] [--targets 4] [--seed 1] [--pose 6,6,4 | --no-pose] [--params affine] [--memory 2GiB] [--limit auto|SIZE] [--naive-memory 64GiB]
 *     [--phases clean,crash-r1,crash-r2,naive,placement] [--doc docs/CLUSTER.md | --no-doc]
 *   npx tsx bench/segmentation/run.ts --render OUT/results.json [--doc …]   # the page again from saved results, nothing run
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { parseSize } from "../../src/util/units.js"
import { cgroupsUsable } from "./cgroup.js"
import { installSignalCleanup } from "./cleanup.js"
import { compareRuns } from "./compare.js"
import { outcomeOf } from "./figures.js"
import { loadAverage, machine } from "./machine.js"
import { renderSection, writeSection } from "./markdown.js"
import { runPhase, type PhaseResult } from "./phase.js"
import { ROOT } from "./processes.js"
import type { BenchOptions, BenchResults } from "./results.js"
import { scoreRun } from "./score.js"
import { makeSubjects, writePipeline } from "./subjects.js"

const argv = process.argv.slice(2)
const option = (name: string, fallback: string): string => {
  const i = argv.indexOf(`--${name}`)
  return i >= 0 && i + 1 < argv.length ? argv[i + 1]! : fallback
}
const out = path.resolve(option("out", "/tmp/slicewise-seg"))
const options: BenchOptions = {
  data: path.resolve(option("data", path.join(out, "data"))),
  out,
  atlases: Number(option("atlases", "3")),
  targets: Number(option("targets", "4")),
  seed: Number(option("seed", "1")),
  pose: argv.includes("--no-pose") ? "" : option("pose", "6,6,4"),
  method: "majority",
  params: option("params", "affine"),
  memory: option("memory", "2GiB"),
  naiveMemory: option("naive-memory", "64GiB"),
  limitBytes: option("limit", "auto") === "auto" ? null : (parseSize(option("limit", "")) ?? NaN),
  phases: option("phases", "clean,crash-r1,crash-r2,naive,placement").split(",")
}
const doc = argv.includes("--no-doc") ? null : path.resolve(ROOT, option("doc", "docs/CLUSTER.md"))
const MINUTE = 60_000
const MiB = 2 ** 20

/**
 * `--limit auto`: room for one registration by the model, not for two by measurement. What the
 * clean run's runners kept for themselves and their headroom (their --memory less the budget they
 * announced; the larger of the two), plus the register job's predicted peak, plus 64 MiB: a runner
 * may start a little larger, and grows after its first jobs (a fuse job runs inside it). Two
 * registrations on one runner (two elastix processes of about 300 MiB at 1 mm) do not fit that.
 */
const limitFrom = (clean: PhaseResult, memoryBytes: number): number => {
  const kept = Math.max(...clean.runners.filter((r) => r.name !== "r3").map((r) => memoryBytes - r.budgetBytes))
  const register = Math.max(...clean.reports.filter((j) => j.kind === "register").map((j) => j.predictedBytes ?? 0))
  return Math.ceil((kept + register + 64 * MiB) / MiB) * MiB
}

const main = async () => {
  if (Number.isNaN(options.limitBytes)) throw new Error(`--limit ${option("limit", "")}: give a size such as 600MiB, or auto`)
  const wantsCgroups = options.phases.some((p) => p === "naive" || p === "placement")
  if (wantsCgroups && options.limitBytes === null && !options.phases.includes("clean")) throw new Error("--limit auto needs the clean run: give --limit SIZE")
  if (wantsCgroups && !cgroupsUsable()) throw new Error("the naive and placement runs need root and the cgroup v1 memory controller (/sys/fs/cgroup/memory)")
  installSignalCleanup()
  const started = Date.now()
  const loadStart = loadAverage()
  console.error(`bench/segmentation: load average ${loadStart}; runs ${options.phases.join(", ")}; out ${out}`)
  fs.mkdirSync(out, { recursive: true })
  const subjects = await makeSubjects({ dir: options.data, atlases: options.atlases, targets: options.targets, seed: options.seed, pose: options.pose })
  const phases: Record<string, PhaseResult> = {}
  let limitBytes = options.limitBytes
  let segment = ""
  const save = (partial: object) => fs.writeFileSync(path.join(out, "results.json"), `${JSON.stringify({ options, phases, ...partial }, null, 1)}\n`)
  for (const name of options.phases) {
    const dir = path.join(out, name)
    const enforced = name === "naive" || name === "placement"
    if (enforced && limitBytes === null) {
      limitBytes = limitFrom(phases.clean!, parseSize(options.memory)!)
      console.error(`--limit auto: ${limitBytes} bytes (${(limitBytes / 2 ** 20).toFixed(0)} MiB)`)
    }
    const command = await writePipeline(subjects, dir, { method: options.method, params: options.params })
    if (name === "clean") segment = command
    const crash = /^crash-(r\d)$/.exec(name)?.[1]
    console.error(`${name}: ${dir}/pipeline.json`)
    phases[name] = await runPhase({
      name,
      dir,
      pipelines: [path.join(dir, "pipeline.json")],
      memory: name === "naive" ? options.naiveMemory : name === "placement" ? `${limitBytes! / MiB}MiB` : options.memory,
      limitBytes: enforced ? limitBytes : null,
      ...(crash ? { crash } : {}),
      htmlReport: name === "clean",
      timeoutMs: (name === "naive" ? 8 : 20) * MINUTE
    })
    const o = outcomeOf(phases[name]!)
    console.error(`${name}: ${(phases[name]!.wallMs / 1000).toFixed(1)} s, ${JSON.stringify(o.byState)}, killed ${o.killed.length}, oom_kill ${o.oomKills}`)
    save({})
  }
  const clean = phases.clean
  const dice = clean !== undefined ? await scoreRun(subjects, clean.dir) : undefined
  const comparisons = Object.fromEntries(
    Object.values(phases)
      .filter((p) => p.crash !== undefined && clean !== undefined)
      .map((p) => [p.name, compareRuns(subjects, clean!.dir, p.dir)])
  )
  const results: BenchResults = {
    command: `npx tsx bench/segmentation/run.ts ${argv.join(" ")}`.trim(),
    options,
    limitBytes,
    machine: machine(),
    startedAt: new Date(started).toISOString(),
    wallSeconds: (Date.now() - started) / 1000,
    loadStart,
    loadEnd: loadAverage(),
    subjects: { command: subjects.command, seconds: subjects.seconds, poses: subjects.poses },
    segment,
    phases,
    ...(dice ? { dice } : {}),
    comparisons
  }
  fs.writeFileSync(path.join(out, "results.json"), `${JSON.stringify(results, null, 1)}\n`)
  const section = renderSection(results)
  fs.writeFileSync(path.join(out, "section.md"), `${section}\n`)
  if (doc !== null) writeSection(doc, section)
  console.error(`wrote ${path.join(out, "results.json")}, ${path.join(out, "section.md")}${doc ? ` and ${doc}` : ""} (${(results.wallSeconds / 60).toFixed(1)} min)`)
}

/** `--render FILE`: writes the section again from a results.json this script wrote. */
const render = (file: string) => {
  const section = renderSection(JSON.parse(fs.readFileSync(file, "utf8")) as BenchResults)
  if (doc !== null) writeSection(doc, section)
  console.log(doc === null ? section : `wrote ${doc} from ${file}`)
}

const renderFrom = option("render", "")
const work = renderFrom !== "" ? Promise.resolve().then(() => render(path.resolve(renderFrom))) : main()
work.catch((e) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : String(e))
  process.exitCode = 1
})
