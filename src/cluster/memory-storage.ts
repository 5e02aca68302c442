/**
 * The job queue and the pipeline records in this process's memory: the same contracts as the
 * PostgreSQL tables of queue.ts and pipelines.ts (the largest waiting job that fits, locks that
 * lapse, takes counted, jobs kept once), for a cluster in one process — the scheduler's unit tests,
 * and an application that embeds runners without a database.
 *
 * @example
 * ```ts
 * const queue = makeMemoryJobQueue({ lockSeconds: 1 })
 * yield* queue.offer({ id: "p/a", pipeline: "p", name: "a", predictedBytes: 2 ** 20, payload, token })
 * const job = yield* queue.take("runner-1", 2 ** 30)   // Option of the job, locked for 1 s
 * ```
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { PipelineRecordsService, type PipelineRecord, type PipelineRecords } from "./pipelines.js"
import { JobQueueService, type JobQueue, type JobQueueOptions, type TakenJob, type WaitingJob } from "./queue.js"

interface Row {
  readonly job: WaitingJob
  readonly order: number
  done: boolean
  runner?: string
  acquiredAt?: number
  takes: number
}

export interface MemoryQueueOptions extends JobQueueOptions {
  /** The clock, ms (default Date.now): tests move it to make locks lapse. */
  readonly now?: () => number
}

/** A JobQueue in memory, with the semantics of the PostgreSQL one. */
export const makeMemoryJobQueue = (options: MemoryQueueOptions = {}): JobQueue => {
  const now = options.now ?? Date.now
  const lockMs = Math.max(1, Math.round(options.lockSeconds ?? 10)) * 1000
  const rows = new Map<string, Row>()
  const runners = new Map<string, { budgetBytes: number; seenAt: number }>()
  let order = 0
  const free = (r: Row) => !r.done && (r.acquiredAt === undefined || r.acquiredAt < now() - lockMs)
  // The PostgreSQL queue's order: the largest first, then the oldest.
  const before = (a: Row, b: Row) => b.job.predictedBytes - a.job.predictedBytes || a.order - b.order
  return {
    offer: (job) =>
      Effect.sync(() => {
        if (!rows.has(job.id)) rows.set(job.id, { job, order: order++, done: false, takes: 0 })
      }),
    take: (runner, freeBytes) =>
      Effect.sync(() => {
        const row = [...rows.values()].filter((r) => free(r) && r.job.predictedBytes <= Math.floor(freeBytes)).sort(before)[0]
        if (row === undefined) return Option.none<TakenJob>()
        row.runner = runner
        row.acquiredAt = now()
        row.takes += 1
        return Option.some({ ...row.job, takes: row.takes })
      }),
    refresh: (runner, ids) =>
      Effect.sync(() => {
        for (const id of ids) {
          const row = rows.get(id)
          if (row !== undefined && row.runner === runner && !row.done) row.acquiredAt = now()
        }
      }),
    complete: (id) =>
      Effect.sync(() => {
        const row = rows.get(id)
        if (row === undefined) return
        row.done = true
        delete row.acquiredAt
      }),
    release: (id) =>
      Effect.sync(() => {
        const row = rows.get(id)
        if (row === undefined || row.done) return
        delete row.acquiredAt
        row.takes -= 1
      }),
    announce: (runner, budgetBytes) => Effect.sync(() => void runners.set(runner, { budgetBytes: Math.floor(budgetBytes), seenAt: now() })),
    largestRunner: (seconds) =>
      Effect.sync(() => {
        const alive = [...runners].filter(([, r]) => r.seenAt > now() - seconds * 1000)
        alive.sort(([a, x], [b, y]) => y.budgetBytes - x.budgetBytes || a.localeCompare(b))
        const first = alive[0]
        return first === undefined ? Option.none() : Option.some({ name: first[0], budgetBytes: first[1].budgetBytes })
      })
  }
}

/** PipelineRecords in memory. */
export const makeMemoryPipelineRecords = (): PipelineRecords => {
  const records = new Map<string, PipelineRecord>()
  return {
    start: (payload) =>
      Effect.sync(() => {
        if (!records.has(payload.id)) records.set(payload.id, { id: payload.id, jobs: payload.jobs, startedAt: Date.now() })
      }),
    finish: (id, reports) =>
      Effect.sync(() => {
        const r = records.get(id)
        if (r !== undefined) records.set(id, { ...r, finishedAt: Date.now(), reports })
      }),
    get: (id) => Effect.sync(() => Option.fromNullable(records.get(id)))
  }
}

/** Both, as the layers the pipeline workflow and the workers need. */
export const memoryStorageLayer = (options: MemoryQueueOptions = {}): Layer.Layer<JobQueueService | PipelineRecordsService> =>
  Layer.mergeAll(
    Layer.sync(JobQueueService, () => makeMemoryJobQueue(options)),
    Layer.sync(PipelineRecordsService, makeMemoryPipelineRecords)
  )
