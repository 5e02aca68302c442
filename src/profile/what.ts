/**
 * What a profile records of what was run: the command line and the versions of slicewise, Node and
 * Effect that ran it, and a job's plan as its stages (each with the stages it reads and its window
 * along z), for the report's "what was run" and its graph of the plan.
 *
 * @example
 * ```ts
 * const profile = { ...runProfile(…), what: whatWasRun() }
 * const stages = planStages(result.plan)   // [{ pass: 0, id: 1, kind: "window", label: "median", inputs: [0], reachZ: 1, … }]
 * ```
 */
import { createRequire } from "node:module"
import { planJson, type Plan } from "../interpreters/plan/index.js"
import type { PlanStage, WhatWasRun } from "./schema.js"

const require = createRequire(import.meta.url)

/** A package's version, "unknown" where its package.json cannot be read. */
const versionOf = (read: () => { readonly version?: unknown }): string => {
  try {
    const v = read().version
    return typeof v === "string" ? v : "unknown"
  } catch {
    return "unknown"
  }
}

/** This process's command line (after node and the script) and the versions running it. */
export const whatWasRun = (): WhatWasRun => ({
  argv: process.argv.slice(2),
  versions: {
    // Literal paths: a bundler resolves them when it builds, Node when it runs the sources or dist/.
    slicewise: versionOf(() => require("../../package.json")),
    node: process.version,
    effect: versionOf(() => require("effect/package.json"))
  }
})

/** The stages of every pass of a plan, with their inputs and their reach along z. */
export const planStages = (plan: Plan): Array<PlanStage> =>
  planJson(plan).passes.flatMap((pass) =>
    pass.stages.map((s) => ({ pass: pass.index, id: s.id, kind: s.kind, label: s.label, inputs: [...s.inputs], reachZ: s.reachZ, ringSlices: s.ringSlices }))
  )
