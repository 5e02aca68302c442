/**
 * Creating the cluster's tables, one process at a time. PostgreSQL's `CREATE TABLE IF NOT EXISTS`
 * is not safe when two sessions run it at once (one may fail on a duplicate catalog entry), and
 * runners are typically started together — by hand, by a Slurm array, by a test. So a process
 * creates its tables (slicewise's, and @effect/cluster's as its layers are built) while holding a
 * session-level advisory lock; the others wait for it and then find every table there.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { makePipelineRecords } from "./pipelines.js"
import { makeJobQueue } from "./queue.js"
import { makeSampleStore } from "./samples.js"

/** The lock's two-key form: apart from @effect/cluster's shard locks, which use one bigint key. */
const LOCK_KEYS = "1936484727, 1"

/** Runs `effect` while this process holds the cluster's schema lock (waiting for it first). */
export const underSchemaLock = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | SqlError, R | SqlClient.SqlClient> =>
  Effect.scoped(
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      // A session lock belongs to one connection: the pool's others would not hold it.
      const connection = yield* sql.reserve
      yield* connection.executeRaw(`SELECT pg_advisory_lock(${LOCK_KEYS})`, [])
      yield* Effect.addFinalizer(() => Effect.ignore(connection.executeRaw(`SELECT pg_advisory_unlock(${LOCK_KEYS})`, [])))
      return yield* effect
    })
  )

const makeTables = Effect.all([makeJobQueue(), makePipelineRecords, makeSampleStore], { discard: true })

/** slicewise's own tables (the job queue, the runners, the pipelines, the samples), made if missing. */
export const ensureTables: Effect.Effect<void, SqlError, SqlClient.SqlClient> = underSchemaLock(makeTables)

/**
 * `layer` built under the schema lock, with slicewise's tables made first: two processes starting
 * at once build their storage one after the other. `lockLayer` provides the connection that holds
 * the lock (closed once the layer is built).
 */
export const builtUnderSchemaLock = <A, E, R>(
  layer: Layer.Layer<A, E, R>,
  lockLayer: Layer.Layer<SqlClient.SqlClient, SqlError>
): Layer.Layer<A, E | SqlError, R> =>
  Layer.scopedContext(
    Effect.flatMap(Effect.scope, (scope) =>
      underSchemaLock(Effect.zipRight(makeTables, Layer.buildWithScope(layer, scope))).pipe(Effect.provide(lockLayer))
    )
  )
