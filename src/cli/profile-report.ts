/**
 * `slicewise report <profile.json> [--out report.html]`: checks a profile against its Schema and
 * writes the HTML page of it (src/profile/report-html.ts); by default next to the profile, with
 * `.html` for its extension. Loaded lazily by main.ts.
 *
 * @example
 * ```sh
 * slicewise batch jobs.json --memory 1GiB --profile batch.json && slicewise report batch.json
 * ```
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as fs from "node:fs"
import { fileError } from "../algebra/io-errors.js"
import { readProfile } from "../profile/index.js"
import { reportHtml } from "../profile/report-html.js"

/** Where the page goes when no --out is given: run.profile.json → run.profile.html. */
export const defaultReportPath = (profilePath: string): string => profilePath.replace(/(\.json)?$/i, ".html")

export const runReportCommand = (a: { readonly profile: string; readonly out: Option.Option<string> }) =>
  Effect.gen(function* () {
    const profile = yield* readProfile(a.profile)
    const out = Option.getOrElse(a.out, () => defaultReportPath(a.profile))
    yield* Effect.try({
      try: () => fs.writeFileSync(out, reportHtml(profile)),
      catch: (e) => fileError(out, "write", e)
    })
    yield* Effect.sync(() => process.stdout.write(`wrote ${out}\n`))
  })
