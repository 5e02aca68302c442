/**
 * The one place that runs external tools (exec jobs, elastix, transformix). Outputs are atomic:
 * the command writes temporary paths beside the declared outputs (its argv's `{output0}`,
 * `{output1}`, … become `DIR/.slicewise-RANDOM.NAME`, keeping the name's suffix so that tools that
 * pick a format by extension still do); only when it exits 0 and wrote every one are they renamed
 * to the declared names. A failed, timed-out or interrupted command leaves no declared output (a
 * stale one from an earlier run is removed before the first attempt) and no temporary file, and
 * its process group is killed (./process-group.ts). `{input0}`… and `{threads}` are substituted
 * too; `{work}` is a scratch directory of the attempt, removed afterwards.
 *
 * stdout and stderr go to a log file (appended, one header line per attempt); a failure's message
 * ends with the last lines of its attempt. A failed attempt is retried up to `retries` times.
 *
 * @example
 * ```ts
 * const r = yield* runExternal({
 *   job: "copy", argv: ["cp", "{input0}", "{output0}"], inputs: ["/d/a.nii.gz"],
 *   outputs: [{ path: "/d/b.nii.gz" }], logFile: "/d/b.nii.gz.log", retries: 1
 * })
 * r.attempts, r.peakRssBytes
 * ```
 */
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as nodePath from "node:path"
import * as crypto from "node:crypto"
import type { ExternalResult } from "../external.js"
import { spawnGroup, SpawnError } from "./process-group.js"
import { recordGroup } from "./orphans.js"

/** A declared output: a file, or a directory the command writes into (created empty for it). */
export interface DeclaredOutput {
  readonly path: string
  readonly directory?: boolean
}

/** What the hooks of a specialised runner see of an attempt. */
export interface Attempt {
  /** The attempt's scratch directory (`{work}`). */
  readonly work: string
  /** The temporary path of each declared output. */
  readonly temps: ReadonlyArray<string>
  /** The declared outputs' final paths. */
  readonly finals: ReadonlyArray<string>
}

export interface ExternalCommand {
  /** The job's name, for messages. */
  readonly job: string
  /** The command and its arguments, with placeholders. */
  readonly argv: ReadonlyArray<string>
  readonly inputs: ReadonlyArray<string>
  readonly outputs: ReadonlyArray<DeclaredOutput>
  readonly logFile: string
  readonly cwd?: string
  readonly threads?: number
  /** Failed attempts retried (default 0). */
  readonly retries?: number
  /** Per attempt; the group is killed when it runs out. */
  readonly timeoutMs?: number
  /** Before the command starts (e.g. write a parameter file into `work`). */
  readonly prepare?: (a: Attempt) => Effect.Effect<void, Error>
  /** After it exited 0, before the outputs are checked and renamed (e.g. move a result into a temp). */
  readonly collect?: (a: Attempt) => Effect.Effect<void, Error>
}

/** An external command that did not produce its outputs: what, where to look, its last words. */
export class ExecError extends Data.TaggedError("ExecError")<{
  readonly job: string
  readonly detail: string
  readonly attempts: number
  readonly logFile: string
  /** The last lines of the log of the last attempt. */
  readonly tail: ReadonlyArray<string>
}> {
  override get message(): string {
    const tail = this.tail.length === 0 ? "" : `; last lines: ${this.tail.join(" | ")}`
    return `${this.detail} (attempt ${this.attempts}; log ${this.logFile})${tail}`
  }
}

const TAIL_LINES = 8

/** The last lines written to the log since `offset`. */
const tailOf = (logFile: string, offset: number): ReadonlyArray<string> => {
  try {
    const text = fs.readFileSync(logFile).subarray(offset).toString("utf8")
    return text
      .split("\n")
      .map((l) => l.trimEnd())
      .filter((l) => l !== "")
      .slice(-TAIL_LINES)
  } catch {
    return []
  }
}

const removeIfThere = (p: string) => fs.rmSync(p, { recursive: true, force: true })

/** `DIR/.slicewise-RANDOM.NAME`: beside the final path (same file system: rename is atomic), same suffix. */
const tempBeside = (final: string, tag: string): string => nodePath.join(nodePath.dirname(final), `.slicewise-${tag}.${nodePath.basename(final)}`)

/** Substitutes `{input0}`, `{output0}`, `{threads}` and `{work}` in one argument. */
export const substitute = (arg: string, values: Readonly<Record<string, string>>): string =>
  arg.replace(/\{(input\d+|output\d+|threads|work)\}/g, (m, key: string) => values[key] ?? m)

/** Renames the temporaries to the declared names (a directory output replaces the old one). */
const commit = (a: Attempt, outputs: ReadonlyArray<DeclaredOutput>) =>
  Effect.sync(() => {
    a.temps.forEach((t, i) => {
      const final = a.finals[i]!
      if (outputs[i]!.directory === true) removeIfThere(final)
      fs.renameSync(t, final)
    })
  })

/** One attempt, in its own scope: temporaries and the process group are gone when it closes. */
const attempt = (c: ExternalCommand, n: number): Effect.Effect<Omit<ExternalResult, "attempts">, ExecError> =>
  Effect.scoped(
    Effect.gen(function* () {
      const tag = `${process.pid}-${crypto.randomBytes(4).toString("hex")}`
      const finals = c.outputs.map((o) => o.path)
      const temps = finals.map((f) => tempBeside(f, tag))
      const work = tempBeside(finals[0] ?? nodePath.join(c.cwd ?? process.cwd(), "work"), `${tag}-work`)
      const a: Attempt = { work, temps, finals }
      yield* Effect.acquireRelease(
        Effect.sync(() => {
          fs.mkdirSync(work, { recursive: true })
          c.outputs.forEach((o, i) => o.directory === true && fs.mkdirSync(temps[i]!, { recursive: true }))
        }),
        () => Effect.sync(() => [work, ...temps].forEach(removeIfThere))
      )
      const values: Record<string, string> = { work, threads: String(c.threads ?? 1) }
      c.inputs.forEach((p, i) => (values[`input${i}`] = p))
      temps.forEach((p, i) => (values[`output${i}`] = p))
      const argv = c.argv.map((arg) => substitute(arg, values))
      const offset = yield* Effect.sync(() => {
        fs.appendFileSync(c.logFile, `== slicewise: ${c.job}, attempt ${n}, ${new Date().toISOString()}: ${argv.join(" ")}\n`)
        return fs.statSync(c.logFile).size
      })
      const fail = (detail: string) => new ExecError({ job: c.job, detail, attempts: n, logFile: c.logFile, tail: tailOf(c.logFile, offset) })
      const asExec = (e: Error) => fail(e.message)
      if (c.prepare !== undefined) yield* Effect.mapError(c.prepare(a), asExec)
      const env: Record<string, string> =
        c.threads === undefined ? {} : { OMP_NUM_THREADS: String(c.threads), ITK_GLOBAL_DEFAULT_NUMBER_OF_THREADS: String(c.threads) }
      const group = yield* Effect.mapError(spawnGroup({ argv, logFile: c.logFile, env, ...(c.cwd === undefined ? {} : { cwd: c.cwd }) }), (e: SpawnError) =>
        fail(e.message)
      )
      // Recorded while it runs, so that if this process dies the next runner here reaps it (orphans.ts).
      yield* Effect.acquireRelease(Effect.sync(() => recordGroup(group.pid, [work, ...temps])), (forget) => Effect.sync(forget))
      const exit = yield* c.timeoutMs === undefined
        ? group.exited
        : Effect.timeoutFail(group.exited, { duration: c.timeoutMs, onTimeout: () => fail(`${argv[0]} ran out of its ${c.timeoutMs! / 1000} s and was killed`) })
      if (exit.code !== 0) {
        // Under GNU time a signal shows as 128 + its number (137: SIGKILL, e.g. the kernel's OOM killer).
        const code = exit.code === null ? "" : `${argv[0]} exited with code ${exit.code}${exit.code > 128 ? ` (signal ${exit.code - 128})` : ""}`
        return yield* fail(exit.signal !== null ? `${argv[0]} was killed by ${exit.signal}` : code)
      }
      if (c.collect !== undefined) yield* Effect.mapError(c.collect(a), asExec)
      const missing = finals.filter((_, i) => !fs.existsSync(temps[i]!))
      if (missing.length > 0) return yield* fail(`${argv[0]} exited 0 but did not write ${missing.join(", ")} (as {output${finals.indexOf(missing[0]!)}})`)
      yield* commit(a, c.outputs)
      return { peakRssBytes: exit.peakRssBytes, cpuMs: exit.cpuMs, logFile: c.logFile }
    })
  )

/** Runs the command, retrying failed attempts; its declared outputs exist afterwards only if it succeeded. */
export const runExternal = (c: ExternalCommand): Effect.Effect<ExternalResult, ExecError> =>
  Effect.gen(function* () {
    // A declared output from an earlier run would read as this run's if this one failed.
    yield* Effect.sync(() => {
      for (const o of c.outputs) removeIfThere(o.path)
      // Outputs' directories are made, as a pipeline's later jobs expect its layout to exist.
      for (const p of [c.logFile, ...c.outputs.map((o) => o.path)]) fs.mkdirSync(nodePath.dirname(p), { recursive: true })
    })
    const retries = c.retries ?? 0
    for (let n = 1; ; n++) {
      const r = yield* Effect.either(attempt(c, n))
      if (r._tag === "Right") return { ...r.right, attempts: n }
      if (n > retries) return yield* r.left
    }
  })
