/**
 * Issue 22's acceptance run for `slicewise run --resume`: kill -9 at `--points` seeded random
 * points of a pipeline at `--size`³ (uint8), then --resume; every resumed output must be byte for
 * byte the uninterrupted run's. For each point it prints the work redone, measured:
 *
 * - written: output slices the killed run had written (its temporary compared with the reference,
 *   slice by slice, from the pass's first step);
 * - kept: slices the resumed run verified by the journal's checksums and kept;
 * - lost = written − kept: written after the last checkpoint (at most the checkpoint interval);
 * - refill: slices read again before the first new one (the rings' halo), as the run reports it;
 *   whole passes re-run (for a reduction's scalar, or a sweep's state) are counted there too.
 *
 *     npx tsx bench/resume-kill.ts [--size 256] [--points 20] [--seed 22] [--steps "gaussian:sigma=1 median:radius=1"]
 *
 * Not part of npm test (about a minute at 256³ on this machine); test/faults/resume.test.ts runs
 * the same at 96–192 × 160–192².
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
const steps = arg("steps", "gaussian:sigma=1 median:radius=1").split(" ")
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
const t0 = Date.now()
const plain = await start(["run", input, reference, ...steps, "--threads", "1"]).done
if (plain.code !== 0) throw new Error(plain.stderr)
const plainMs = Date.now() - t0
const expected = fs.readFileSync(reference)
const sliceSize = size * size
const dataStart = expected.length - size * sliceSize

// An uninterrupted journaled run: its time from the lock to the exit sets the kill points.
const timed = path.join(dir, "timed.nrrd")
const t1 = Date.now()
const journaled = start(["run", input, timed, ...steps, "--threads", "1", "--resume"])
await untilExists(`${timed}.slicewise-lock`, journaled.done)
const locked = Date.now()
if ((await journaled.done).code !== 0) throw new Error("journaled run failed")
const runMs = Date.now() - locked
console.log(`${size}³ uint8, steps ${steps.join(" ")}: uninterrupted ${plainMs} ms, journaled ${Date.now() - t1} ms (lock to exit ${runMs} ms)`)
console.log("point  kill at   written  kept  lost  refill  identical")

/** Output slices in the temporary equal to the reference's, from z = 0 (a forward final pass). */
const writtenSlices = (temporary: string): number => {
  const bytes = fs.readFileSync(temporary)
  let z = 0
  while (z < size && bytes.subarray(dataStart + z * sliceSize, dataStart + (z + 1) * sliceSize).equals(expected.subarray(dataStart + z * sliceSize, dataStart + (z + 1) * sliceSize))) z++
  return z
}

let failures = 0
for (let p = 0; p < points; p++) {
  const output = path.join(dir, `out-${p}.nrrd`)
  const fraction = 0.05 + 0.9 * random()
  const run = start(["run", input, output, ...steps, "--threads", "1", "--resume"])
  await untilExists(`${output}.slicewise-lock`, run.done)
  await sleep(fraction * runMs)
  run.child.kill("SIGKILL")
  await run.done
  const temporary = fs.readdirSync(dir).find((n) => n.startsWith(`out-${p}.nrrd.partial-`))
  const written = temporary === undefined ? 0 : writtenSlices(path.join(dir, temporary))
  const resumed = await start(["run", input, output, ...steps, "--threads", "1", "--resume", "--json"]).done
  if (resumed.code !== 0) throw new Error(resumed.stderr)
  const report = (JSON.parse(resumed.stdout) as { resumed?: { pass: number; slice: number; verified: number; redone: number } }).resumed
  const same = fs.readFileSync(output).equals(expected)
  if (!same) failures++
  const kept = report?.slice ?? 0
  console.log(
    `${String(p + 1).padStart(5)}  ${(fraction * 100).toFixed(0).padStart(6)}%  ${String(written).padStart(8)}  ${String(kept).padStart(4)}  ` +
      `${String(Math.max(0, written - kept)).padStart(4)}  ${String(report?.redone ?? 0).padStart(6)}  ${same ? "yes" : "NO"}`
  )
  fs.rmSync(output, { force: true })
}
fs.rmSync(dir, { recursive: true, force: true })
if (failures > 0) {
  console.log(`${failures} of ${points} resumed outputs differ`)
  process.exitCode = 1
} else console.log(`all ${points} resumed outputs are byte-identical to the uninterrupted run's`)
