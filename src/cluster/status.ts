/**
 * What a cluster is doing, read from its PostgreSQL (the tables of queue.ts): the runners alive,
 * with their budgets and running jobs, and per pipeline its queued, running and finished jobs.
 * Jobs still waiting for the jobs they come after are not in the queue yet, so not counted.
 *
 * @example
 * ```ts
 * const { runners, pipelines } = yield* clusterStatus
 * const jobs = yield* pipelineJobs("3f2a9c0d1e7b4a55")
 * ```
 */
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import type { JobReport } from "./protocol.js"

export interface RunnerStatus {
  readonly name: string
  readonly budgetBytes: number
  /** Seconds since its last heartbeat. */
  readonly seenSecondsAgo: number
  readonly runningJobs: number
  /** The sum of its running jobs' predicted peaks. */
  readonly runningBytes: number
}

export interface PipelineStatus {
  readonly pipeline: string
  readonly queued: number
  readonly running: number
  /** Finished jobs by their state (done, failed …). */
  readonly finished: Readonly<Record<string, number>>
}

export interface QueuedJobStatus {
  readonly name: string
  /** "queued", "running" or its outcome (done, failed …). */
  readonly state: string
  readonly runner?: string
  readonly predictedBytes: number
  readonly takes: number
  /** Its runner's report, once finished. */
  readonly report?: JobReport
}

/** Runners seen in the last five minutes, and every pipeline with jobs in the queue. */
export const clusterStatus = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const runners = yield* sql<{ name: string; budget_bytes: string; ago: number; jobs: string; bytes: string | null }>`
    SELECT r.name, r.budget_bytes, EXTRACT(EPOCH FROM now() - r.seen_at)::float8 AS ago,
           COUNT(j.id) AS jobs, SUM(j.predicted_bytes) AS bytes
    FROM slicewise_runners r LEFT JOIN slicewise_jobs j ON j.runner = r.name AND NOT j.done AND j.acquired_at IS NOT NULL
    WHERE r.seen_at > now() - interval '300 seconds'
    GROUP BY r.name, r.budget_bytes, r.seen_at ORDER BY r.name`
  const rows = yield* sql<{ pipeline: string; state: string; n: string }>`
    SELECT pipeline, CASE WHEN done THEN outcome WHEN acquired_at IS NOT NULL THEN 'running' ELSE 'queued' END AS state, COUNT(*) AS n
    FROM slicewise_jobs GROUP BY 1, 2 ORDER BY 1, 2`
  const pipelines = new Map<string, { queued: number; running: number; finished: Record<string, number> }>()
  for (const r of rows) {
    const p = pipelines.get(r.pipeline) ?? { queued: 0, running: 0, finished: {} }
    if (r.state === "queued") p.queued += Number(r.n)
    else if (r.state === "running") p.running += Number(r.n)
    else p.finished[r.state] = (p.finished[r.state] ?? 0) + Number(r.n)
    pipelines.set(r.pipeline, p)
  }
  return {
    runners: runners.map((r): RunnerStatus => ({
      name: r.name,
      budgetBytes: Number(r.budget_bytes),
      seenSecondsAgo: Number(r.ago),
      runningJobs: Number(r.jobs),
      runningBytes: Number(r.bytes ?? 0)
    })),
    pipelines: [...pipelines].map(([pipeline, p]): PipelineStatus => ({ pipeline, ...p }))
  }
})

/** The queued, running and finished jobs of one pipeline. */
export const pipelineJobs = (pipeline: string) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql<{ name: string; state: string; runner: string | null; predicted_bytes: string; takes: number; report: string | null }>`
      SELECT name, CASE WHEN done THEN outcome WHEN acquired_at IS NOT NULL THEN 'running' ELSE 'queued' END AS state,
             runner, predicted_bytes, takes, report
      FROM slicewise_jobs WHERE pipeline = ${pipeline} ORDER BY created_at, name`
    return rows.map((r): QueuedJobStatus => ({
      name: r.name,
      state: r.state,
      ...(r.runner === null ? {} : { runner: r.runner }),
      predictedBytes: Number(r.predicted_bytes),
      takes: r.takes,
      ...(r.report === null ? {} : { report: JSON.parse(r.report) as JobReport })
    }))
  })
