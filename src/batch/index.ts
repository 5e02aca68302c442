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
import { schedule, type JobOutcome, type SchedulerJob } from "./scheduler.js"

export { DEFAULT_MAX_OVERTAKES, schedule, type JobOutcome, type SchedulerEvent, type SchedulerJob } from "./scheduler.js"

/** A job before it is set up: `setUp` builds its program without reading any voxel. */
export interface BatchJob {
  readonly name: string
  /** "run" or "fuse": for the summary. */
  readonly kind: string
  readonly setUp: Effect.Effect<JobSetUp, unknown>
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

/** A job ready for the scheduler, with the plan options it will run with. */
interface Planned {
  readonly job: SchedulerJob<Run.RunResult, unknown>
  readonly plannedBufferBytes: number
  readonly planMemoryBytes?: number
  readonly output?: string
}

const lineOf = (e: unknown): string => (e instanceof Error ? e.message : String(e))

/**
 * Plans a set-up job: as it is if its buffers and overhead fit `share`, else within what the share
 * leaves it (or within its own cap). Refuses it, with what it needs, when nothing fits.
 */
const planJob = (name: string, s: JobSetUp, share: number, overhead: number, budgetBytes: number): Effect.Effect<Planned> => {
  const base: Plan.PlanOptions = s.mode === "unfused" ? { rewrites: [] } : {}
  const run = (cap: number | undefined) =>
    Run.run(s.program, { ...base, ...(cap === undefined ? {} : { memoryBytes: cap }), ...(s.mode === undefined ? {} : { mode: s.mode }) })
  const planned = (plan: Plan.Plan, cap: number | undefined): Planned => ({
    job: { name, predictedBytes: plan.peakBufferBytes + overhead, run: run(cap) },
    plannedBufferBytes: plan.peakBufferBytes,
    ...(cap === undefined ? {} : { planMemoryBytes: cap }),
    ...(s.output === undefined ? {} : { output: s.output })
  })
  // The `run` of a refused or failed job is never called: the scheduler settles it before anything starts.
  const refused = (predictedBytes: number, refusal: string): Planned => ({
    job: { name, predictedBytes, refusal, run: Effect.die("refused") },
    plannedBufferBytes: 0,
    ...(s.output === undefined ? {} : { output: s.output })
  })
  const failed = (failure: string): Planned => ({ job: { name, predictedBytes: 0, failure, run: Effect.die("failed") }, plannedBufferBytes: 0 })
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

/** A job's figures from its outcome. */
const figuresOf = (p: Planned, kind: string, o: JobOutcome<Run.RunResult, unknown>): JobFigures => {
  const r = o.value
  return {
    name: o.name,
    kind,
    status: o.status,
    predictedPeakBytes: o.predictedBytes,
    plannedBufferBytes: p.plannedBufferBytes,
    ...(p.planMemoryBytes === undefined ? {} : { planMemoryBytes: p.planMemoryBytes }),
    ...(o.startMs === undefined ? {} : { startMs: o.startMs }),
    ...(o.endMs === undefined ? {} : { endMs: o.endMs }),
    ...(o.startMs === undefined || o.endMs === undefined ? {} : { wallMs: o.endMs - o.startMs }),
    ...(r === undefined
      ? {}
      : {
          cpuMs: computeCpuMs(r.stages),
          bytesRead: r.bytesRead,
          bytesWritten: r.bytesWritten,
          measuredPeakBufferBytes: r.peakBufferBytes
        }),
    ...(p.output === undefined ? {} : { output: p.output }),
    ...(o.detail === undefined ? {} : { detail: o.detail }),
    stages: r === undefined ? [] : r.stages.map((st) => ({ ...st }))
  }
}

/** Sets up, plans and runs the jobs under the budget. Fails only if interrupted. */
export const runBatch = (jobs: ReadonlyArray<BatchJob>, options: BatchOptions): Effect.Effect<BatchResult> =>
  Effect.gen(function* () {
    const overhead = options.overheadBytesPerJob ?? JOB_OVERHEAD_BYTES
    const headroom = options.headroomBytes ?? HEADROOM_BYTES
    const concurrency = Math.max(1, options.concurrency ?? os.availableParallelism())
    const setUps = yield* Effect.forEach(jobs, (j) => Effect.either(j.setUp))
    // The baseline after setting up: format modules loaded, headers parsed.
    const baseline = options.baselineBytes ?? settledRss()
    const share = jobBudget(options.memoryBytes, baseline, headroom)
    options.onShare?.({ baselineRssBytes: baseline, jobBudgetBytes: share, concurrency })
    const planned = yield* Effect.forEach(jobs, (j, i) => {
      const s = setUps[i]!
      if (s._tag === "Left") {
        return Effect.succeed<Planned>({ job: { name: j.name, predictedBytes: 0, failure: lineOf(s.left), run: Effect.die("not set up") }, plannedBufferBytes: 0 })
      }
      return planJob(j.name, s.right, share, overhead, options.memoryBytes)
    })
    const scheduled = yield* schedule(
      planned.map((p) => p.job),
      {
        budgetBytes: share,
        concurrency,
        ...(options.maxOvertakes === undefined ? {} : { maxOvertakes: options.maxOvertakes }),
        ...(options.originMs === undefined ? {} : { originMs: options.originMs }),
        // An ended job's slice buffers would otherwise linger until V8 collects on its own, and the
        // RSS could briefly hold two jobs' buffers where the scheduler counts one.
        reclaim: collectGarbage,
        ...(options.onEvent === undefined ? {} : { onEvent: options.onEvent }),
        ...(options.onLoad === undefined ? {} : { onLoad: options.onLoad })
      }
    )
    const figures = scheduled.outcomes.map((o, i) => figuresOf(planned[i]!, jobs[i]!.kind, o))
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
