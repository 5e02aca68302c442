/**
 * Batches of jobs under one memory budget. Every job is set up (inputs opened, steps parsed) and
 * planned before any starts; its predicted peak is its plan's buffer bytes plus a per-job overhead
 * (src/jobs/memory.ts). The jobs share the budget less the process's baseline RSS and a headroom. A job
 * that needs more than that share is planned within it (bands, spills); one that cannot fit even
 * then is refused up front with what it needs. The rest run as fibers, admitted by ./scheduler.ts.
 *
 * @example
 * ```ts
 * const result = yield* runBatch(
 *   [{ name: "a", kind: "run", setUp: Effect.succeed({ program }) }],
 *   { memoryBytes: 512 * 2 ** 20, concurrency: 2 }
 * )
 * for (const job of result.jobs) console.log(job.name, job.status, job.wallMs)
 * ```
 */
import * as Effect from "effect/Effect"
import * as os from "node:os"
import * as Plan from "../interpreters/plan/index.js"
import * as Run from "../interpreters/run/index.js"
import { computeCpuMs } from "../profile/cpu.js"
import type { JobFigures, SchedulerEvent } from "../profile/schema.js"
import { formatBytes, sizeAtLeast } from "../util/units.js"
import { collectGarbage } from "../util/gc.js"
import { HEADROOM_BYTES, JOB_OVERHEAD_BYTES, jobBudget, settledRss } from "../jobs/memory.js"
import type { JobSetUp } from "../jobs/run-job.js"
import { isExternal, type ExternalResult, type ExternalSetUp } from "../jobs/external.js"
import { schedule, type JobOutcome, type ReadyJob, type SchedulerJob } from "./scheduler.js"

export { DEFAULT_MAX_OVERTAKES, schedule, type JobOutcome, type ReadyJob, type SchedulerEvent, type SchedulerJob } from "./scheduler.js"

/**
 * A job before it is set up: `setUp` builds its program without reading any voxel (or, for an
 * external command, says what it predicts and how to run it). A job with `after` is set up only
 * once the jobs it names have finished (its inputs may be their outputs); if one of them does not
 * finish, it is "not-run".
 */
export interface BatchJob {
  readonly name: string
  /** "run", "fuse", "exec", "register", "warp": for the summary. */
  readonly kind: string
  /** Names of the jobs it comes after. */
  readonly after?: ReadonlyArray<string>
  readonly setUp: Effect.Effect<JobSetUp | ExternalSetUp, unknown>
}

export interface BatchOptions {
  /** The budget for the whole process (RSS), bytes. */
  readonly memoryBytes: number
  /** Most jobs at once (default: the number of CPUs). */
  readonly concurrency?: number
  /** The process's RSS before the jobs (default: measured after the jobs are set up). */
  readonly baselineBytes?: number
  readonly headroomBytes?: number
  readonly overheadBytesPerJob?: number
  readonly maxOvertakes?: number
  /** The time origin of the events, a performance.now() value (default: when the first job is admitted). */
  readonly originMs?: number
  readonly onEvent?: (e: SchedulerEvent) => void
  /** Called once the budget is shared out, before the first job starts. */
  readonly onShare?: (share: { readonly baselineRssBytes: number; readonly jobBudgetBytes: number; readonly concurrency: number }) => void
  readonly onLoad?: (running: number, runningPredictedBytes: number) => void
}

export interface BatchResult {
  readonly memoryBytes: number
  readonly baselineRssBytes: number
  readonly headroomBytes: number
  readonly overheadBytesPerJob: number
  /** memoryBytes − baseline − headroom: what the running jobs' predicted peaks may add up to. */
  readonly jobBudgetBytes: number
  readonly concurrency: number
  readonly jobs: ReadonlyArray<JobFigures>
  readonly events: ReadonlyArray<SchedulerEvent>
}

/** What a job's run gives: a slicewise run's result, or an external command's. */
type Ran = { readonly _tag: "Run"; readonly result: Run.RunResult } | { readonly _tag: "External"; readonly result: ExternalResult }

/** A job ready for the scheduler, with the plan options it will run with. */
interface Planned {
  readonly job: ReadyJob<Ran, unknown>
  readonly plannedBufferBytes: number
  readonly planMemoryBytes?: number
  readonly output?: string
}

const lineOf = (e: unknown): string => (e instanceof Error ? e.message : String(e))

/**
 * Plans a set-up job: as it is if its buffers and overhead fit `share`, else within what the share
 * leaves it (or within its own cap). Refuses it, with what it needs, when nothing fits.
 */
const planJob = (s: JobSetUp, share: number, overhead: number, budgetBytes: number): Effect.Effect<Planned> => {
  const base: Plan.PlanOptions = s.mode === "unfused" ? { rewrites: [] } : {}
  const run = (cap: number | undefined) =>
    Effect.map(
      Run.run(s.program, {
        ...base,
        ...(cap === undefined ? {} : { memoryBytes: cap }),
        ...(s.mode === undefined ? {} : { mode: s.mode }),
        ...(s.resume === undefined ? {} : { resume: s.resume })
      }),
      (result): Ran => ({ _tag: "Run", result })
    )
  const planned = (plan: Plan.Plan, cap: number | undefined): Planned => ({
    job: { predictedBytes: plan.peakBufferBytes + overhead, run: run(cap) },
    plannedBufferBytes: plan.peakBufferBytes,
    ...(cap === undefined ? {} : { planMemoryBytes: cap }),
    ...(s.output === undefined ? {} : { output: s.output })
  })
  // The `run` of a refused or failed job is never called: the scheduler settles it before anything starts.
  const refused = (predictedBytes: number, refusal: string): Planned => ({
    job: { predictedBytes, refusal, run: Effect.die("refused") },
    plannedBufferBytes: 0,
    ...(s.output === undefined ? {} : { output: s.output })
  })
  const failed = (failure: string): Planned => ({ job: { predictedBytes: 0, failure, run: Effect.die("failed") }, plannedBufferBytes: 0 })
  return Effect.gen(function* () {
    const first = yield* Effect.either(Plan.make(s.program, { ...base, ...(s.bufferBytes === undefined ? {} : { memoryBytes: s.bufferBytes }) }))
    if (first._tag === "Left") {
      const e = first.left
      if (e instanceof Plan.BudgetError) return refused(e.minimumBytes + overhead, `its buffers ${formatBytes(s.bufferBytes ?? 0)} are too few: ${e.detail}`)
      return failed(lineOf(e))
    }
    if (first.right.peakBufferBytes + overhead <= share) return planned(first.right, s.bufferBytes)
    const allowed = share - overhead
    const fitted = allowed > 0 ? yield* Effect.either(Plan.make(s.program, { ...base, memoryBytes: allowed })) : undefined
    if (fitted !== undefined && fitted._tag === "Right") return planned(fitted.right, allowed)
    const minimum = fitted !== undefined && fitted._tag === "Left" && fitted.left instanceof Plan.BudgetError ? fitted.left.minimumBytes : first.right.peakBufferBytes
    const needs = minimum + overhead
    return refused(
      needs,
      `needs ${formatBytes(needs)} (${formatBytes(minimum)} of buffers at least, plus ${formatBytes(overhead)} per job), ` +
        `but the budget leaves ${formatBytes(Math.max(0, share))} for jobs (a budget of ${sizeAtLeast(budgetBytes + needs - share)} would do)`
    )
  })
}

/**
 * An external command is not planned: its predicted peak is its own (declared or modelled); one
 * that exceeds the share is refused, since nothing can fit it into less.
 */
const planExternal = (s: ExternalSetUp, share: number, budgetBytes: number): Planned => {
  const output = s.output === undefined ? {} : { output: s.output }
  if (s.predictedBytes > share) {
    const refusal =
      `needs ${formatBytes(s.predictedBytes)} (its predicted peak), but the budget leaves ${formatBytes(Math.max(0, share))} for jobs ` +
      `(a budget of ${sizeAtLeast(budgetBytes + s.predictedBytes - share)} would do)`
    return { job: { predictedBytes: s.predictedBytes, refusal, run: Effect.die("refused") }, plannedBufferBytes: 0, ...output }
  }
  return { job: { predictedBytes: s.predictedBytes, run: Effect.map(s.run, (result): Ran => ({ _tag: "External", result })) }, plannedBufferBytes: 0, ...output }
}

/** Plans a set-up job of either sort. */
const planAny = (s: JobSetUp | ExternalSetUp, share: number, overhead: number, budgetBytes: number): Effect.Effect<Planned> =>
  isExternal(s) ? Effect.succeed(planExternal(s, share, budgetBytes)) : planJob(s, share, overhead, budgetBytes)

/** A job that could not be set up. */
const notSetUp = (e: unknown): Planned => ({ job: { predictedBytes: 0, failure: lineOf(e), run: Effect.die("not set up") }, plannedBufferBytes: 0 })

/** What a run measured, as figures. */
const measured = (ran: Ran | undefined): Partial<JobFigures> => {
  if (ran === undefined) return {}
  if (ran._tag === "External") {
    const r = ran.result
    return { cpuMs: r.cpuMs, measuredPeakRssBytes: r.peakRssBytes, attempts: r.attempts }
  }
  const r = ran.result
  return {
    cpuMs: computeCpuMs(r.stages),
    bytesRead: r.bytesRead,
    bytesWritten: r.bytesWritten,
    measuredPeakBufferBytes: r.peakBufferBytes,
    attempts: 1,
    ...(r.resumed === undefined ? {} : { resumed: { ...r.resumed, passes: r.plan.passes.length } })
  }
}

/** How many times a failed job was started: an external command's error says, else once. */
const attemptsOf = (e: unknown): number =>
  typeof e === "object" && e !== null && "attempts" in e && typeof e.attempts === "number" ? e.attempts : 1

/** A job's figures from its outcome. */
const figuresOf = (p: Planned | undefined, kind: string, o: JobOutcome<Ran, unknown>): JobFigures => {
  const r = o.value
  return {
    name: o.name,
    kind,
    status: o.status,
    predictedPeakBytes: o.predictedBytes,
    plannedBufferBytes: p?.plannedBufferBytes ?? 0,
    ...(p?.planMemoryBytes === undefined ? {} : { planMemoryBytes: p.planMemoryBytes }),
    ...(o.startMs === undefined ? {} : { startMs: o.startMs }),
    ...(o.endMs === undefined ? {} : { endMs: o.endMs }),
    ...(o.startMs === undefined || o.endMs === undefined ? {} : { wallMs: o.endMs - o.startMs }),
    ...measured(r),
    // A job that started and failed was started once (an external command counts its retries in its error).
    ...(r === undefined && o.startMs !== undefined ? { attempts: attemptsOf(o.error) } : {}),
    ...(p?.output === undefined ? {} : { output: p.output }),
    ...(o.detail === undefined ? {} : { detail: o.detail }),
    stages: r?._tag === "Run" ? r.result.stages.map((st) => ({ ...st })) : []
  }
}

/** Sets up, plans and runs the jobs under the budget. Fails only if interrupted. */
export const runBatch = (jobs: ReadonlyArray<BatchJob>, options: BatchOptions): Effect.Effect<BatchResult> =>
  Effect.gen(function* () {
    const overhead = options.overheadBytesPerJob ?? JOB_OVERHEAD_BYTES
    const headroom = options.headroomBytes ?? HEADROOM_BYTES
    const concurrency = Math.max(1, options.concurrency ?? os.availableParallelism())
    const index = new Map(jobs.map((j, i) => [j.name, i]))
    const unknownAfter = jobs.map((j) => (j.after ?? []).filter((n) => !index.has(n)))
    // Jobs without dependencies are set up now (before the baseline is measured); the others once
    // the jobs they come after have written their inputs.
    const setUps = yield* Effect.forEach(jobs, (j) => ((j.after ?? []).length === 0 ? Effect.either(j.setUp) : Effect.succeed(undefined)))
    // The baseline after setting up: format modules loaded, headers parsed.
    const baseline = options.baselineBytes ?? settledRss()
    const share = jobBudget(options.memoryBytes, baseline, headroom)
    options.onShare?.({ baselineRssBytes: baseline, jobBudgetBytes: share, concurrency })
    const planned: Array<Planned | undefined> = new Array(jobs.length)
    const plan = (i: number, s: (typeof setUps)[number] & object) =>
      Effect.map(s._tag === "Left" ? Effect.succeed(notSetUp(s.left)) : planAny(s.right, share, overhead, options.memoryBytes), (p) => {
        planned[i] = p
        return p.job
      })
    const schedulerJobs = yield* Effect.forEach(jobs, (j, i): Effect.Effect<SchedulerJob<Ran, unknown>> => {
      if (unknownAfter[i]!.length > 0) {
        return Effect.succeed({ name: j.name, predictedBytes: 0, failure: `it comes after ${unknownAfter[i]!.join(", ")}: no such job`, run: Effect.die("no such job") })
      }
      const after = (j.after ?? []).map((n) => index.get(n)!)
      const s = setUps[i]
      if (s !== undefined) return Effect.map(plan(i, s), (job) => ({ name: j.name, ...job }))
      return Effect.succeed({ name: j.name, after, predictedBytes: 0, run: Effect.die("not prepared"), prepare: Effect.flatMap(Effect.either(j.setUp), (e) => plan(i, e)) })
    })
    const scheduled = yield* schedule(schedulerJobs, {
      budgetBytes: share,
      concurrency,
      ...(options.maxOvertakes === undefined ? {} : { maxOvertakes: options.maxOvertakes }),
      ...(options.originMs === undefined ? {} : { originMs: options.originMs }),
      // An ended job's slice buffers would otherwise linger until V8 collects on its own, and the
      // RSS could briefly hold two jobs' buffers where the scheduler counts one.
      reclaim: collectGarbage,
      ...(options.onEvent === undefined ? {} : { onEvent: options.onEvent }),
      ...(options.onLoad === undefined ? {} : { onLoad: options.onLoad })
    })
    const figures = scheduled.outcomes.map((o, i) => figuresOf(planned[i], jobs[i]!.kind, o))
    return {
      memoryBytes: options.memoryBytes,
      baselineRssBytes: baseline,
      headroomBytes: headroom,
      overheadBytesPerJob: overhead,
      jobBudgetBytes: share,
      concurrency,
      jobs: figures,
      events: scheduled.events
    }
  })
