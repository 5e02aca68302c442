/**
 * A cluster of runners (`slicewise/cluster`): pipelines of jobs spread over machines by memory, on
 * @effect/cluster and @effect/workflow with PostgreSQL (@effect/sql-pg) as the only shared state.
 * Each runner pulls the largest queued job that fits what its running jobs leave free of its
 * budget; a pipeline is a durable workflow that outlives the runner hosting it.
 *
 * This entry point needs packages the main one does not: @effect/cluster, @effect/workflow,
 * @effect/rpc, @effect/sql, @effect/sql-pg, @effect/experimental, @effect/platform and
 * @effect/platform-node, slicewise's optional peer dependencies (install the versions its
 * package.json names). `slicewise` and its other entry points never load them.
 *
 * What is here: running a runner (`runRunner`), submitting a pipeline (`submitPipeline`,
 * `pipelineOf`), the cluster's status (`clusterStatusOf`, `pipelineStatusOf`), the protocol
 * (`PipelinePayload`, `JobReport`, `pipelineId`), the layers for an application that composes its
 * own (`runnerLayer`, `clientLayer`, `sqlLayer`), and what runs a cluster in one process without a
 * database: the workflow (`SlicewisePipeline`, `PipelineLive`), workers (`runWorker`) and the
 * in-memory storage (`memoryStorageLayer`), with the storage contracts (`JobQueueService`,
 * `PipelineRecordsService`) for a storage of your own. What is not exported (the SQL of the
 * queue and of the records, job execution, prediction) is internal.
 *
 * @example
 * ```ts
 * import * as Effect from "effect/Effect"
 * import { runRunner, submitPipeline } from "slicewise/cluster"
 *
 * const url = "postgres://slicewise@db:5432/slicewise"
 * // On each machine: a runner with 8 GiB, reachable by the others on port 34431.
 * Effect.runFork(runRunner({ url, name: "node-1", listen: { host: "10.0.0.5", port: 34431 }, memoryBytes: 8 * 2 ** 30 }))
 * // Anywhere: submit a pipeline file and wait for every job's report.
 * const { reports } = await Effect.runPromise(submitPipeline("pipeline.json", { url, wait: true }))
 * ```
 *
 * @packageDocumentation
 */
import * as Layers from "./layers.js"
import * as MemoryStorage from "./memory-storage.js"
import * as Pipeline from "./pipeline.js"
import * as Protocol from "./protocol.js"
import * as Runner from "./runner.js"
import * as Worker from "./worker.js"

export type { ClusterOptions } from "./layers.js"
export type { MemoryQueueOptions } from "./memory-storage.js"
export { PipelineRecordsService } from "./pipelines.js"
export type { PipelineRecord, PipelineRecords } from "./pipelines.js"
export { JobReport, JobState, PipelinePayload, QueuedJob } from "./protocol.js"
export { JobQueueService } from "./queue.js"
export type { JobQueue, JobQueueOptions, TakenJob, WaitingJob } from "./queue.js"
export { JobTooLargeError } from "./runner.js"
export type { RunnerOptions } from "./runner.js"
export type { PipelineStatus, QueuedJobStatus, RunnerStatus } from "./status.js"
export type { WorkerOptions } from "./worker.js"

/**
 * Runs a runner until interrupted: it joins the cluster at `url`, listens at `listen` for the
 * other runners, hosts pipeline workflows, and runs queued jobs while their predicted peaks fit
 * its `memoryBytes` less its own measured RSS and a headroom. Fails with a `UsageError` when that
 * leaves nothing for jobs.
 *
 * @example
 * ```ts
 * yield* runRunner({
 *   url: "postgres://slicewise@db:5432/slicewise",
 *   name: "node-1",
 *   listen: { host: "10.0.0.5", port: 34431 },
 *   memoryBytes: 8 * 2 ** 30,
 *   onFinish: (report) => console.log(report.name, report.state, report.measuredBytes)
 * })
 * ```
 *
 * @function
 */
export const runRunner = Runner.runRunner

/**
 * Submits a pipeline file (the jobs file of `slicewise batch`) to the cluster at `url`. With
 * `wait: true` it follows the pipeline to its end and returns every job's report; without, it
 * returns once the pipeline is recorded (`reports` undefined). The pipeline's id is a hash of its
 * jobs: submitting the same file twice runs it once. A job that no runner alive can hold is
 * refused before anything is submitted (`JobTooLargeError`) when its inputs exist already.
 *
 * @example
 * ```ts
 * const { id, reports } = yield* submitPipeline("pipeline.json", { url, wait: true })
 * for (const r of reports ?? []) console.log(r.name, r.state, r.runner)
 * ```
 *
 * @function
 */
export const submitPipeline = Runner.submitPipeline

/**
 * The pipeline a jobs file describes, as the workflow takes it (`SlicewisePipeline.execute`):
 * its jobs with their names, dependencies and definitions (paths resolved), and its id.
 *
 * @example
 * ```ts
 * const payload = yield* pipelineOf("pipeline.json")
 * const reports = yield* SlicewisePipeline.execute(payload)
 * ```
 *
 * @function
 */
export const pipelineOf = Runner.pipelineOf

/**
 * The runners alive (their budgets and running jobs) and the pipelines with jobs in the queue,
 * read from the cluster's PostgreSQL: `slicewise status`.
 *
 * @example
 * ```ts
 * const { runners, pipelines } = yield* clusterStatusOf(url)
 * for (const r of runners) console.log(r.name, r.runningJobs, r.runningBytes, r.budgetBytes)
 * ```
 *
 * @function
 */
export const clusterStatusOf = Runner.clusterStatusOf

/**
 * The queued, running and finished jobs of one pipeline: `slicewise status ID`. Jobs still
 * waiting for those they come after are not queued yet, so not listed.
 *
 * @example
 * ```ts
 * const jobs = yield* pipelineStatusOf(url, id)
 * for (const j of jobs) console.log(j.name, j.state, j.runner ?? "", j.report?.wallMs)
 * ```
 *
 * @function
 */
export const pipelineStatusOf = Runner.pipelineStatusOf

/**
 * The id of a pipeline: a hash of its jobs (`PipelinePayload["jobs"]`), so that the same jobs
 * are the same workflow and submitting them twice runs them once.
 *
 * @example
 * ```ts
 * const jobs = [{ name: "copy", after: [], definition: { kind: "exec", command: ["cp", "{input0}", "{output0}"], inputs: ["a.tif"], outputs: ["b.tif"] } }]
 * const payload: PipelinePayload = { id: pipelineId(jobs), jobs }
 * ```
 *
 * @function
 */
export const pipelineId = Protocol.pipelineId

/**
 * A runner's layers, for an application that composes its own: PostgreSQL, @effect/cluster's
 * socket runner listening at `listen`, the workflow engine, the job queue, the pipeline records
 * and the pipeline workflow. Jobs run only where a worker (`runWorker`) runs; `runRunner` is this
 * layer with one worker.
 *
 * @example
 * ```ts
 * Effect.gen(function* () {
 *   yield* Effect.forkScoped(runWorker({ runner: "node-1", budgetBytes: 6 * 2 ** 30 }))
 *   return yield* Effect.never
 * }).pipe(Effect.scoped, Effect.provide(runnerLayer({ url, listen: { host: "10.0.0.5", port: 34431 } })))
 * ```
 *
 * @function
 */
export const runnerLayer = Layers.runnerLayer

/**
 * A client's layers: reaches the pipeline workflow on the runners and hosts nothing (what
 * `submitPipeline` uses).
 *
 * @example
 * ```ts
 * const reports = yield* SlicewisePipeline.execute(payload).pipe(Effect.provide(clientLayer({ url })))
 * ```
 *
 * @function
 */
export const clientLayer = Layers.clientLayer

/**
 * The cluster's PostgreSQL client alone (@effect/sql-pg), for reading its tables (what the status
 * functions use).
 *
 * @example
 * ```ts
 * const rows = yield* Effect.flatMap(SqlClient.SqlClient, (sql) => sql`SELECT 1`).pipe(Effect.provide(sqlLayer(url)))
 * ```
 *
 * @function
 */
export const sqlLayer = Layers.sqlLayer

/**
 * The pipeline workflow (@effect/workflow). `SlicewisePipeline.execute(payload)` runs a pipeline
 * and returns every job's report (`{ discard: true }`: returns once it has started). Each job,
 * once the jobs it comes after are done, is predicted, refused if no runner alive can hold it,
 * else queued; a worker with room runs it. A job after one that did not finish is `not-run`.
 *
 * @example
 * ```ts
 * const reports = yield* SlicewisePipeline.execute({ id: pipelineId(jobs), jobs })
 * ```
 */
export const SlicewisePipeline = Pipeline.SlicewisePipeline

/**
 * The pipeline workflow's implementation, for the workflow engine: it needs a `WorkflowEngine`,
 * a `JobQueueService` and a `PipelineRecordsService`. `runnerLayer` includes it on the cluster's
 * engine; a cluster in one process provides @effect/workflow's in-memory engine and
 * `memoryStorageLayer`.
 *
 * @example
 * ```ts
 * import * as WorkflowEngine from "@effect/workflow/WorkflowEngine"
 *
 * const oneProcess = PipelineLive.pipe(Layer.provideMerge(Layer.merge(WorkflowEngine.layerMemory, memoryStorageLayer())))
 * const reports = yield* Effect.gen(function* () {
 *   yield* Effect.forkScoped(runWorker({ runner: "local", budgetBytes: 2 * 2 ** 30 }))
 *   return yield* SlicewisePipeline.execute(payload)
 * }).pipe(Effect.scoped, Effect.provide(oneProcess))
 * ```
 */
export const PipelineLive = Pipeline.PipelineLive

/**
 * A worker: takes queued jobs (`JobQueueService`) while the sum of its running jobs' predicted
 * peaks stays within `budgetBytes`, the largest that fits first, runs each in this process (an
 * external command in its own process group) and reports it to the workflow. Runs until
 * interrupted. `runRunner` runs one; a cluster in one process may run several, each with its own
 * runner name and budget.
 *
 * @example
 * ```ts
 * yield* Effect.forkScoped(runWorker({ runner: "local-1", budgetBytes: 2 * 2 ** 30, onFinish: (r) => console.log(r.name, r.state) }))
 * ```
 *
 * @function
 */
export const runWorker = Worker.runWorker

/**
 * Storage in this process's memory with the PostgreSQL tables' semantics, as the layers the
 * workflow and the workers need: the job queue (`JobQueueService`: the largest waiting job that
 * fits first, locks that lapse) and the pipeline records (`PipelineRecordsService`). For a
 * cluster in one process, and tests.
 *
 * @example
 * ```ts
 * const layer = PipelineLive.pipe(Layer.provideMerge(Layer.merge(WorkflowEngine.layerMemory, memoryStorageLayer({ lockSeconds: 10 }))))
 * ```
 *
 * @function
 */
export const memoryStorageLayer = MemoryStorage.memoryStorageLayer

/**
 * A job queue in memory (`JobQueue`), with the PostgreSQL queue's semantics; `now` replaces the
 * clock, to make locks lapse in tests.
 *
 * @example
 * ```ts
 * const queue = makeMemoryJobQueue({ lockSeconds: 1 })
 * Layer.succeed(JobQueueService, queue)
 * ```
 *
 * @function
 */
export const makeMemoryJobQueue = MemoryStorage.makeMemoryJobQueue

/**
 * Pipeline records in memory (`PipelineRecords`): when each pipeline started and finished, and
 * its jobs' reports.
 *
 * @example
 * ```ts
 * const records = makeMemoryPipelineRecords()
 * Layer.succeed(PipelineRecordsService, records)
 * const record = yield* records.get(payload.id)   // Option of { jobs, startedAt, finishedAt, reports }
 * ```
 *
 * @function
 */
export const makeMemoryPipelineRecords = MemoryStorage.makeMemoryPipelineRecords
