/**
 * `slicewise report ID --cluster URL [--out page.html]`: the page of one pipeline run on a cluster
 * (src/cluster/report.ts reads it, src/profile/cluster-html.ts renders it); by default `ID.html`.
 * Loaded lazily by main.ts, and it loads the cluster modules (@effect/cluster's PostgreSQL client)
 * only when it runs, as the other cluster commands do.
 *
 * @example
 * ```sh
 * slicewise report 3f2a9c0d1e7b4a55 --cluster postgres://db/slicewise --out page.html
 * ```
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as fs from "node:fs"
import { fileError } from "../algebra/io-errors.js"
import { clusterHtml } from "../profile/cluster-html.js"

export const runClusterReportCommand = (a: { readonly id: string; readonly cluster: string; readonly out: Option.Option<string> }) =>
  Effect.gen(function* () {
    const { clusterReportOf } = yield* Effect.promise(() => import("../cluster/report.js"))
    const data = yield* clusterReportOf(a.cluster, a.id)
    const out = Option.getOrElse(a.out, () => `${a.id}.html`)
    yield* Effect.try({
      try: () => fs.writeFileSync(out, clusterHtml(data)),
      catch: (e) => fileError(out, "write", e)
    })
    yield* Effect.sync(() => process.stdout.write(`wrote ${out}\n`))
  })
