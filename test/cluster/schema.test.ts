/**
 * Runners started together on an empty database (a Slurm array, a script starting one per host):
 * PostgreSQL's `CREATE TABLE IF NOT EXISTS` fails in one of two sessions running it at once, so
 * the tables are made under one advisory lock (src/cluster/schema.ts). Here several clients,
 * each with its own connection pool as separate processes have, make the tables at once on fresh
 * databases: slicewise's own (`ensureTables`) and, building `clientLayer`, @effect/cluster's.
 * Without the lock about one in four such clients failed ("Failed to execute statement").
 */
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { clientLayer, sqlLayer } from "../../src/cluster/layers.js"
import { ensureTables } from "../../src/cluster/schema.js"
import { startPostgres, type Postgres } from "../support/postgres.js"

let pg: Postgres
beforeAll(async () => {
  pg = await startPostgres()
}, 60_000)
afterAll(() => pg?.stop())

/** A new, empty database on the server; its URL. */
const freshDatabase = async (name: string) => {
  await Effect.runPromise(Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe(`CREATE DATABASE ${name}`)).pipe(Effect.provide(sqlLayer(pg.url))))
  return pg.url.replace(/\/postgres$/, `/${name}`)
}

const failures = (results: ReadonlyArray<PromiseSettledResult<unknown>>) =>
  results.flatMap((r) => (r.status === "rejected" ? [String(r.reason).split("\n")[0]] : []))

describe("tables made by many processes at once", () => {
  it("slicewise's tables: six clients at once on each of five empty databases all succeed", async () => {
    for (let round = 0; round < 5; round++) {
      const url = await freshDatabase(`own_${round}`)
      const results = await Promise.allSettled(Array.from({ length: 6 }, () => Effect.runPromise(ensureTables.pipe(Effect.provide(sqlLayer(url))))))
      expect(failures(results), `round ${round}`).toEqual([])
    }
  }, 120_000)

  it("the cluster's storage too: four clients joining an empty database at once all start", async () => {
    for (let round = 0; round < 3; round++) {
      const url = await freshDatabase(`cluster_${round}`)
      const join = Effect.scoped(Effect.asVoid(Layer.build(clientLayer({ url }))))
      const results = await Promise.allSettled(Array.from({ length: 4 }, () => Effect.runPromise(join)))
      expect(failures(results), `round ${round}`).toEqual([])
    }
  }, 120_000)
})
