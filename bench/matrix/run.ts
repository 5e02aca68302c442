/**
 * The benchmark matrix (issues 6, 23): slicewise beside scipy.ndimage/skimage (whole volume in
 * memory), dask (map_overlap on a Zarr copy) and ITK (bench/peers/itk/matrix_itk, whole volume in
 * memory, ITK's threads), each reading a TIFF stack, running one op and writing a TIFF stack, under
 * GNU `time -v` (wall time, CPU time and peak RSS from outside the process), --repeat times;
 * medians, every run, and whether the outputs agree, to a JSON file and a Markdown table.
 * The itk backend needs `bench/peers/itk/build.sh` first (Debian's ITK 5.2).
 * Resumable: cases already in the results file are skipped. Run by hand; see bench/matrix/README.md.
 *
 *   npm run build
 *   npx tsx bench/matrix/run.ts [--shapes 256,512] [--dtypes uint8,uint16,float32] [--inputs ramp,structured]
 *     [--ops copy,threshold,...] [--backends slicewise,scipy,dask,itk] [--repeat 3] [--data /tmp/slicewise-matrix]
 *     [--out DATA/results.json] [--md OUT.md] [--cli bin/slicewise.js] [--chunk 64] [--timeout 3600]
 *     [--peers-1024] [--keep-outputs] [--retry-failed] [--busy N] [--note TEXT] [--commit SHA] [--list] [--render]
 *
 * --busy N keeps N other processes spinning for the whole invocation (each takes a core), for the
 * "under load" figures: with --busy 1 on 2 cores, a backend that counts on a second core loses it.
 */
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import {
  BACKENDS,
  BYTES,
  DTYPES,
  INPUTS,
  OPS,
  REPO,
  backendCommand,
  compareStacks,
  cpuS,
  ensureInput,
  ensureZarr,
  fmtMiB,
  fmtRatio,
  fmtS,
  machine,
  shortPath,
  measure,
  median,
  memAvailableBytes,
  itkVersion,
  opById,
  parseArgs,
  requireItk,
  slicewiseNode,
  versions,
  writeJsonAtomic,
  type Backend,
  type Comparison,
  type Measurement,
  type Op,
  warmPageCache
} from "./lib.js"

interface BackendResult {
  status: "ok" | "failed" | "n/a" | "skipped"
  reason?: string
  command?: ReadonlyArray<string>
  runs: Array<Measurement>
  medianWallS?: number
  medianRssKiB?: number
}

interface CaseResult {
  size: number
  dtype: string
  input: string
  op: string
  steps: ReadonlyArray<string>
  peerOp: string
  backends: Partial<Record<Backend, BackendResult>>
  compare: Record<string, Comparison>
  completed?: string
}

interface Results {
  version: 1
  created: string
  updated: string
  machine: ReturnType<typeof machine>
  versions: ReturnType<typeof versions>
  /** `node`: the Node that ran slicewise in this invocation (on PATH), when it was recorded. */
  invocations: Array<{ date: string; command: string; load1: number; node?: string; busy?: number }>
  notes: Array<string>
  cases: Record<string, CaseResult>
}

const argv = process.argv.slice(2)
const args = parseArgs(argv)
if (args.has("help")) {
  console.log(fs.readFileSync(new URL(import.meta.url), "utf8").split("*/")[0])
  process.exit(0)
}
const sizes = args.list("shapes", ["256", "512"]).map(Number)
const dtypes = args.list("dtypes", DTYPES)
const inputs = args.list("inputs", INPUTS)
const ops: ReadonlyArray<Op> = args.list("ops", OPS.map((o) => o.id)).map(opById)
const backends = args.list("backends", BACKENDS) as Array<Backend>
for (const b of backends) if (!(BACKENDS as ReadonlyArray<string>).includes(b)) throw new Error(`unknown backend ${b}`)
for (const d of dtypes) if (!(d in BYTES)) throw new Error(`unknown dtype ${d}`)
for (const i of inputs) if (!(INPUTS as ReadonlyArray<string>).includes(i)) throw new Error(`unknown input ${i}`)
const repeat = Number(args.str("repeat", "3"))
const data = path.resolve(args.str("data", "/tmp/slicewise-matrix"))
const outFile = path.resolve(args.str("out", path.join(data, "results.json")))
const mdFile = path.resolve(args.str("md", outFile.replace(/\.json$/, "") + ".md"))
const cli = path.resolve(REPO, args.str("cli", "bin/slicewise.js"))
const chunk = Number(args.str("chunk", "64"))
const timeoutS = Number(args.str("timeout", "3600"))
const peers1024 = args.bool("peers-1024")
const keepOutputs = args.bool("keep-outputs")
const retryFailed = args.bool("retry-failed")
const busy = Number(args.str("busy", "0"))

// Spinning processes for --busy, stopped when this one ends however it ends.
const spinners = Array.from({ length: busy }, () => {
  const child = spawn("sh", ["-c", "while :; do :; done"], { stdio: "ignore" })
  child.unref()
  return child
})
const stopSpinners = () => spinners.forEach((c) => c.kill("SIGKILL"))
process.on("exit", stopSpinners)
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => process.exit(130))

const stamp = () => new Date().toISOString().slice(11, 19)
const log = (s: string) => console.log(`[${stamp()}] ${s}`)

const results: Results = fs.existsSync(outFile)
  ? (JSON.parse(fs.readFileSync(outFile, "utf8")) as Results)
  : {
      version: 1,
      created: new Date().toISOString(),
      updated: new Date().toISOString(),
      machine: machine(),
      versions: versions(cli, args.has("commit") ? args.str("commit", "") : undefined),
      invocations: [],
      notes: [],
      cases: {}
    }
// --render only rewrites the Markdown from the results file (e.g. after editing its notes).
if (!args.bool("render")) results.invocations.push({
  date: new Date().toISOString(),
  command: `npx tsx bench/matrix/run.ts ${argv.map((a) => (/[\s'"]/.test(a) ? JSON.stringify(a) : a)).join(" ")}`.trim(),
  load1: os.loadavg()[0]!,
  node: slicewiseNode(),
  ...(busy > 0 && { busy })
})
if (args.has("note") && !args.bool("render")) results.notes.push(args.str("note", ""))
const save = () => {
  results.updated = new Date().toISOString()
  writeJsonAtomic(outFile, results)
  fs.writeFileSync(mdFile, renderMarkdown(results))
}

const keyOf = (size: number, dtype: string, input: string, op: string) => `${size}-${dtype}-${input}-${op}`
const PAIRS: ReadonlyArray<readonly [Backend, Backend]> = [
  ["slicewise", "scipy"],
  ["dask", "scipy"],
  ["itk", "scipy"]
]

/** Why a peer is not run at this size, or undefined. */
const peerSkip = (backend: Backend, op: Op, size: number, dtype: string): string | undefined => {
  if (backend === "slicewise") return undefined
  if (size >= 1024 && !peers1024) return "peers at 1024³ only with --peers-1024"
  // ITK holds the whole volume too (input, a mirror-padded copy, outputs): the same rough estimate.
  if (backend === "scipy" || backend === "itk") {
    const b = BYTES[dtype]!
    const need = size ** 3 * (b + op.peerBytesPerVoxel(b)) * 1.2
    const avail = memAvailableBytes()
    if (need > avail)
      return `needs about ${(need / 2 ** 30).toFixed(1)} GiB in memory, ${(avail / 2 ** 30).toFixed(1)} GiB available`
  }
  return undefined
}

const settled = (r: BackendResult | undefined) =>
  r !== undefined && (r.status === "n/a" || r.status === "skipped" || (r.status === "failed" && !retryFailed) || (r.status === "ok" && r.runs.length >= repeat))

const caseDone = (c: CaseResult | undefined) => {
  if (c === undefined) return false
  if (!backends.every((b) => settled(c.backends[b]))) return false
  return PAIRS.every(
    ([a, b]) => !backends.includes(a) || !backends.includes(b) || c.backends[a]?.status !== "ok" || c.backends[b]?.status !== "ok" || c.compare[`${a}-${b}`] !== undefined
  )
}

if (args.bool("list")) {
  for (const size of sizes)
    for (const dtype of dtypes)
      for (const input of inputs)
        for (const op of ops) {
          const k = keyOf(size, dtype, input, op.id)
          console.log(`${k.padEnd(36)} ${caseDone(results.cases[k]) ? "done" : "to do"}`)
        }
  process.exit(0)
}

const main = async () => {
  if (!fs.existsSync(cli)) throw new Error(`${cli} not found: npm run build`)
  if (backends.includes("itk")) {
    requireItk()
    // ITK's version, recorded once a results file runs ITK (versions(), shared with guard.ts, leaves it out).
    if (results.versions["itk"] === undefined) results.versions = { ...results.versions, itk: itkVersion() ?? "?" }
  }
  fs.mkdirSync(data, { recursive: true })
  log(`results ${outFile}, table ${mdFile}, data ${data}`)
  for (const size of sizes)
    for (const dtype of dtypes)
      for (const input of inputs) {
        const pending = ops.filter((op) => !caseDone(results.cases[keyOf(size, dtype, input, op.id)]))
        if (pending.length === 0) continue
        log(`${size}³ ${dtype} ${input}: ${pending.map((o) => o.id).join(", ")}`)
        const inDir = ensureInput(data, input, dtype, size, log)
        let zarr: string | undefined
        for (const op of pending) await runCase(size, dtype, input, op, inDir, () => (zarr ??= ensureZarr(data, input, dtype, size, chunk, log)))
      }
  save()
  log(`done: ${outFile}, ${mdFile}`)
  // The spinners' handles would keep this process, and so them, alive.
  stopSpinners()
}

const runCase = async (size: number, dtype: string, input: string, op: Op, inDir: string, zarrOf: () => string) => {
  const key = keyOf(size, dtype, input, op.id)
  const c: CaseResult = (results.cases[key] ??= { size, dtype, input, op: op.id, steps: op.steps, peerOp: op.peer, backends: {}, compare: {} })
  const outRoot = path.join(data, "out", key)
  const logs = path.join(data, "logs")
  fs.mkdirSync(logs, { recursive: true })
  const outDir = (b: Backend) => path.join(outRoot, b)
  // Backends that still need runs; those whose output a missing comparison needs run once more.
  const todo = new Map<Backend, number>()
  for (const b of backends) {
    let r = c.backends[b]
    if (r?.status === "failed" && retryFailed) r = c.backends[b] = { status: "ok", runs: [] }
    if (r === undefined) {
      const skip = peerSkip(b, op, size, dtype)
      const cmd = backendCommand(b, op, { input: inDir, zarr: "ZARR", output: outDir(b), cli })
      if (cmd === undefined) r = { status: "n/a", reason: "not expressible with map_overlap (a global op)", runs: [] }
      else if (skip !== undefined) r = { status: "skipped", reason: skip, runs: [] }
      else r = { status: "ok", runs: [] }
      c.backends[b] = r
    }
    if (r.status === "ok" && r.runs.length < repeat) todo.set(b, repeat - r.runs.length)
  }
  for (const [a, b] of PAIRS) {
    if (!backends.includes(a) || !backends.includes(b)) continue
    if (c.backends[a]?.status !== "ok" || c.backends[b]?.status !== "ok" || c.compare[`${a}-${b}`] !== undefined) continue
    for (const x of [a, b]) if (!todo.has(x) && !fs.existsSync(path.join(outDir(x), ".ok"))) todo.set(x, 1)
  }
  const rounds = Math.max(0, ...todo.values())
  for (let rep = 0; rep < rounds; rep++) {
    for (const b of backends) {
      const left = todo.get(b) ?? 0
      if (left <= rep) continue
      const r = c.backends[b]!
      if (r.status !== "ok") continue
      const cmd = backendCommand(b, op, { input: inDir, zarr: b === "dask" ? zarrOf() : undefined, output: outDir(b), cli })!
      fs.rmSync(outDir(b), { recursive: true, force: true })
      fs.mkdirSync(outRoot, { recursive: true })
      const base = path.join(logs, `${key}-${b}-${r.runs.length + 1}`)
      warmPageCache(b === "dask" ? zarrOf() : inDir)
      const m = await measure(cmd, `${base}.time`, `${base}.log`, timeoutS)
      r.command = cmd
      r.runs.push(m)
      if (m.exit !== 0) {
        r.status = "failed"
        const tail = fs.readFileSync(`${base}.log`, "utf8").trim().split("\n").slice(-3).join(" | ")
        r.reason = m.timedOut ? `timed out after ${timeoutS} s` : `exit ${m.exit}: ${tail}`.slice(0, 400)
        log(`  ${key} ${b}: FAILED (${r.reason})`)
      } else {
        fs.writeFileSync(path.join(outDir(b), ".ok"), "")
        const ok = r.runs.filter((x) => x.exit === 0)
        r.medianWallS = median(ok.map((x) => x.wallS))
        r.medianRssKiB = median(ok.map((x) => x.rssKiB))
        log(`  ${key} ${b} #${r.runs.length}: ${fmtS(m.wallS)}, CPU ${fmtS(cpuS(m))}, ${fmtMiB(m.rssKiB)} (load ${m.load1.toFixed(1)})`)
      }
      save()
    }
  }
  for (const [a, b] of PAIRS) {
    if (!backends.includes(a) || !backends.includes(b)) continue
    if (c.backends[a]?.status !== "ok" || c.backends[b]?.status !== "ok" || c.compare[`${a}-${b}`] !== undefined) continue
    c.compare[`${a}-${b}`] = compareStacks(outDir(a), outDir(b))
    log(`  ${key} ${a} vs ${b}: ${agreement(c.compare[`${a}-${b}`])}`)
  }
  if (caseDone(c)) {
    c.completed = new Date().toISOString()
    if (!keepOutputs) fs.rmSync(outRoot, { recursive: true, force: true })
  }
  save()
}

// ---------------------------------------------------------------------------------------------
// Markdown

const agreement = (x: Comparison | undefined): string => {
  if (x === undefined) return "–"
  if (x.sameShape === false || x.sameDtype === false) return `differ: ${x.detail ?? "shape/dtype"}`
  const isFloat = (x.dtypeA ?? "").startsWith("float")
  if (x.differing === 0) return isFloat ? "equal (float)" : "equal"
  if (isFloat) return `max \\|Δ\\| ${x.maxAbs.toPrecision(2)} (${x.maxUlp.toFixed(0)} ulp; ${x.differing} differ)`
  return `**${x.differing} differ** (max \\|Δ\\| ${x.maxAbs})`
}

/** Median of the successful runs: wall (s), CPU = user + system (s), peak RSS (KiB). */
const medians = (r: BackendResult) => {
  const ok = r.runs.filter((x) => x.exit === 0)
  return { wall: median(ok.map((x) => x.wallS)), cpu: median(ok.map(cpuS)), rss: median(ok.map((x) => x.rssKiB)) }
}

/** "wall / CPU / RSS" of a backend, or why there is none. */
const cell = (r: BackendResult | undefined) => {
  if (r === undefined) return "–"
  if (r.status === "n/a") return "n/a"
  if (r.status === "skipped") return "skipped"
  if (r.status === "failed") return "failed"
  if (r.runs.length === 0) return "–"
  const m = medians(r)
  return `${fmtS(m.wall)} / ${fmtS(m.cpu)} / ${fmtMiB(m.rss)}`
}

/** slicewise ÷ the peer, "wall / CPU / RSS". */
const ratios = (a: BackendResult | undefined, b: BackendResult | undefined) => {
  if (a?.status !== "ok" || b?.status !== "ok" || a.runs.length === 0 || b.runs.length === 0) return "–"
  const [x, y] = [medians(a), medians(b)]
  return `${fmtRatio(x.wall / y.wall)} / ${fmtRatio(x.cpu / y.cpu)} / ${fmtRatio(x.rss / y.rss)}`
}

const renderMarkdown = (res: Results): string => {
  const lines: Array<string> = []
  const v = res.versions
  const all = Object.values(res.cases)
  // Columns for the backends this file has results of (a file from before ITK has no ITK columns).
  const shown = BACKENDS.filter((b) => all.some((c) => c.backends[b] !== undefined))
  // The ratio columns: slicewise ÷ scipy and ÷ ITK (the issue's goal is below 1 against both).
  const peers = shown.includes("slicewise") ? shown.filter((b) => b === "scipy" || b === "itk") : []
  const pairs = PAIRS.filter(([a, b]) => shown.includes(a) && shown.includes(b))
  lines.push("# slicewise benchmark matrix", "")
  lines.push(
    `Machine: ${res.machine.cpu}, ${res.machine.cores} cores, ${res.machine.memGiB} GiB, ${res.machine.os}. ` +
      `Node ${v.node}; Python ${v["python"] ?? "?"}, numpy ${v["numpy"] ?? "?"}, scipy ${v["scipy"] ?? "?"}, ` +
      `scikit-image ${v["skimage"] ?? "?"}, dask ${v["dask"] ?? "?"}, zarr ${v["zarr"] ?? "?"}, tifffile ${v["tifffile"] ?? "?"}` +
      `${v["itk"] !== undefined ? `; ITK ${v["itk"]}` : ""}. ` +
      `slicewise CLI ${shortPath(v.slicewiseCli)} built from commit ${/^[0-9a-f]{40}$/.test(String(v.commit)) ? String(v.commit).slice(0, 12) : v.commit}${v.dirty ? " (sources modified)" : ""}.`,
    ""
  )
  lines.push(`Measured ${res.created.slice(0, 16).replace("T", " ")} – ${res.updated.slice(0, 16).replace("T", " ")} UTC. Commands:`, "")
  for (const inv of res.invocations) {
    const node = inv.node !== undefined && inv.node !== v.node ? `, Node ${inv.node}` : ""
    const spinning = inv.busy === undefined ? "" : `, ${inv.busy} spinning process${inv.busy === 1 ? "" : "es"} beside it`
    lines.push(`- \`${inv.command}\` (${inv.date.slice(0, 16).replace("T", " ")}, load ${inv.load1.toFixed(1)}${spinning}${node})`)
  }
  lines.push("")
  for (const n of res.notes) lines.push(`${n}`, "")
  lines.push(
    "Each backend reads the input TIFF stack (dask: its uncompressed Zarr v2 copy, chunks 64³), runs the steps and writes a TIFF stack; " +
      "wall time, CPU time (user + system) and peak RSS are GNU `time -v`'s, median of the runs (n), given as wall / CPU / RSS. " +
      "Ratios are slicewise ÷ the peer, wall / CPU / RSS (below 1: slicewise is faster, spends less CPU or is smaller). " +
      "The last columns compare the outputs of the last runs with scipy's, voxel for voxel (bench/peers/matrix_compare.py; for floats: max \\|Δ\\| in units in the last place)." +
      (shown.includes("dask") ? " dask label/edt are n/a: map_overlap cannot express a global op." : ""),
    ""
  )
  const groups = new Map<string, Array<CaseResult>>()
  for (const c of all) {
    const g = `${c.size}³ ${c.dtype}, ${c.input}`
    if (!groups.has(g)) groups.set(g, [])
    groups.get(g)!.push(c)
  }
  const opOrder = (c: CaseResult) => OPS.findIndex((o) => o.id === c.op)
  const sorted = [...groups.entries()].sort(([, a], [, b]) => {
    const x = a[0]!, y = b[0]!
    return x.size - y.size || DTYPES.indexOf(x.dtype as never) - DTYPES.indexOf(y.dtype as never) || x.input.localeCompare(y.input)
  })
  const header = [
    "op",
    "steps",
    ...shown.map((b) => `${b} wall / CPU / RSS`),
    ...peers.map((b) => `sw/${b} wall / CPU / RSS`),
    "n",
    ...pairs.map(([a, b]) => `${a} vs ${b}`)
  ]
  const align = ["---", "---", ...shown.map(() => "---:"), ...peers.map(() => "---:"), "---", ...pairs.map(() => "---")]
  for (const [g, cases] of sorted) {
    lines.push(`## ${g}`, "")
    lines.push(`| ${header.join(" | ")} |`, `| ${align.join(" | ")} |`)
    for (const c of cases.sort((a, b) => opOrder(a) - opOrder(b))) {
      const n = shown.map((b) => (c.backends[b]?.status === "ok" ? String(c.backends[b]!.runs.length) : "–")).join("/")
      const row = [
        c.op,
        `\`${c.steps.join(" ")}\``,
        ...shown.map((b) => cell(c.backends[b])),
        ...peers.map((b) => ratios(c.backends.slicewise, c.backends[b])),
        n,
        ...pairs.map(([a, b]) => agreement(c.compare[`${a}-${b}`]))
      ]
      lines.push(`| ${row.join(" | ")} |`)
    }
    lines.push("")
    const notes = cases.flatMap((c) =>
      Object.entries(c.backends)
        .filter(([, r]) => r !== undefined && (r.status === "failed" || r.status === "skipped") && r.reason)
        .map(([b, r]) => `- ${c.op} ${b}: ${r!.status}, ${r!.reason}`)
    )
    if (notes.length > 0) lines.push(...notes, "")
  }
  return `${lines.join("\n")}\n`
}

if (args.bool("render")) {
  fs.writeFileSync(mdFile, renderMarkdown(results))
  console.log(`wrote ${mdFile}`)
} else main().catch((e) => {
  console.error(e instanceof Error ? e.message : String(e))
  process.exit(1)
})
