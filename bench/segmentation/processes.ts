/**
 * The slicewise processes of the segmentation bench, run from the sources under tsx
 * (`node --import tsx src/cli/main.ts …`, so that the runners are the code in this checkout, not a
 * stale build): one-shot commands (`segment`, `submit`, `report`) and `slicewise runner` processes,
 * each in its own process group with its stderr kept in a log file and in memory, optionally put
 * into a memory cgroup right after spawn (before it can take a job: it reaps orphans, measures its
 * RSS and connects first).
 *
 *   const r = await startRunner({ name: "r1", url, memory: "2GiB", logFile: "/tmp/r1.log" })
 *   await r.ready                // its "runner on …" line
 *   await stopRunner(r)          // SIGTERM to its group, SIGKILL after 10 s
 *
 * Used by bench/segmentation/run.ts.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { freePort } from "../../test/support/postgres.js"
import type { MemoryCgroup } from "./cgroup.js"

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..")
const CLI = ["--import", "tsx", path.join(ROOT, "src/cli/main.ts")]

export interface CliResult {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Runs `slicewise ARGS…` to its end (cwd: the repository, where tsx resolves). */
export const cli = (args: ReadonlyArray<string>, timeoutMs = 60 * 60_000): Promise<CliResult> =>
  new Promise((resolve) =>
    execFile(process.execPath, [...CLI, ...args], { cwd: ROOT, encoding: "utf8", timeout: timeoutMs, maxBuffer: 64 * 2 ** 20 }, (error, stdout, stderr) =>
      resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : null, stdout, stderr })
    )
  )

/** One line of a runner's stderr: when, and what it said (after its name). */
export interface LogLine {
  readonly at: number
  readonly text: string
}

export interface Runner {
  readonly name: string
  readonly child: ChildProcess
  readonly log: Array<LogLine>
  /** Resolves with the runner's job budget (bytes) once it says it is ready; rejects if it exits first. */
  readonly ready: Promise<number>
  /** Resolves when the process has exited: its code or signal, and when (ms since the epoch). */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>
}

export interface RunnerSpec {
  readonly name: string
  readonly url: string
  /** `--memory`: what the runner believes it has. */
  readonly memory: string
  readonly logFile: string
  readonly cgroup?: MemoryCgroup
  readonly lockSeconds?: number
  /**
   * TMPDIR of the runner: where it records its commands' process groups (os.tmpdir()/slicewise-groups)
   * and where a runner started later looks for orphans to reap. The bench's own, so that runners of
   * other processes on this machine (tests) neither reap its orphans nor are counted in its reaping.
   */
  readonly tmpdir?: string
}

/** Starts `slicewise runner` in its own process group (so that it and its tsx loader go together). */
export const startRunner = async (spec: RunnerSpec): Promise<Runner> => {
  const port = await freePort()
  const args = ["runner", "--cluster", spec.url, "--memory", spec.memory, "--listen", `127.0.0.1:${port}`, "--name", spec.name]
  if (spec.lockSeconds !== undefined) args.push("--lock-seconds", String(spec.lockSeconds))
  const child = spawn(process.execPath, [...CLI, ...args], {
    cwd: ROOT,
    stdio: ["ignore", "ignore", "pipe"],
    detached: true,
    env: spec.tmpdir === undefined ? process.env : { ...process.env, TMPDIR: spec.tmpdir }
  })
  // Into its cgroup at once: it reaps orphans, measures itself and connects before it takes a job.
  spec.cgroup?.add(child.pid!)
  const out = fs.createWriteStream(spec.logFile)
  const log: Array<LogLine> = []
  let pending = ""
  child.stderr!.setEncoding("utf8").on("data", (s: string) => {
    out.write(s)
    const lines = (pending + s).split("\n")
    pending = lines.pop()!
    for (const l of lines) {
      // "2026-12-08T10:00:00.000Z r1 start reg-… (predicted …)": the time, then after the name.
      const m = /^(\S+Z) (\S+) (.*)$/.exec(l)
      log.push(m === null ? { at: Date.now(), text: l } : { at: Date.parse(m[1]!), text: m[3]! })
    }
  })
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    child.once("exit", (code, signal) => {
      out.end()
      resolve({ code, signal, at: Date.now() })
    })
  )
  const ready = new Promise<number>((resolve, reject) => {
    const timer = setInterval(() => {
      const line = log.find((l) => l.text.startsWith("runner on"))
      if (line !== undefined) {
        clearInterval(timer)
        resolve(Number(/\((\d+) bytes/.exec(line.text)?.[1]))
      }
    }, 100)
    void exited.then((e) => {
      clearInterval(timer)
      reject(new Error(`runner ${spec.name} exited (${e.signal ?? e.code}) before it was ready; log ${spec.logFile}`))
    })
  })
  ready.catch(() => undefined)
  return { name: spec.name, child, log, ready, exited }
}

const alive = (r: Runner) => r.child.exitCode === null && r.child.signalCode === null

/** SIGKILL to the runner's process group: a crash (its external commands run on, in their own groups). */
export const killRunner = async (r: Runner): Promise<void> => {
  if (!alive(r)) return
  process.kill(-r.child.pid!, "SIGKILL")
  await r.exited
}

/** A clean stop: SIGTERM to the group (the runner ends its jobs' groups), SIGKILL after 10 s. */
export const stopRunner = async (r: Runner): Promise<void> => {
  if (!alive(r)) return
  try {
    process.kill(-r.child.pid!, "SIGTERM")
  } catch {
    return
  }
  const timer = setTimeout(() => alive(r) && process.kill(-r.child.pid!, "SIGKILL"), 10_000)
  await r.exited
  clearTimeout(timer)
}

/** Waits until `what()` holds, polling every 50 ms; throws after `ms`. */
export const waitFor = async (what: () => boolean, ms: number, label: string): Promise<void> => {
  const end = Date.now() + ms
  while (!what()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms / 1000} s waiting for ${label}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}
