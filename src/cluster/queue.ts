/**
 * The cluster's job queue: one PostgreSQL table of jobs waiting for a runner. A runner takes the
 * largest waiting job whose predicted peak fits what its running jobs leave free — a single
 * `UPDATE … FOR UPDATE SKIP LOCKED` that never waits, so a runner can look again as soon as its
 * free memory changes (placement by pull, exact to the byte, not by hash). A taken job is locked by
 * its runner, which refreshes the lock while the job runs; a runner that dies stops refreshing,
 * and once the lock expires another runner takes the job again. A job taken more than `maxTakes`
 * times (it keeps killing its runners) is given up.
 *
 * @example
 * ```ts
 * const queue = yield* makeJobQueue({ lockSeconds: 10 })
 * yield* queue.offer({ id: "p1/a", pipeline: "p1", name: "a", predictedBytes, payload, token })
 * const job = yield* queue.take("runner-1", freeBytes)   // Option of the job, locked
 * ```
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type { JobReport } from "./protocol.js"

/** A job in the queue. */
export interface WaitingJob {
  /** Unique in the cluster: the pipeline's execution id and the job's name. */
  readonly id: string
  /** The pipeline's id (for `slicewise status`). */
  readonly pipeline: string
  readonly name: string
  readonly predictedBytes: number
  /** The job as JSON (a QueuedJob). */
  readonly payload: string
  /** The durable deferred the pipeline's workflow awaits. */
  readonly token: string
}

/** A job a runner has taken: locked by it, `takes` counting this one. */
export interface TakenJob extends WaitingJob {
  readonly takes: number
}

export interface JobQueue {
  /** Adds a job; a job already there (the same id) is left as it is. */
  readonly offer: (job: WaitingJob) => Effect.Effect<void, SqlError>
  /** The largest waiting job that fits `freeBytes`, locked for `runner`; none if nothing fits. */
  readonly take: (runner: string, freeBytes: number) => Effect.Effect<Option.Option<TakenJob>, SqlError>
  /** Keeps the locks of `ids` (jobs `runner` is running). */
  readonly refresh: (runner: string, ids: ReadonlyArray<string>) => Effect.Effect<void, SqlError>
  /** The job is finished (its report delivered): never taken again; its report is kept for `slicewise report`. */
  readonly complete: (id: string, report: JobReport) => Effect.Effect<void, SqlError>
  /** The runner is stopping before the job finished: another may take it at once. */
  readonly release: (id: string) => Effect.Effect<void, SqlError>
  /** Records that `runner`, whose jobs may use `budgetBytes`, is alive (at start and with every refresh). */
  readonly announce: (runner: string, budgetBytes: number) => Effect.Effect<void, SqlError>
  /** The runner with the largest budget among those alive in the last `seconds`, if any. */
  readonly largestRunner: (seconds: number) => Effect.Effect<Option.Option<{ readonly name: string; readonly budgetBytes: number }>, SqlError>
}

export interface JobQueueOptions {
  /** Seconds a dead runner's jobs stay locked (default 10). */
  readonly lockSeconds?: number
}

export const makeJobQueue = (options: JobQueueOptions = {}): Effect.Effect<JobQueue, SqlError, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const lock = sql.literal(String(Math.max(1, Math.round(options.lockSeconds ?? 10))))
    yield* sql`
      CREATE TABLE IF NOT EXISTS slicewise_jobs (
        id TEXT PRIMARY KEY,
        pipeline TEXT NOT NULL,
        name TEXT NOT NULL,
        predicted_bytes BIGINT NOT NULL,
        payload TEXT NOT NULL,
        token TEXT NOT NULL,
        done BOOLEAN NOT NULL DEFAULT FALSE,
        outcome TEXT,
        runner TEXT,
        acquired_at TIMESTAMPTZ,
        takes INTEGER NOT NULL DEFAULT 0,
        created_at TIMESTAMPTZ NOT NULL DEFAULT now()
      )`
    // Tables made by an earlier version have no report column.
    yield* sql`ALTER TABLE slicewise_jobs ADD COLUMN IF NOT EXISTS report TEXT`
    yield* sql`CREATE INDEX IF NOT EXISTS slicewise_jobs_waiting ON slicewise_jobs (done, predicted_bytes)`
    yield* sql`
      CREATE TABLE IF NOT EXISTS slicewise_runners (
        name TEXT PRIMARY KEY,
        budget_bytes BIGINT NOT NULL,
        seen_at TIMESTAMPTZ NOT NULL
      )`
    return {
      offer: (job) =>
        sql`INSERT INTO slicewise_jobs (id, pipeline, name, predicted_bytes, payload, token)
            VALUES (${job.id}, ${job.pipeline}, ${job.name}, ${job.predictedBytes}, ${job.payload}, ${job.token})
            ON CONFLICT (id) DO NOTHING`.pipe(Effect.asVoid),
      take: (runner, freeBytes) =>
        Effect.map(
          sql<{ id: string; pipeline: string; name: string; predicted_bytes: string; payload: string; token: string; takes: number }>`
            UPDATE slicewise_jobs SET runner = ${runner}, acquired_at = now(), takes = takes + 1
            WHERE id = (
              SELECT id FROM slicewise_jobs
              WHERE NOT done AND predicted_bytes <= ${Math.floor(freeBytes)}
                AND (acquired_at IS NULL OR acquired_at < now() - interval '${lock} seconds')
              ORDER BY predicted_bytes DESC, created_at, id
              LIMIT 1 FOR UPDATE SKIP LOCKED)
            RETURNING id, pipeline, name, predicted_bytes, payload, token, takes`,
          (rows) =>
            Option.map(Option.fromNullable(rows[0]), (r) => ({
              id: r.id,
              pipeline: r.pipeline,
              name: r.name,
              predictedBytes: Number(r.predicted_bytes),
              payload: r.payload,
              token: r.token,
              takes: r.takes
            }))
        ),
      refresh: (runner, ids) =>
        ids.length === 0
          ? Effect.void
          : sql`UPDATE slicewise_jobs SET acquired_at = now() WHERE runner = ${runner} AND NOT done AND ${sql.in("id", ids)}`.pipe(Effect.asVoid),
      complete: (id, report) =>
        sql`UPDATE slicewise_jobs SET done = TRUE, outcome = ${report.state}, report = ${JSON.stringify(report)}, acquired_at = NULL WHERE id = ${id}`.pipe(Effect.asVoid),
      release: (id) => sql`UPDATE slicewise_jobs SET acquired_at = NULL, takes = takes - 1 WHERE id = ${id} AND NOT done`.pipe(Effect.asVoid),
      announce: (runner, budgetBytes) =>
        sql`INSERT INTO slicewise_runners (name, budget_bytes, seen_at) VALUES (${runner}, ${Math.floor(budgetBytes)}, now())
            ON CONFLICT (name) DO UPDATE SET budget_bytes = EXCLUDED.budget_bytes, seen_at = now()`.pipe(Effect.asVoid),
      largestRunner: (seconds) =>
        Effect.map(
          sql<{ name: string; budget_bytes: string }>`
            SELECT name, budget_bytes FROM slicewise_runners
            WHERE seen_at > now() - interval '${sql.literal(String(Math.max(1, Math.round(seconds))))} seconds'
            ORDER BY budget_bytes DESC, name LIMIT 1`,
          (rows) => Option.map(Option.fromNullable(rows[0]), (r) => ({ name: r.name, budgetBytes: Number(r.budget_bytes) }))
        )
    } satisfies JobQueue
  })

/** The queue as a service, for the pipeline workflow and the worker. */
export class JobQueueService extends Context.Tag("slicewise/cluster/JobQueue")<JobQueueService, JobQueue>() {}

export const jobQueueLayer = (options: JobQueueOptions = {}): Layer.Layer<JobQueueService, SqlError, SqlClient.SqlClient> =>
  Layer.effect(JobQueueService, makeJobQueue(options))
