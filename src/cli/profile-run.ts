/**
 * `slicewise run --profile out.json`: runs while sampling the process, then writes the profile
 * (the run's stages and the time series). Loaded lazily by main.ts, only when --profile is given.
 *
 * @example
 * ```ts
 * const result = yield* profileRun(Run.run(program), { path: "run.profile.json", name: "out.tif" })
 * ```
 */
import * as Effect from "effect/Effect"
import type { RunResult } from "../interpreters/run/index.js"
import { recording, runProfile, writeProfile } from "../profile/index.js"

export const profileRun = <E, R>(run: Effect.Effect<RunResult, E, R>, where: { readonly path: string; readonly name: string; readonly output?: string }) =>
  Effect.gen(function* () {
    const baselineRssBytes = process.memoryUsage.rss()
    const { value, samples, startedAt } = yield* recording(run)
    yield* writeProfile(
      where.path,
      runProfile({ startedAt, samples, result: value, baselineRssBytes, name: where.name, ...(where.output === undefined ? {} : { output: where.output }) })
    )
    return value
  })
