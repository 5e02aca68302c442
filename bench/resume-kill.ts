/**
 * Issue 22's acceptance run for `slicewise run --resume`: kill -9 at `--points` seeded random
 * points of a multi-pass pipeline at `--size`³ (uint8), then --resume; every resumed output must
 * be byte for byte the uninterrupted run's. The default pipeline has three passes: otsu's
 * histogram (a fold), then the threshold and edt's forward z sweep into a spill, then edt's
 * backward sweep and in-plane phase into the output. For each point it prints, measured:
 *
 * - resumed at: the pass and the slice (of its first unwritten write, or its fold) the resumed run
 *   went on from, and the slices it kept;
 * - lost: the time the killed run had worked since its last checkpoint (the journal's last
 *   replacement to the kill), against the longest time between two checkpoints of the
 *   uninterrupted journaled run (the interval's ticks, in the slowest pass);
 * - refill: source slices read again before new work (the rings' halo), as the run reports it;
 *   whole passes run again are counted there too.
 *
 *     npx tsx bench/resume-kill.ts [--size 256] [--points 20] [--seed 22] [--steps "gaussian:sigma=1 otsu edt"]
 *
 * Not part of npm test (about two minutes at 256³ on this machine); test/faults/resume.test.ts
 * runs the same at 64–96 × 160².
 */
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? process.argv[i + 1]! : fallback
}
const size = Number(arg("size", "256"))
const points = Number(arg("points", "20"))
let seed = Number(arg("seed", "22")) >>> 0 || 1
const steps = arg("steps", "gaussian:sigma=1 otsu edt").split(" ")
const root = path.resolve(import.meta.dirname, "..")
const cli = ["--import", "tsx", path.join(root, "src/cli/main.ts")]

const random = (): number => {
  seed ^= seed << 13
  seed ^= seed >>> 17
  seed ^= seed << 5
  return (seed >>> 0) / 2 ** 32
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "slicewise-bench-resume-"))
const input = path.join(dir, "in.nrrd")
{
  const header = `NRRD0004\ntype: uint8\ndimension: 3\nsizes: ${size} ${size} ${size}\nencoding: raw\n\n`
  const voxels = Buffer.alloc(size ** 3)
  for (let i = 0; i < voxels.length; i++) voxels[i] = Math.floor(random() * 256)
  fs.writeFileSync(input, Buffer.concat([Buffer.from(header), voxels]))
}

interface Ended {
  code: number | null
  stdout: string
  stderr: string
}
const start = (args: ReadonlyArray<string>) => {
  const child = spawn(process.execPath, [...cli, ...args], { cwd: root, env: { ...process.env, SLICEWISE_SPILL_DIR: dir } })
  let stdout = ""
  let stderr = ""
  child.stdout.on("data", (d) => (stdout += d))
  child.stderr.on("data", (d) => (stderr += d))
  const done = new Promise<Ended>((resolve) => child.on("close", (code) => resolve({ code, stdout, stderr })))
  return { child, done }
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const untilExists = async (file: string, done: Promise<unknown>) => {
  let ended = false
  void done.then(() => (ended = true))
  while (!fs.existsSync(file) && !ended) await sleep(2)
}

const reference = path.join(dir, "reference.nrrd")
const planned = await start(["plan", input, reference, ...steps, "--threads", "1", "--resume", "--json"]).done
const plan = JSON.parse(planned.stdout) as { passes: Array<{ ticks: number }>; checkpoints: { interval: number } }
const ticks = plan.passes.reduce((a, p) => a + p.ticks, 0)
const t0 = Date.now()
const plain = await start(["run", input, reference, ...steps, "--threads", "1"]).done
if (plain.code !== 0) throw new Error(plain.stderr)
const plainMs = Date.now() - t0
const expected = fs.readFileSync(reference)

// An uninterrupted journaled run: its time from the lock to the exit sets the kill points.
const timed = path.join(dir, "timed.nrrd")
const t1 = Date.now()
const journaled = start(["run", input, timed, ...steps, "--threads", "1", "--resume"])
await untilExists(`${timed}.slicewise-lock`, journaled.done)
const locked = Date.now()
// The journal's replacements, polled: the longest time between two checkpoints.
let ended = false
void journaled.done.then(() => (ended = true))
const replaced: Array<number> = []
while (!ended) {
  const m = fs.existsSync(`${timed}.slicewise-journal`) ? fs.statSync(`${timed}.slicewise-journal`).mtimeMs : undefined
  if (m !== undefined && m !== replaced.at(-1)) replaced.push(m)
  await sleep(1)
}
if ((await journaled.done).code !== 0) throw new Error("journaled run failed")
const runMs = Date.now() - locked
const gapMs = Math.max(...replaced.slice(1).map((m, i) => m - replaced[i]!))
console.log(
  `${size}³ uint8, steps ${steps.join(" ")}: ${plan.passes.length} passes, ${ticks} ticks, a checkpoint every ${plan.checkpoints.interval} ticks; ` +
    `uninterrupted ${plainMs} ms, journaled ${Date.now() - t1} ms (lock to exit ${runMs} ms); checkpoints at most ${gapMs.toFixed(0)} ms apart`
)
console.log("point  kill at   resumed at (pass, slice, kept)   lost (ms)  refill  identical")

let failures = 0
let lostPastGap = 0
for (let p = 0; p < points; p++) {
  const output = path.join(dir, `out-${p}.nrrd`)
  // Not too near the end: a run that finishes before the kill tests nothing.
  const fraction = 0.05 + 0.8 * random()
  const run = start(["run", input, output, ...steps, "--threads", "1", "--resume"])
  await untilExists(`${output}.slicewise-lock`, run.done)
  await sleep(fraction * runMs)
  run.child.kill("SIGKILL")
  const killed = Date.now()
  if ((await run.done).code === 0) console.log(`${String(p + 1).padStart(5)}  finished before the kill`)
  const journal = `${output}.slicewise-journal`
  const lost = fs.existsSync(journal) ? Math.max(0, killed - fs.statSync(journal).mtimeMs) : NaN
  if (lost > gapMs) lostPastGap++
  const resumed = await start(["run", input, output, ...steps, "--threads", "1", "--resume", "--json"]).done
  if (resumed.code !== 0) throw new Error(resumed.stderr)
  const report = (JSON.parse(resumed.stdout) as { resumed?: { pass: number; slice: number; kept: number; redone: number } }).resumed
  const same = fs.readFileSync(output).equals(expected)
  if (!same) failures++
  const at = report === undefined ? "from the start" : `${report.pass + 1}, ${report.slice}, ${report.kept}`
  console.log(
    `${String(p + 1).padStart(5)}  ${(fraction * 100).toFixed(0).padStart(6)}%  ${at.padStart(30)}  ${Number.isNaN(lost) ? "        -" : lost.toFixed(0).padStart(9)}  ` +
      `${String(report?.redone ?? 0).padStart(6)}  ${same ? "yes" : "NO"}`
  )
  fs.rmSync(output, { force: true })
}
fs.rmSync(dir, { recursive: true, force: true })
if (failures > 0) {
  console.log(`${failures} of ${points} resumed outputs differ`)
  process.exitCode = 1
} else console.log(`all ${points} resumed outputs are byte-identical to the uninterrupted run's`)
console.log(`${lostPastGap} of ${points} kills lost more than the longest time between two checkpoints`)
