/**
 * The cluster's layers: PostgreSQL (@effect/sql-pg) for everything durable — runners and shard
 * locks, messages, workflow state, the job queue — and @effect/cluster's socket runners, which
 * find each other through it and talk over TCP. A runner hosts the pipeline workflow; a submitting
 * client joins as a client only.
 *
 * @example
 * ```ts
 * Effect.provide(runner, runnerLayer({ url: "postgres://db/slicewise", listen: { host: "10.0.0.5", port: 34431 } }))
 * Effect.provide(submit, clientLayer({ url: "postgres://db/slicewise" }))
 * ```
 */
import * as RunnerAddress from "@effect/cluster/RunnerAddress"
import * as ClusterWorkflowEngine from "@effect/cluster/ClusterWorkflowEngine"
import { NodeClusterSocket } from "@effect/platform-node"
import { PgClient } from "@effect/sql-pg"
import * as Duration from "effect/Duration"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { PipelineLive } from "./pipeline.js"
import { pipelineRecordsLayer } from "./pipelines.js"
import { jobQueueLayer } from "./queue.js"
import { builtUnderSchemaLock } from "./schema.js"

export interface ClusterOptions {
  /** postgres://user@host:port/database */
  readonly url: string
  /** Where this runner listens and is reached (absent: a client that hosts nothing). */
  readonly listen?: { readonly host: string; readonly port: number }
  /**
   * How long a dead runner's shards and jobs stay locked before others take them (default 10 s;
   * the queue's locks are refreshed every third of it).
   */
  readonly lockSeconds?: number
}

/** The cluster's PostgreSQL alone (for `status`). */
export const sqlLayer = (url: string) => PgClient.layer({ url: Redacted.make(url) })

const lockOf = (options: ClusterOptions) => options.lockSeconds ?? 10

const shardingConfig = (options: ClusterOptions) => ({
  ...(options.listen === undefined ? {} : { runnerAddress: Option.some(RunnerAddress.make(options.listen.host, options.listen.port)) }),
  shardLockExpiration: Duration.seconds(lockOf(options)),
  shardLockRefreshInterval: Duration.seconds(Math.max(1, Math.floor(lockOf(options) / 3)))
})

/** A runner: hosts the pipeline workflow and takes jobs from the queue; PostgreSQL included. */
export const runnerLayer = (options: ClusterOptions & { readonly listen: { readonly host: string; readonly port: number } }) => {
  const sockets = NodeClusterSocket.layer({ storage: "sql", serialization: "ndjson", shardingConfig: shardingConfig(options) })
  const engine = ClusterWorkflowEngine.layer.pipe(Layer.provideMerge(sockets))
  const queue = jobQueueLayer({ lockSeconds: lockOf(options) })
  const layer = PipelineLive.pipe(Layer.provideMerge(Layer.mergeAll(engine, queue, pipelineRecordsLayer)), Layer.provideMerge(sqlLayer(options.url)))
  return builtUnderSchemaLock(layer, sqlLayer(options.url))
}

/** A client (submit, status): reaches the workflow on the runners, hosts nothing. */
export const clientLayer = (options: ClusterOptions) => {
  const sockets = NodeClusterSocket.layer({ storage: "sql", serialization: "ndjson", clientOnly: true, shardingConfig: shardingConfig(options) })
  const layer = ClusterWorkflowEngine.layer.pipe(Layer.provideMerge(sockets), Layer.provideMerge(sqlLayer(options.url)))
  return builtUnderSchemaLock(layer, sqlLayer(options.url))
}
