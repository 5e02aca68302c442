/**
 * Helpers for the fault tests: the CLI as a real process run from source (asynchronously, so that
 * a test can signal it or run two at once), test volumes, and what a run left in a directory.
 *
 * @example
 * ```ts
 * const input = rawNrrd(path.join(dir, "in.nrrd"), [128, 256, 256], 7)
 * const child = startCli("run", input, path.join(dir, "out.tif"), "copy")
 * const { code, stderr } = await child.done
 * ```
 */
import { spawn, type ChildProcess } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { xorshift32 } from "../support/voxels.js"

export const root = path.resolve(__dirname, "../..")
const cliArgs = ["--import", "tsx", path.join(root, "src/cli/main.ts")]

/** How a CLI process ended; `status` is what a shell's `$?` shows (128 + n when a signal killed it). */
export interface Ended {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly status: number
  readonly stdout: string
  readonly stderr: string
}

export interface Started {
  readonly child: ChildProcess
  readonly done: Promise<Ended>
  /** Resolves once stderr or stdout has received `text` (or the process ended). */
  readonly saw: (text: string) => Promise<boolean>
}

/** Starts `slicewise …args`; `env` is added to this process's environment. */
export const startCli = (args: ReadonlyArray<string>, env: Record<string, string> = {}): Started => {
  const child = spawn(process.execPath, [...cliArgs, ...args], { cwd: root, env: { ...process.env, SLICEWISE_DEBUG: "", ...env } })
  let stdout = ""
  let stderr = ""
  const waiters: Array<() => void> = []
  const poke = () => waiters.splice(0).forEach((w) => w())
  child.stdout!.on("data", (d) => ((stdout += d), poke()))
  child.stderr!.on("data", (d) => ((stderr += d), poke()))
  const done = new Promise<Ended>((resolve) =>
    child.on("close", (code, signal) => {
      poke()
      resolve({ code, signal, status: code ?? 128 + os.constants.signals[signal!], stdout, stderr })
    })
  )
  let ended = false
  void done.then(() => (ended = true))
  const saw = async (text: string): Promise<boolean> => {
    while (!stdout.includes(text) && !stderr.includes(text) && !ended) await new Promise<void>((r) => waiters.push(r))
    return stdout.includes(text) || stderr.includes(text)
  }
  return { child, done, saw }
}

/** Runs `slicewise …args` to its end. */
export const runCli = (args: ReadonlyArray<string>, env: Record<string, string> = {}): Promise<Ended> => startCli(args, env).done

/** Writes a raw uint8 NRRD of `shape` (z, y, x) filled from a seeded generator; returns its path. */
export const rawNrrd = (file: string, shape: readonly [number, number, number], seed: number): string => {
  const [z, y, x] = shape
  const header = `NRRD0004\ntype: uint8\ndimension: 3\nsizes: ${x} ${y} ${z}\nencoding: raw\n\n`
  const voxels = Buffer.alloc(x * y * z)
  const next = xorshift32(seed)
  for (let i = 0; i < voxels.length; i += 4) voxels.writeUInt32LE(next(), i)
  fs.writeFileSync(file, Buffer.concat([Buffer.from(header), voxels]))
  return file
}

/**
 * Names in `dir` that a run leaves only while it runs (or, journals and what they name, when an
 * interrupted --resume run can be continued): temporaries, locks, spills, journals.
 */
export const leftovers = (dir: string): Array<string> =>
  fs.readdirSync(dir).filter((n) => /\.partial-|\.slicewise-lock|slicewise-spill|\.slicewise-journal/.test(n))

/** Waits until a run holds `output`'s lock (it is about to write), or has ended. */
export const untilLocked = async (output: string, done: Promise<unknown>): Promise<void> => {
  let ended = false
  void done.then(() => (ended = true))
  const deadline = Date.now() + 60_000
  while (!fs.existsSync(`${output}.slicewise-lock`) && !ended && Date.now() < deadline) await sleep(5)
}

/** A fresh directory under the system's temporary directory. */
export const tempDir = (prefix: string): string => fs.mkdtempSync(path.join(os.tmpdir(), `slicewise-${prefix}-`))

/** Resolves after `ms` milliseconds. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** A pipeline the fault tests interrupt: its input, steps, what a complete run writes, and how long one takes here. */
export interface PipelineCase {
  readonly name: string
  readonly input: string
  readonly steps: ReadonlyArray<string>
  /** What an uninterrupted run writes. */
  result: Buffer
  /** From the output's lock appearing to the run's exit: the span kill points are drawn from. */
  ms: number
}

/** Runs `slicewise …args`, which writes `output`, to a successful end; the ms from its lock appearing to its exit. */
export const timedFromLock = async (args: ReadonlyArray<string>, output: string, env: Record<string, string> = {}): Promise<number> => {
  const run = startCli(args, env)
  await untilLocked(output, run.done)
  const t0 = performance.now()
  const ended = await run.done
  if (ended.code !== 0) throw new Error(`slicewise ${args.join(" ")}: ${ended.stderr}`)
  return performance.now() - t0
}
