/**
 * Runs one job on this runner and says what became of it: a slicewise job through the planner and
 * `Run.run` in this process, an external one (exec, register, warp) through the jobs layer's
 * external runner, in its own process group. Never fails: a failure is a report with its error, so
 * that a pipeline goes on with the jobs that do not depend on it.
 *
 * @example
 * ```ts
 * const report = yield* executeJob({ name: "a", definition: job, predictedBytes }, "runner-1")
 * report.state   // "done" | "failed"
 * ```
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as fs from "node:fs"
import * as nodePath from "node:path"
import { Plan, Run } from "../interpreters/index.js"
import { releaseAbandonedLock } from "../io/index.js"
import { isExternal, Job, jobIo, jobSetUp, JOB_OVERHEAD_BYTES } from "../jobs/index.js"
import { residentBytes } from "../profile/sampler.js"
import { kindOf, type JobReport, type QueuedJob } from "./protocol.js"

const message = (e: unknown): string => (e instanceof Error ? e.message : typeof e === "object" && e !== null && "message" in e ? String(e.message) : String(e))

/** Decodes a queued job's definition: a pipeline-file job, checked again on the runner. */
export const decodeDefinition = (definition: unknown): Effect.Effect<Job, Error> =>
  Effect.mapError(Schema.decodeUnknown(Job)(definition), (e) => new Error(`not a job: ${e.message}`))

/** A queued job's definition, decoded and set up (metadata only). */
const setUpJob = (definition: unknown, name: string) =>
  Effect.gen(function* () {
    const job = yield* decodeDefinition(definition)
    const setUp = yield* Effect.mapError(jobSetUp(job, name), (e) => new Error(message(e)))
    return { job, setUp }
  })

/**
 * What a job will need at its peak, bytes, without reading a voxel: an external job's model, or a
 * slicewise job's planned buffers plus the per-job overhead the batch counts.
 */
export const predictJob = (definition: unknown, name: string): Effect.Effect<number, Error> =>
  Effect.gen(function* () {
    const { setUp } = yield* setUpJob(definition, name)
    if (isExternal(setUp)) return setUp.predictedBytes
    const plan = yield* Effect.mapError(Plan.make(setUp.program), (e) => new Error(message(e)))
    return plan.peakBufferBytes + JOB_OVERHEAD_BYTES
  })

/**
 * Samples this process's RSS every 100 ms while `effect` runs: the peak it reached. A moment when
 * the RSS cannot be read (EMFILE: every file descriptor in use) is skipped; thrown in the timer, it
 * would end the runner.
 *
 * @example
 * ```ts
 * const [result, peakRssBytes] = yield* withPeakRss(Run.run(program))
 * ```
 */
export const withPeakRss = <A, E>(effect: Effect.Effect<A, E>): Effect.Effect<readonly [A, number], E> =>
  Effect.suspend(() => {
    let peak = residentBytes() ?? 0
    const timer = setInterval(() => (peak = Math.max(peak, residentBytes() ?? 0)), 100)
    return effect.pipe(
      Effect.map((a) => [a, Math.max(peak, residentBytes() ?? 0)] as const),
      Effect.ensuring(Effect.sync(() => clearInterval(timer)))
    )
  })

/** Bytes on disk under `path` (a file, or a directory's files), 0 if it is not there. */
const diskBytes = (path: string): number => {
  const stat = fs.statSync(path, { throwIfNoEntry: false })
  if (stat === undefined) return 0
  if (!stat.isDirectory()) return stat.size
  return fs.readdirSync(path).reduce((n, name) => n + diskBytes(nodePath.join(path, name)), 0)
}

/**
 * An external command's I/O, as the sizes of its declared inputs and outputs: its processes'
 * own counters die with them, and these tools read each input and write each output once.
 */
const declaredBytes = (job: Job) => {
  const io = jobIo(job, 0)
  const sum = (paths: ReadonlyArray<{ readonly path: string }>) => paths.reduce((n, p) => n + diskBytes(p.path), 0)
  return { bytesRead: sum(io.inputs), bytesWritten: sum(io.outputs) }
}

/** Runs `queued` here (runner `runner`) and reports it; `attempt` is how many times it was taken before. */
export const executeJob = (queued: QueuedJob, runner: string, attempt = 0): Effect.Effect<JobReport> =>
  Effect.gen(function* () {
    const started = performance.now()
    const cpu0 = process.cpuUsage()
    const base = { name: queued.name, runner, attempts: attempt + 1, predictedBytes: queued.predictedBytes, startedAt: Date.now() }
    const { job, setUp } = yield* setUpJob(queued.definition, queued.name)
    // Taken again: the runner that ran it stopped renewing its lease, so its output locks are
    // abandoned — those of another host too, which this one cannot check.
    if (attempt > 0) for (const output of jobIo(job, 0).outputs) releaseAbandonedLock(output.path)
    if (isExternal(setUp)) {
      const r = yield* setUp.run
      return {
        ...base,
        kind: job.kind,
        state: "done",
        attempts: attempt + r.attempts,
        measuredBytes: r.peakRssBytes,
        cpuMs: r.cpuMs,
        wallMs: performance.now() - started,
        ...declaredBytes(job),
        finishedAt: Date.now()
      } as const
    }
    const [result, peak] = yield* withPeakRss(
      Run.run(setUp.program, { ...(setUp.mode === undefined ? {} : { mode: setUp.mode }), ...(setUp.resume === undefined ? {} : { resume: setUp.resume }) })
    )
    const cpu = process.cpuUsage(cpu0)
    return {
      ...base,
      kind: job.kind,
      state: "done",
      measuredBytes: peak,
      cpuMs: (cpu.user + cpu.system) / 1000,
      wallMs: performance.now() - started,
      bytesRead: result.bytesRead,
      bytesWritten: result.bytesWritten,
      finishedAt: Date.now()
    } as const
  }).pipe(
    // A failure or a defect is the job's; an interruption is the runner's (it is stopping): that
    // one propagates, so that the job stays in its queue and another runner takes it.
    Effect.catchAll((e) => Effect.succeed(failedReport(queued, runner, attempt, e))),
    Effect.catchAllDefect((d) => Effect.succeed(failedReport(queued, runner, attempt, d)))
  )

const failedReport = (queued: QueuedJob, runner: string, attempt: number, error: unknown): JobReport => ({
  name: queued.name,
  kind: kindOf(queued.definition),
  state: "failed",
  runner,
  attempts: attempt + 1,
  predictedBytes: queued.predictedBytes,
  error: message(error)
})
