/**
 * Performance regression guard: runs the built slicewise CLI on a small fixed set of cases (median
 * of --repeat runs under GNU `time -v`) and prints, per case, the committed baseline's wall time and
 * peak RSS beside today's and their ratios, flagging ratios above --limit (1.10); user + system CPU
 * time beside them tells a real slowdown from a busy machine. For people to run before merging, on a
 * quiet machine; not a timed test. See bench/matrix/README.md.
 *
 *   npm run build
 *   npx tsx bench/matrix/guard.ts [--baseline bench/matrix/baseline.json] [--cases copy,threshold,...]
 *     [--repeat 3] [--limit 1.10] [--data /tmp/slicewise-matrix] [--cli bin/slicewise.js] [--strict] [--update [--note TEXT] [--commit SHA]]
 *
 * --update rewrites the baseline with today's figures (for every case run); --strict exits 1 when a
 * case is flagged. The input (size, dtype, kind) is the baseline's, 256³ uint8 structured by default.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import {
  REPO,
  backendCommand,
  ensureInput,
  fmtMiB,
  fmtS,
  machine,
  measure,
  median,
  opById,
  parseArgs,
  shortPath,
  versions,
  writeJsonAtomic,
  type Measurement
} from "./lib.js"

interface BaselineCase {
  steps: ReadonlyArray<string>
  wallS: number
  rssKiB: number
  /** user + system CPU seconds: less disturbed than wall time by other work on the machine. */
  cpuS?: number
  walls: ReadonlyArray<number>
  rssesKiB: ReadonlyArray<number>
  cpus?: ReadonlyArray<number>
}
interface Baseline {
  note: string
  date: string
  machine: ReturnType<typeof machine>
  versions: ReturnType<typeof versions>
  command: string
  load1: ReadonlyArray<number>
  size: number
  dtype: string
  input: string
  repeat: number
  cases: Record<string, BaselineCase>
}

const DEFAULT_CASES = ["copy", "threshold", "uniform3", "gaussian2", "median1", "dilate1", "label26", "edt"]

const argv = process.argv.slice(2)
const args = parseArgs(argv)
const baselineFile = path.resolve(REPO, args.str("baseline", "bench/matrix/baseline.json"))
const baseline: Baseline | undefined = fs.existsSync(baselineFile)
  ? (JSON.parse(fs.readFileSync(baselineFile, "utf8")) as Baseline)
  : undefined
const caseIds = args.list("cases", baseline ? Object.keys(baseline.cases) : DEFAULT_CASES)
const size = Number(args.str("size", String(baseline?.size ?? 256)))
const dtype = args.str("dtype", baseline?.dtype ?? "uint8")
const input = args.str("input", baseline?.input ?? "structured")
const repeat = Number(args.str("repeat", "3"))
const limit = Number(args.str("limit", "1.10"))
const data = path.resolve(args.str("data", "/tmp/slicewise-matrix"))
const cli = path.resolve(REPO, args.str("cli", "bin/slicewise.js"))
const update = args.bool("update")

const main = async () => {
  if (!fs.existsSync(cli)) throw new Error(`${cli} not found: npm run build`)
  if (baseline === undefined && !update) throw new Error(`no baseline at ${baselineFile}; make one with --update`)
  if (baseline && (baseline.size !== size || baseline.dtype !== dtype || baseline.input !== input) && !update)
    throw new Error(`the baseline is ${baseline.size}³ ${baseline.dtype} ${baseline.input}; compare like with like or --update`)
  const load0 = os.loadavg()[0]!
  if (load0 > 0.5) console.log(`note: load average ${load0.toFixed(1)} before starting; ratios on a busy machine are noisy`)
  const inDir = ensureInput(data, input, dtype, size, (s) => console.log(s))
  const outDir = path.join(data, "guard-out")
  const logs = path.join(data, "logs")
  fs.mkdirSync(logs, { recursive: true })
  const now: Record<string, BaselineCase> = {}
  const loads: Array<number> = [load0]
  const header = ["case", "base wall", "now wall", "ratio", "base RSS", "now RSS", "ratio", "base CPU", "now CPU", "ratio", ""]
  const rows: Array<Array<string>> = []
  let flagged = 0
  console.log(`${size}³ ${dtype} ${input}, median of ${repeat}, ${shortPath(cli)}; flagging ratios > ${limit.toFixed(2)}`)
  for (const id of caseIds) {
    const op = opById(id)
    const runs: Array<Measurement> = []
    for (let i = 0; i < repeat; i++) {
      fs.rmSync(outDir, { recursive: true, force: true })
      const cmd = backendCommand("slicewise", op, { input: inDir, output: outDir, cli })!
      const base = path.join(logs, `guard-${id}-${i + 1}`)
      const m = await measure(cmd, `${base}.time`, `${base}.log`, 3600)
      if (m.exit !== 0) throw new Error(`${id}: ${cmd.join(" ")} failed (exit ${m.exit}); see ${base}.log`)
      runs.push(m)
      loads.push(m.load1)
    }
    fs.rmSync(outDir, { recursive: true, force: true })
    const c: BaselineCase = {
      steps: op.steps,
      wallS: median(runs.map((r) => r.wallS)),
      rssKiB: median(runs.map((r) => r.rssKiB)),
      cpuS: median(runs.map((r) => r.userS + r.sysS)),
      walls: runs.map((r) => r.wallS),
      rssesKiB: runs.map((r) => r.rssKiB),
      cpus: runs.map((r) => Number((r.userS + r.sysS).toFixed(2)))
    }
    now[id] = c
    const b = baseline?.cases[id]
    const rw = b ? c.wallS / b.wallS : NaN
    const rr = b ? c.rssKiB / b.rssKiB : NaN
    const rc = b?.cpuS ? c.cpuS! / b.cpuS : NaN
    const bad = rw > limit || rr > limit
    if (bad) flagged++
    const row = [
      id,
      b ? fmtS(b.wallS) : "–",
      fmtS(c.wallS),
      Number.isFinite(rw) ? rw.toFixed(2) : "–",
      b ? fmtMiB(b.rssKiB) : "–",
      fmtMiB(c.rssKiB),
      Number.isFinite(rr) ? rr.toFixed(2) : "–",
      b?.cpuS ? fmtS(b.cpuS) : "–",
      fmtS(c.cpuS),
      Number.isFinite(rc) ? rc.toFixed(2) : "–",
      bad
        ? `<-- above ${limit.toFixed(2)}×${rw > limit && rr <= limit && rc <= limit ? " in wall time only (CPU not: load?)" : ""}`
        : b
          ? ""
          : "(not in baseline)"
    ]
    rows.push(row)
    console.log(`  ${row.join("  ")}`)
  }
  const widths = header.map((_, i) => Math.max(...[header, ...rows].map((r) => r[i]!.length)))
  console.log("")
  for (const r of [header, ...rows]) console.log(r.map((x, i) => (i === 0 ? x.padEnd(widths[i]!) : x.padStart(widths[i]!))).join("  ").trimEnd())
  console.log(
    baseline === undefined
      ? "\nno baseline to compare with"
      : flagged > 0
      ? `\n${flagged} case(s) above ${limit.toFixed(2)}×: rerun on a quiet machine before believing it (load ${Math.max(...loads).toFixed(1)} at most during the runs)`
      : `\nno case above ${limit.toFixed(2)}× the baseline`
  )
  if (update) {
    const b: Baseline = {
      note:
        "Baseline of bench/matrix/guard.ts: medians of `repeat` runs of the built CLI under GNU time -v, on the machine below. " +
        "Rerun with --update on your own machine before comparing: ratios across machines mean nothing." +
        (args.has("note") ? ` ${args.str("note", "")}` : ""),
      date: new Date().toISOString(),
      machine: machine(),
      versions: versions(cli, args.has("commit") ? args.str("commit", "") : undefined),
      command: `npx tsx bench/matrix/guard.ts ${argv.map((a) => (/[\s'"]/.test(a) ? JSON.stringify(a) : a)).join(" ")}`.trim(),
      load1: loads,
      size,
      dtype,
      input,
      repeat,
      cases: { ...(baseline?.cases ?? {}), ...now }
    }
    writeJsonAtomic(baselineFile, b)
    console.log(`wrote ${shortPath(baselineFile)}`)
  }
  if (flagged > 0 && args.bool("strict")) process.exit(1)
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : String(e))
  process.exit(1)
})
