/**
 * An external command as a scoped resource: started in its own process group (detached), its
 * stdout and stderr appended to a log file, its memory sampled; when the scope closes — after it
 * exited, or because the job failed, timed out or was interrupted — the whole group is sent
 * SIGTERM, then SIGKILL after a grace period, so that no process it started outlives the job.
 *
 * Peak memory: the /proc sampler (./peak-rss.ts) sees the whole tree but can miss a command that
 * ends between two samples (a 70 ms transformix showed 5 MiB); so where GNU time is installed the
 * command runs under `/usr/bin/time -f %M`, whose figure (the largest waited-for process's
 * ru_maxrss) is exact for a single process, and the larger of the two is reported.
 *
 * Out of memory: where the kernel enforces a limit (a cgroup, a container) and a job's tool
 * outgrows its prediction, the kernel's OOM killer should take the tool, whose job then fails and
 * is reported, not the runner or batch that started it, whose death would take every job it runs
 * with it. So the command starts with its `oom_score_adj` raised to TOOL_OOM_SCORE_ADJ (a raise needs
 * no privilege; its processes inherit it), through a shell that sets it and execs the command.
 *
 * @example
 * ```ts
 * const exit = yield* Effect.scoped(Effect.flatMap(spawnGroup({ argv: ["sleep", "1"], logFile: "/tmp/s.log" }), (p) => p.exited))
 * exit.code   // 0
 * ```
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { spawn, type ChildProcess } from "node:child_process"
import * as fs from "node:fs"
import { treeSampler } from "./peak-rss.js"

export interface GroupSpec {
  readonly argv: ReadonlyArray<string>
  readonly logFile: string
  readonly cwd?: string
  readonly env?: Readonly<Record<string, string>>
  /** How often /proc is sampled, ms (default 50). */
  readonly sampleMs?: number
  /** Between SIGTERM and SIGKILL, ms (default 2000). */
  readonly graceMs?: number
}

export interface GroupExit {
  /** The exit code, or null when a signal ended it. */
  readonly code: number | null
  readonly signal: string | null
  readonly peakRssBytes: number
  readonly cpuMs: number
  readonly wallMs: number
}

export interface RunningGroup {
  /** The process id of the command, which is also its process group id. */
  readonly pid: number
  /** Waits for the command itself to exit. */
  readonly exited: Effect.Effect<GroupExit>
}

/** The command could not be started at all (no such program, not executable). */
export class SpawnError extends Error {
  constructor(readonly argv0: string, readonly reason: string) {
    super(`cannot start ${argv0}: ${reason}`)
  }
}

const GNU_TIME = "/usr/bin/time"

/** An external command's oom_score_adj (-1000…1000; the runner's is usually 0): the OOM killer's first choice. */
export const TOOL_OOM_SCORE_ADJ = 500

/** `argv` started by a shell that first raises its oom_score_adj (where /proc has it), then execs it. */
const withOomScoreAdj = (argv: ReadonlyArray<string>): ReadonlyArray<string> =>
  fs.existsSync("/proc/self/oom_score_adj")
    ? ["/bin/sh", "-c", `{ echo ${TOOL_OOM_SCORE_ADJ} >/proc/self/oom_score_adj; } 2>/dev/null; exec "$@"`, "sh", ...argv]
    : argv

/** GNU time's %M (KiB) from its -o file: the last line that is a number; 0 if none. */
const gnuTimePeak = (file: string): number => {
  try {
    const numbers = fs.readFileSync(file, "utf8").split("\n").filter((l) => /^\d+$/.test(l.trim()))
    return numbers.length === 0 ? 0 : Number(numbers[numbers.length - 1]) * 1024
  } catch {
    return 0
  }
}

const alive = (pgid: number): boolean => {
  try {
    process.kill(-pgid, 0)
    return true
  } catch {
    return false
  }
}

const signalGroup = (pgid: number, signal: NodeJS.Signals) => {
  try {
    process.kill(-pgid, signal)
  } catch {
    // ESRCH: nothing left in the group.
  }
}

/** SIGTERM to the group, then SIGKILL to what is left after `graceMs`. */
const killGroup = (pgid: number, graceMs: number): Effect.Effect<void> =>
  Effect.gen(function* () {
    if (!alive(pgid)) return
    signalGroup(pgid, "SIGTERM")
    const deadline = Date.now() + graceMs
    while (alive(pgid) && Date.now() < deadline) yield* Effect.sleep("20 millis")
    signalGroup(pgid, "SIGKILL")
    while (alive(pgid)) yield* Effect.sleep("10 millis")
  })

/** Starts the command in its own process group; the scope's close kills the group. */
export const spawnGroup = (spec: GroupSpec): Effect.Effect<RunningGroup, SpawnError, Scope.Scope> =>
  Effect.gen(function* () {
    const log = yield* Effect.acquireRelease(
      Effect.sync(() => fs.openSync(spec.logFile, "a")),
      (fd) => Effect.sync(() => fs.closeSync(fd))
    )
    const started = performance.now()
    const timeFile = fs.existsSync(GNU_TIME) ? `${spec.logFile}.rss-${process.pid}-${Math.random().toString(36).slice(2)}` : undefined
    if (timeFile !== undefined) yield* Effect.addFinalizer(() => Effect.sync(() => fs.rmSync(timeFile, { force: true })))
    const argv = withOomScoreAdj(timeFile === undefined ? spec.argv : [GNU_TIME, "-f", "%M", "-o", timeFile, ...spec.argv])
    const child = yield* Effect.acquireRelease(
      Effect.async<ChildProcess, SpawnError>((resume) => {
        const c = spawn(argv[0]!, argv.slice(1), {
          detached: true,
          stdio: ["ignore", log, log],
          ...(spec.cwd === undefined ? {} : { cwd: spec.cwd }),
          env: { ...process.env, ...spec.env }
        })
        c.once("error", (e) => resume(Effect.fail(new SpawnError(spec.argv[0]!, e.message))))
        c.once("spawn", () => resume(Effect.succeed(c)))
      }),
      (c) => killGroup(c.pid!, spec.graceMs ?? 2000)
    )
    const pid = child.pid!
    const sampler = treeSampler(pid)
    sampler.sample()
    const timer = yield* Effect.acquireRelease(
      Effect.sync(() => setInterval(() => sampler.sample(), spec.sampleMs ?? 50)),
      (t) => Effect.sync(() => clearInterval(t))
    )
    const exited = Effect.async<GroupExit>((resume) => {
      const done = (code: number | null, signal: string | null) => {
        clearInterval(timer)
        const peakRssBytes = Math.max(sampler.peakRssBytes, timeFile === undefined ? 0 : gnuTimePeak(timeFile))
        resume(Effect.succeed({ code, signal, peakRssBytes, cpuMs: sampler.cpuMs, wallMs: performance.now() - started }))
      }
      if (child.exitCode !== null || child.signalCode !== null) return done(child.exitCode, child.signalCode)
      child.once("exit", done)
    })
    return { pid, exited }
  })
