/**
 * What `slicewise batch --json` prints: the budget and how it was shared, every job's figures and
 * the scheduler's events, as an effect/Schema (encoded with it, so a reader can decode it back).
 *
 * @example
 * ```ts
 * const result = Schema.decodeUnknownSync(BatchResultJson)(JSON.parse(stdout))
 * ```
 */
import * as Schema from "effect/Schema"
import { JobFigures, SchedulerEvent } from "../profile/schema.js"

const Bytes = Schema.Number.pipe(Schema.nonNegative())

export const BatchResultJson = Schema.Struct({
  memoryBytes: Bytes,
  baselineRssBytes: Bytes,
  headroomBytes: Bytes,
  overheadBytesPerJob: Bytes,
  /** May be negative: the baseline alone exceeds the budget (every job is then refused). */
  jobBudgetBytes: Schema.Number,
  concurrency: Schema.Int.pipe(Schema.positive()),
  peakRssBytes: Bytes,
  jobs: Schema.Array(JobFigures),
  events: Schema.Array(SchedulerEvent)
})
export type BatchResultJson = typeof BatchResultJson.Type
