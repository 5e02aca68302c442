/**
 * Memory-aware admission of jobs: each job states its predicted peak bytes up front; a job starts
 * only when that fits into what is free of the budget and fewer than `concurrency` jobs run. Jobs
 * run as fibers of one scope, so interrupting the scheduler interrupts them all (and each run's own
 * scope removes its partial outputs).
 *
 * Order: the given order, with bounded backfill. When the first waiting job does not fit, a later
 * one that fits may start ahead of it, but each waiting job can be overtaken at most
 * `maxOvertakes` times; after that no later job starts before it, so the memory that running jobs
 * free is kept for it and it starts once enough has been freed. Big jobs wait a bounded number of
 * overtakes, small ones fill the gaps meanwhile.
 *
 * Dependencies: a job may come `after` others (their positions in the list). It is prepared (its
 * `prepare`: set up and planned, so that its predicted peak is known) only once every one of them
 * has finished, and then waits for admission like any other. When one of them fails, is refused,
 * is interrupted or is not run itself, the job is settled as "not-run" (a `skip` event naming that
 * dependency) and never starts, and so are the jobs that come after it.
 *
 * The scheduler keeps its own log of events (admit, start, finish, fail, refuse, skip), each with the
 * time, the job, its predicted peak, and the running count and sum of predicted peaks after it.
 *
 * @example
 * ```ts
 * const { outcomes, events } = yield* schedule(
 *   [{ name: "a", predictedBytes: 40 * 2 ** 20, run: Run.run(programA) }],
 *   { budgetBytes: 128 * 2 ** 20, concurrency: 2 }
 * )
 * ```
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Queue from "effect/Queue"
import { formatBytes } from "../util/units.js"

/** A job ready to be admitted: its predicted peak and how to run it (or why it cannot run). */
export interface ReadyJob<A, E> {
  /** The most bytes the job will hold at once, as predicted before it starts. */
  readonly predictedBytes: number
  /** Why the job cannot run (it was refused while being prepared), if it cannot. */
  readonly refusal?: string
  /** Why the job failed before it could start (could not be set up), if it did. */
  readonly failure?: string
  readonly run: Effect.Effect<A, E>
}

export interface SchedulerJob<A, E> extends ReadyJob<A, E> {
  readonly name: string
  /** Positions of the jobs that must finish before this one is prepared (default: none). */
  readonly after?: ReadonlyArray<number>
  /**
   * Makes the job ready once the jobs it comes after have finished (e.g. opens the inputs they
   * wrote and plans it); replaces `predictedBytes`, `refusal`, `failure` and `run`. Without it the
   * job is ready as given.
   */
  readonly prepare?: Effect.Effect<ReadyJob<A, E>>
}

export type EventKind = "admit" | "start" | "finish" | "fail" | "refuse" | "skip"

export interface SchedulerEvent {
  /** Milliseconds since the scheduler started. */
  readonly tMs: number
  readonly kind: EventKind
  /** The job's position in the list, and its name. */
  readonly index: number
  readonly job: string
  readonly predictedBytes: number
  /** After the event: the sum of the predicted peaks of the running (admitted, not ended) jobs. */
  readonly runningPredictedBytes: number
  /** After the event: how many jobs are running (admitted, not ended). */
  readonly running: number
  /** For fail, refuse and skip: why. */
  readonly detail?: string
}

/** not-run: a job it comes after did not finish, so it never started. */
export type JobStatus = "done" | "failed" | "refused" | "interrupted" | "not-run"

export interface JobOutcome<A, E> {
  readonly index: number
  readonly name: string
  readonly status: JobStatus
  readonly predictedBytes: number
  /** When it started and ended, ms since the scheduler started (not for refused jobs). */
  readonly startMs?: number
  readonly endMs?: number
  readonly value?: A
  readonly error?: E
  /** One line: why it failed or was refused. */
  readonly detail?: string
}

export interface SchedulerOptions {
  /** Bytes the jobs may hold together. */
  readonly budgetBytes: number
  /** Most jobs running at once (at least 1). */
  readonly concurrency: number
  /** Times a waiting job may be overtaken by later ones before it blocks them (default 3). */
  readonly maxOvertakes?: number
  /** The time origin of the events, a performance.now() value (default: when the scheduler starts). */
  readonly originMs?: number
  /** Called with every event as it happens (progress lines). */
  readonly onEvent?: (e: SchedulerEvent) => void
  /**
   * Called after a job ends, before others are admitted into what it held: a job's buffers are
   * garbage only once it ends, and runBatch collects them here (a full GC when the process allows
   * one) so that the next job does not allocate on top of them.
   */
  readonly reclaim?: () => void
  /** Called with the running count and sum of predicted peaks whenever they change. */
  readonly onLoad?: (running: number, runningPredictedBytes: number) => void
}

export interface ScheduleResult<A, E> {
  readonly outcomes: ReadonlyArray<JobOutcome<A, E>>
  readonly events: ReadonlyArray<SchedulerEvent>
}

export const DEFAULT_MAX_OVERTAKES = 3

/** The one-line message of a job's failure. */
const failureLine = (cause: Cause.Cause<unknown>): string => {
  const failure = Cause.failureOption(cause)
  if (failure._tag === "Some") return failure.value instanceof Error ? failure.value.message : String(failure.value)
  if (Cause.isInterruptedOnly(cause)) return "interrupted"
  const defect = Cause.squash(cause)
  return `internal error: ${defect instanceof Error ? defect.message : String(defect)}`
}

/** What the scheduler knows as it goes: the log, the outcomes, and the running jobs' count and bytes. */
interface Ledger<A, E> {
  /** The jobs, each replaced by its prepared self once prepared. */
  readonly jobs: Array<SchedulerJob<A, E>>
  readonly options: SchedulerOptions
  /** performance.now() at the time origin. */
  readonly origin: number
  readonly events: Array<SchedulerEvent>
  readonly outcomes: Array<JobOutcome<A, E>>
  running: number
  runningBytes: number
}

const sinceOrigin = (l: Ledger<unknown, unknown>): number => performance.now() - l.origin

const log = (l: Ledger<unknown, unknown>, kind: EventKind, index: number, detail?: string): void => {
  const job = l.jobs[index]!
  const e: SchedulerEvent = {
    tMs: sinceOrigin(l),
    kind,
    index,
    job: job.name,
    predictedBytes: job.predictedBytes,
    runningPredictedBytes: l.runningBytes,
    running: l.running,
    ...(detail === undefined ? {} : { detail })
  }
  l.events.push(e)
  l.options.onEvent?.(e)
}

/**
 * Settles a ready job that failed to set up or can never fit; returns true when it did (the job
 * will not wait for admission).
 */
const settleUnrunnable = (l: Ledger<unknown, unknown>, i: number): boolean => {
  const job = l.jobs[i]!
  if (job.failure !== undefined) {
    l.outcomes[i] = { index: i, name: job.name, status: "failed", predictedBytes: job.predictedBytes, detail: job.failure }
    log(l, "fail", i, job.failure)
    return true
  }
  const budget = l.options.budgetBytes
  const refusal =
    job.refusal ??
    (job.predictedBytes > budget ? `needs ${formatBytes(job.predictedBytes)}, more than the ${formatBytes(budget)} the budget leaves for jobs` : undefined)
  if (refusal === undefined) return false
  l.outcomes[i] = { index: i, name: job.name, status: "refused", predictedBytes: job.predictedBytes, detail: refusal }
  log(l, "refuse", i, refusal)
  return true
}

/** Inserts job `i` into `waiting`, which is kept in list order (the order of admission). */
const enqueue = (waiting: Array<number>, i: number): void => {
  let pos = waiting.length
  while (pos > 0 && waiting[pos - 1]! > i) pos--
  waiting.splice(pos, 0, i)
}

/**
 * The position in `waiting` of the next job to admit, or -1: the first that fits what is free,
 * unless an earlier one has been overtaken `maxOvertakes` times already. Counts the overtakes.
 */
const nextToAdmit = (
  l: Ledger<unknown, unknown>,
  waiting: ReadonlyArray<number>,
  overtaken: Map<number, number>,
  concurrency: number,
  maxOvertakes: number
): number => {
  if (l.running >= concurrency) return -1
  const free = l.options.budgetBytes - l.runningBytes
  for (let pos = 0; pos < waiting.length; pos++) {
    const i = waiting[pos]!
    if (l.jobs[i]!.predictedBytes <= free) {
      for (let k = 0; k < pos; k++) overtaken.set(waiting[k]!, (overtaken.get(waiting[k]!) ?? 0) + 1)
      return pos
    }
    if ((overtaken.get(i) ?? 0) >= maxOvertakes) return -1
  }
  return -1
}

/** The outcome of a job that ran, from its exit. */
const outcomeOf = <A, E>(base: Omit<JobOutcome<A, E>, "status">, exit: Exit.Exit<A, E>): JobOutcome<A, E> => {
  if (Exit.isSuccess(exit)) return { ...base, status: "done", value: exit.value }
  const failure = Cause.failureOption(exit.cause)
  return {
    ...base,
    status: Cause.isInterruptedOnly(exit.cause) ? "interrupted" : "failed",
    detail: failureLine(exit.cause),
    ...(failure._tag === "Some" ? { error: failure.value } : {})
  }
}

const setLoad = (l: Ledger<unknown, unknown>, running: number, bytes: number): void => {
  l.running += running
  l.runningBytes += bytes
  l.options.onLoad?.(l.running, l.runningBytes)
}

/** Runs admitted job `i` to its end, records its outcome and says on `ended` that it is over. */
const runAdmitted = <A, E>(l: Ledger<A, E>, i: number, ended: Queue.Enqueue<number>): Effect.Effect<void> => {
  const job = l.jobs[i]!
  const startMs = sinceOrigin(l)
  log(l, "start", i)
  return Effect.flatMap(Effect.exit(job.run), (exit) =>
    Effect.suspend(() => {
      setLoad(l, -1, -job.predictedBytes)
      const outcome = outcomeOf({ index: i, name: job.name, predictedBytes: job.predictedBytes, startMs, endMs: sinceOrigin(l) }, exit)
      l.outcomes[i] = outcome
      log(l, outcome.status === "done" ? "finish" : "fail", i, outcome.detail)
      return Queue.offer(ended, i)
    })
  )
}

/** How a dependency's end reads in a not-run job's detail. */
const ENDED: Record<JobStatus, string> = { done: "finished", failed: "failed", refused: "was refused", interrupted: "was interrupted", "not-run": "was not run" }

/** The jobs that come after each job (the reverse of `after`). */
const dependentsOf = (jobs: ReadonlyArray<SchedulerJob<unknown, unknown>>): Array<Array<number>> => {
  const dependents: Array<Array<number>> = jobs.map(() => [])
  jobs.forEach((job, i) => {
    for (const d of job.after ?? []) dependents[d]?.push(i)
  })
  return dependents
}

/**
 * Runs the jobs under the budget, each after the jobs it comes after; refuses up front those that
 * could never fit.
 */
export const schedule = <A, E>(jobs: ReadonlyArray<SchedulerJob<A, E>>, options: SchedulerOptions): Effect.Effect<ScheduleResult<A, E>> =>
  Effect.scoped(
    Effect.gen(function* () {
      const concurrency = Math.max(1, Math.floor(options.concurrency))
      const maxOvertakes = options.maxOvertakes ?? DEFAULT_MAX_OVERTAKES
      const l: Ledger<A, E> = { jobs: [...jobs], options, origin: options.originMs ?? performance.now(), events: [], outcomes: new Array(jobs.length), running: 0, runningBytes: 0 }
      const dependents = dependentsOf(jobs)
      // How many of its dependencies each job still waits for.
      const blockers = jobs.map((j) => new Set(j.after ?? []).size)
      const waiting: Array<number> = []
      /** Prepares job `i` (its dependencies have finished) and settles it or lets it wait. */
      const ready = (i: number) =>
        Effect.gen(function* () {
          const job = l.jobs[i]!
          if (job.prepare !== undefined) l.jobs[i] = { name: job.name, ...(job.after === undefined ? {} : { after: job.after }), ...(yield* job.prepare) }
          // One that cannot run (failed to set up, refused) takes the jobs after it down with it.
          if (settleUnrunnable(l, i)) skipAfter(i)
          else enqueue(waiting, i)
        })
      /** Settles every job that (transitively) comes after `i`, which did not finish, as not run. */
      const skipAfter = (i: number) => {
        for (const d of dependents[i]!) {
          if (l.outcomes[d] !== undefined) continue
          const detail = `not run: it comes after ${jobs[i]!.name}, which ${ENDED[l.outcomes[i]!.status]}`
          l.outcomes[d] = { index: d, name: jobs[d]!.name, status: "not-run", predictedBytes: 0, detail }
          log(l, "skip", d, detail)
          skipAfter(d)
        }
      }
      /** After job `i` ended: its dependents become ready, or are not run. */
      const release = (i: number) =>
        Effect.gen(function* () {
          if (l.outcomes[i]!.status !== "done") return skipAfter(i)
          for (const d of dependents[i]!) {
            blockers[d]!--
            if (blockers[d] === 0 && l.outcomes[d] === undefined) yield* ready(d)
          }
        })
      for (let i = 0; i < jobs.length; i++) if (blockers[i] === 0) yield* ready(i)
      const overtaken = new Map<number, number>()
      const ended = yield* Queue.unbounded<number>()
      while (waiting.length > 0 || l.running > 0) {
        for (let pos = nextToAdmit(l, waiting, overtaken, concurrency, maxOvertakes); pos >= 0; pos = nextToAdmit(l, waiting, overtaken, concurrency, maxOvertakes)) {
          const [i] = waiting.splice(pos, 1) as [number]
          setLoad(l, 1, l.jobs[i]!.predictedBytes)
          log(l, "admit", i)
          yield* Effect.forkScoped(Effect.suspend(() => runAdmitted(l, i, ended)))
        }
        const i = yield* Queue.take(ended)
        options.reclaim?.()
        yield* release(i)
      }
      // Only a circle of `after` (refused by the jobs file, possible through the API) leaves jobs here.
      for (let i = 0; i < jobs.length; i++) {
        if (l.outcomes[i] !== undefined) continue
        const detail = "not run: it comes after itself through its dependencies (a circle of after)"
        l.outcomes[i] = { index: i, name: jobs[i]!.name, status: "not-run", predictedBytes: 0, detail }
        log(l, "skip", i, detail)
      }
      return { outcomes: l.outcomes, events: l.events }
    })
  )
