/**
 * Dice scores of the segmentation bench, with the library's `dice` reduction run by the streaming
 * runner (as examples/multi-atlas/run.ts scores): per target, the fused labels and every single
 * atlas's warped labels against the target's true AAL (mean over the labels present, 0 excluded),
 * and, for reference, every atlas's labels as they are (unregistered).
 *
 *   const s = await scoreRun(subjects, "/tmp/seg/clean")   // reads fused/ and warped/ of that run
 *
 * Used by bench/segmentation/run.ts.
 */
import * as Effect from "effect/Effect"
import * as path from "node:path"
import { dice, openSource, Run } from "../../src/index.js"
import type { DiceResult, IntegerDType, Program, SliceSource } from "../../src/index.js"
import { distinctIds } from "../../src/jobs/segment.js"
import type { Subjects } from "./subjects.js"

/** Mean Dice of two label maps over the labels present (background excluded). */
export const meanDice = (a: string, b: string): Promise<number> =>
  Effect.runPromise(
    Effect.gen(function* () {
      const sa = (yield* openSource(a)) as SliceSource<IntegerDType>
      const sb = (yield* openSource(b)) as SliceSource<IntegerDType>
      const program: Program = (alg) => ({ d: dice(alg, alg.source(sa), alg.source(sb)) })
      return ((yield* Run.run(program)).scalars.d as DiceResult).mean
    })
  )

export interface TargetScore {
  readonly target: string
  readonly fused: number
  /** Per atlas, its warped labels. */
  readonly single: ReadonlyArray<number>
  /** Per atlas, its labels without registration. */
  readonly unregistered: ReadonlyArray<number>
}

/** The paths `slicewise segment` gives a run's outputs (src/jobs/segment.ts): fused and warped labels. */
export const outputsOf = (s: Subjects, dir: string) => {
  const targetIds = distinctIds(s.targets.map((t) => t.image))
  const atlasIds = distinctIds(s.atlases.map((a) => a.image))
  return targetIds.map((t) => ({
    target: t,
    fused: path.join(dir, "fused", `${t}-labels.nii.gz`),
    warped: atlasIds.map((a) => path.join(dir, "warped", `${a}-to-${t}-labels.nii.gz`)),
    transforms: atlasIds.map((a) => path.join(dir, "reg", `${a}-to-${t}`, "TransformParameters.0.txt"))
  }))
}

export const scoreRun = async (s: Subjects, dir: string): Promise<ReadonlyArray<TargetScore>> => {
  const scores: Array<TargetScore> = []
  for (const [k, o] of outputsOf(s, dir).entries()) {
    const truth = s.targets[k]!.truth
    const fused = await meanDice(o.fused, truth)
    const single: Array<number> = []
    for (const w of o.warped) single.push(await meanDice(w, truth))
    const unregistered: Array<number> = []
    for (const a of s.atlases) unregistered.push(await meanDice(a.labels, truth))
    console.error(`dice ${o.target}: fused ${fused.toFixed(4)}, single ${single.map((d) => d.toFixed(4)).join(" ")}, unregistered ${unregistered.map((d) => d.toFixed(4)).join(" ")}`)
    scores.push({ target: o.target, fused, single, unregistered })
  }
  return scores
}
