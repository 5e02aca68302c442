/**
 * The data of a cluster run's page (`slicewise report ID --cluster URL`), read from the cluster's
 * PostgreSQL: the pipeline as submitted and its time span (slicewise_pipelines), what became of
 * each job (its final report; before the pipeline ends, the queue's state and report), and the
 * samples over that span (slicewise_samples) of the runners that ran its jobs or were alive then. Rendering is
 * src/profile/cluster-html.ts's.
 *
 * @example
 * ```ts
 * const page = yield* clusterReportOf("postgres://db/slicewise", "3f2a9c0d1e7b4a55")
 * fs.writeFileSync("page.html", clusterHtml(page))
 * ```
 */
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { Job, jobIo } from "../jobs/index.js"
import type { ClusterPage, ClusterPageJob, JobWhat } from "../profile/cluster-page.js"
import { sqlLayer } from "./layers.js"
import { makePipelineRecords, type PipelineRecord } from "./pipelines.js"
import type { JobReport } from "./protocol.js"
import { makeSampleStore } from "./samples.js"
import { ensureTables } from "./schema.js"
import { pipelineJobs, type QueuedJobStatus } from "./status.js"

export class PipelineNotFoundError extends Data.TaggedError("PipelineNotFoundError")<{ readonly id: string }> {
  override get message(): string {
    return `no pipeline ${this.id} in this cluster (submit prints the id; slicewise status --cluster lists the pipelines with queued jobs)`
  }
}

/** Samples this long before the start and after the end frame the pipeline's time. */
const MARGIN_MS = 2000

/** What a job ran, from its definition as submitted (left empty if it no longer decodes). */
export const jobWhat = (definition: unknown): JobWhat => {
  const job = Schema.decodeUnknownEither(Job)(definition)
  if (Either.isLeft(job)) return { inputs: [], outputs: [] }
  const io = jobIo(job.right, 0)
  const j = job.right
  return {
    ...(j.kind === "exec" ? { command: j.command.join(" ") } : {}),
    ...(j.kind === "run" ? { steps: j.steps } : {}),
    inputs: io.inputs.map((p) => p.path),
    outputs: io.outputs.map((p) => p.path)
  }
}

/** A job's row: its final report if the pipeline finished, else what the queue knows of it. */
const jobRow = (job: PipelineRecord["jobs"][number], final: JobReport | undefined, queued: QueuedJobStatus | undefined): ClusterPageJob => {
  const report = final ?? queued?.report
  const { name: _, state: __, ...figures } = report ?? {}
  return {
    name: job.name,
    kind: report?.kind ?? ((job.definition as { kind?: string } | null)?.kind ?? "?"),
    after: job.after,
    what: jobWhat(job.definition),
    state: report?.state ?? queued?.state ?? "waiting",
    ...(queued?.runner === undefined ? {} : { runner: queued.runner }),
    ...(queued === undefined ? {} : { predictedBytes: queued.predictedBytes, attempts: queued.takes }),
    ...figures
  }
}

/** The page's data for pipeline `id`; the SqlClient is the cluster's. */
export const clusterReport = (id: string) =>
  Effect.gen(function* () {
    yield* ensureTables
    const records = yield* makePipelineRecords
    const store = yield* makeSampleStore
    const record = yield* Effect.flatMap(records.get(id), Option.match({ onNone: () => Effect.fail(new PipelineNotFoundError({ id })), onSome: Effect.succeed }))
    const queued = new Map((yield* pipelineJobs(id)).map((j) => [j.name, j]))
    const finals = new Map((record.reports ?? []).map((r) => [r.name, r]))
    const jobs = record.jobs.map((j) => jobRow(j, finals.get(j.name), queued.get(j.name)))
    const madeAt = Date.now()
    const [from, to] = [record.startedAt - MARGIN_MS, (record.finishedAt ?? madeAt) + MARGIN_MS]
    // The runners that ran its jobs and those alive meanwhile: one idle while jobs waited shows too.
    const alive = yield* store.runners(from, to)
    const runners = [...new Set([...jobs.flatMap((j) => (j.runner === undefined ? [] : [j.runner])), ...alive])].sort()
    const samples = yield* store.read(runners, from, to)
    return {
      id,
      startedAt: record.startedAt,
      ...(record.finishedAt === undefined ? {} : { finishedAt: record.finishedAt }),
      madeAt,
      jobs,
      runners: runners.map((name) => ({ name, samples: samples.get(name) ?? [] }))
    } satisfies ClusterPage
  })

/** `slicewise report ID --cluster URL`: the page's data from the cluster at `url`. */
export const clusterReportOf = (url: string, id: string) => clusterReport(id).pipe(Effect.provide(sqlLayer(url)))
