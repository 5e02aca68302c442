/**
 * What the cluster keeps of each submitted pipeline, for `slicewise report`: its jobs as submitted,
 * when it started and finished, and every job's report — also those of jobs no runner ran
 * (refused, not run), which never reach the job queue. One PostgreSQL table; the pipeline
 * workflow writes it through activities, so a resumed workflow writes each row once.
 *
 * @example
 * ```ts
 * const records = yield* makePipelineRecords
 * yield* records.start(payload)
 * yield* records.finish(payload.id, reports)
 * const record = yield* records.get(payload.id)   // Option of { jobs, startedAt, finishedAt, reports }
 * ```
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type { JobReport, PipelinePayload } from "./protocol.js"

export interface PipelineRecord {
  readonly id: string
  readonly jobs: PipelinePayload["jobs"]
  /** ms since the epoch */
  readonly startedAt: number
  readonly finishedAt?: number
  /** Every job's report, once the pipeline finished. */
  readonly reports?: ReadonlyArray<JobReport>
}

export interface PipelineRecords {
  /** Records a pipeline as started (a second start of the same id keeps the first). */
  readonly start: (payload: PipelinePayload) => Effect.Effect<void, SqlError>
  readonly finish: (id: string, reports: ReadonlyArray<JobReport>) => Effect.Effect<void, SqlError>
  readonly get: (id: string) => Effect.Effect<Option.Option<PipelineRecord>, SqlError>
}

export const makePipelineRecords: Effect.Effect<PipelineRecords, SqlError, SqlClient.SqlClient> = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE IF NOT EXISTS slicewise_pipelines (
      id TEXT PRIMARY KEY,
      jobs TEXT NOT NULL,
      started_at TIMESTAMPTZ NOT NULL DEFAULT now(),
      finished_at TIMESTAMPTZ,
      reports TEXT
    )`
  return {
    start: (payload) =>
      sql`INSERT INTO slicewise_pipelines (id, jobs) VALUES (${payload.id}, ${JSON.stringify(payload.jobs)}) ON CONFLICT (id) DO NOTHING`.pipe(Effect.asVoid),
    finish: (id, reports) => sql`UPDATE slicewise_pipelines SET finished_at = now(), reports = ${JSON.stringify(reports)} WHERE id = ${id}`.pipe(Effect.asVoid),
    get: (id) =>
      Effect.map(
        sql<{ id: string; jobs: string; started: number; finished: number | null; reports: string | null }>`
          SELECT id, jobs, EXTRACT(EPOCH FROM started_at)::float8 * 1000 AS started,
                 EXTRACT(EPOCH FROM finished_at)::float8 * 1000 AS finished, reports
          FROM slicewise_pipelines WHERE id = ${id}`,
        (rows) =>
          Option.map(Option.fromNullable(rows[0]), (r) => ({
            id: r.id,
            jobs: JSON.parse(r.jobs) as PipelinePayload["jobs"],
            startedAt: Number(r.started),
            ...(r.finished === null ? {} : { finishedAt: Number(r.finished) }),
            ...(r.reports === null ? {} : { reports: JSON.parse(r.reports) as ReadonlyArray<JobReport> })
          }))
      )
  } satisfies PipelineRecords
})

export class PipelineRecordsService extends Context.Tag("slicewise/cluster/PipelineRecords")<PipelineRecordsService, PipelineRecords>() {}

export const pipelineRecordsLayer: Layer.Layer<PipelineRecordsService, SqlError, SqlClient.SqlClient> = Layer.effect(PipelineRecordsService, makePipelineRecords)
