/**
 * Each runner's resource use over time, for `slicewise report ID --cluster`: about once a second a
 * runner reads its process tree (./tree-meter.ts: RSS of the runner and the tools it runs, CPU,
 * I/O) and notes its running jobs' predicted peaks and its budget; every few seconds it writes
 * what it gathered to the PostgreSQL table `slicewise_samples` in one INSERT, so that the database
 * sees one statement per runner per flush, not per sample. Rows older than a week are removed.
 *
 * @example
 * ```ts
 * const load = runningLoad()   // fed by the worker's onStart / onFinish
 * yield* Effect.forkScoped(recordSamples({ runner: "node-5", budgetBytes, baselineBytes, load: load.now }))
 * const samples = yield* (yield* makeSampleStore).read(["node-5"], fromMs, toMs)
 * ```
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import type { RunnerSample } from "../profile/cluster-page.js"
import type { JobReport, QueuedJob } from "./protocol.js"
import { treeMeter } from "./tree-meter.js"

export interface SampleStore {
  readonly insert: (runner: string, samples: ReadonlyArray<RunnerSample>) => Effect.Effect<void, SqlError>
  /** The samples of `runners` between two times (ms since the epoch), in time order per runner. */
  readonly read: (runners: ReadonlyArray<string>, fromMs: number, toMs: number) => Effect.Effect<ReadonlyMap<string, ReadonlyArray<RunnerSample>>, SqlError>
  /** The runners with samples between two times (ms since the epoch): those alive then. */
  readonly runners: (fromMs: number, toMs: number) => Effect.Effect<ReadonlyArray<string>, SqlError>
  /** Removes `runner`'s samples older than `days`. */
  readonly prune: (runner: string, days: number) => Effect.Effect<void, SqlError>
}

interface SampleRow {
  runner: string
  at: number
  rss_bytes: string
  cpu_percent: number
  read_bps: number | null
  write_bps: number | null
  disk_read_bps: number | null
  disk_write_bps: number | null
  running_jobs: number
  running_bytes: string
  budget_bytes: string
  baseline_bytes: string
}

const toRow = (runner: string, s: RunnerSample) => ({
  runner,
  at: new Date(s.at),
  rss_bytes: Math.round(s.rssBytes),
  cpu_percent: s.cpuPercent,
  read_bps: s.io?.readBytesPerSecond ?? null,
  write_bps: s.io?.writeBytesPerSecond ?? null,
  disk_read_bps: s.io?.diskReadBytesPerSecond ?? null,
  disk_write_bps: s.io?.diskWriteBytesPerSecond ?? null,
  running_jobs: s.runningJobs,
  running_bytes: Math.round(s.runningPredictedBytes),
  budget_bytes: Math.round(s.budgetBytes),
  baseline_bytes: Math.round(s.baselineBytes)
})

const fromRow = (r: SampleRow): RunnerSample => ({
  at: Number(r.at),
  rssBytes: Number(r.rss_bytes),
  cpuPercent: Number(r.cpu_percent),
  ...(r.read_bps === null
    ? {}
    : {
        io: {
          readBytesPerSecond: Number(r.read_bps),
          writeBytesPerSecond: Number(r.write_bps ?? 0),
          diskReadBytesPerSecond: Number(r.disk_read_bps ?? 0),
          diskWriteBytesPerSecond: Number(r.disk_write_bps ?? 0)
        }
      }),
  runningJobs: r.running_jobs,
  runningPredictedBytes: Number(r.running_bytes),
  budgetBytes: Number(r.budget_bytes),
  baselineBytes: Number(r.baseline_bytes)
})

export const makeSampleStore: Effect.Effect<SampleStore, SqlError, SqlClient.SqlClient> = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE IF NOT EXISTS slicewise_samples (
      runner TEXT NOT NULL,
      at TIMESTAMPTZ NOT NULL,
      rss_bytes BIGINT NOT NULL,
      cpu_percent REAL NOT NULL,
      read_bps DOUBLE PRECISION,
      write_bps DOUBLE PRECISION,
      disk_read_bps DOUBLE PRECISION,
      disk_write_bps DOUBLE PRECISION,
      running_jobs INTEGER NOT NULL,
      running_bytes BIGINT NOT NULL,
      budget_bytes BIGINT NOT NULL,
      baseline_bytes BIGINT NOT NULL
    )`
  yield* sql`CREATE INDEX IF NOT EXISTS slicewise_samples_runner_at ON slicewise_samples (runner, at)`
  return {
    insert: (runner, samples) =>
      samples.length === 0 ? Effect.void : sql`INSERT INTO slicewise_samples ${sql.insert(samples.map((s) => toRow(runner, s)))}`.pipe(Effect.asVoid),
    read: (runners, fromMs, toMs) =>
      runners.length === 0
        ? Effect.succeed(new Map())
        : Effect.map(
            sql<SampleRow>`
              SELECT runner, EXTRACT(EPOCH FROM at)::float8 * 1000 AS at, rss_bytes, cpu_percent, read_bps, write_bps, disk_read_bps,
                     disk_write_bps, running_jobs, running_bytes, budget_bytes, baseline_bytes
              FROM slicewise_samples
              WHERE ${sql.in("runner", runners)} AND at BETWEEN ${new Date(fromMs)} AND ${new Date(toMs)}
              ORDER BY runner, at`,
            (rows) => {
              const by = new Map<string, Array<RunnerSample>>(runners.map((r) => [r, []]))
              for (const r of rows) by.get(r.runner)?.push(fromRow(r))
              return by
            }
          ),
    runners: (fromMs, toMs) =>
      Effect.map(
        sql<{ runner: string }>`SELECT DISTINCT runner FROM slicewise_samples WHERE at BETWEEN ${new Date(fromMs)} AND ${new Date(toMs)} ORDER BY runner`,
        (rows) => rows.map((r) => r.runner)
      ),
    prune: (runner, days) =>
      sql`DELETE FROM slicewise_samples WHERE runner = ${runner} AND at < now() - interval '${sql.literal(String(Math.max(1, Math.round(days))))} days'`.pipe(
        Effect.asVoid
      )
  } satisfies SampleStore
})

/**
 * The jobs a runner is running and the sum of their predictions, kept from its worker's onStart
 * and onFinish (by name: a report names its job; a job given up without starting is not counted).
 */
export const runningLoad = () => {
  const running = new Map<string, Array<number>>()
  return {
    start: (job: QueuedJob) => void running.set(job.name, [...(running.get(job.name) ?? []), job.predictedBytes]),
    finish: (report: JobReport) => {
      const left = (running.get(report.name) ?? []).slice(1)
      if (left.length === 0) running.delete(report.name)
      else running.set(report.name, left)
    },
    now: () => {
      const all = [...running.values()].flat()
      return { jobs: all.length, bytes: all.reduce((a, b) => a + b, 0) }
    }
  }
}

export interface RecordSamplesOptions {
  readonly runner: string
  readonly budgetBytes: number
  readonly baselineBytes: number
  readonly load: () => { readonly jobs: number; readonly bytes: number }
  /** Between samples (default 1 s) and between writes (default 5 s). */
  readonly intervalMillis?: number
  readonly flushMillis?: number
}

/** Samples kept while PostgreSQL is away: ten minutes of them at the default interval. */
const MAX_PENDING = 600

/** Samples this process's tree until interrupted, writing them in batches (and what is left at the end). */
export const recordSamples = (options: RecordSamplesOptions) =>
  Effect.gen(function* () {
    const store = yield* makeSampleStore
    const meter = treeMeter(process.pid)
    const pending: Array<RunnerSample> = []
    const take = Effect.sync(() => {
      const load = options.load()
      pending.push({ at: Date.now(), ...meter(), runningJobs: load.jobs, runningPredictedBytes: load.bytes, budgetBytes: options.budgetBytes, baselineBytes: options.baselineBytes })
      if (pending.length > MAX_PENDING) pending.splice(0, pending.length - MAX_PENDING)
    })
    // A failed write keeps its rows for the next one: PostgreSQL away for a while loses nothing recent.
    const flush = Effect.suspend(() => {
      const rows = pending.splice(0)
      return store.insert(options.runner, rows).pipe(Effect.tapError(() => Effect.sync(() => pending.unshift(...rows))))
    }).pipe(Effect.catchAllCause(Effect.logWarning))
    yield* Effect.addFinalizer(() => flush)
    yield* Effect.forkScoped(Effect.repeat(flush, Schedule.spaced(Duration.millis(options.flushMillis ?? 5000))))
    yield* Effect.forkScoped(Effect.repeat(Effect.ignore(store.prune(options.runner, 7)), Schedule.spaced(Duration.hours(1))))
    return yield* Effect.repeat(take, Schedule.spaced(Duration.millis(options.intervalMillis ?? 1000)))
  }).pipe(Effect.scoped)
