/**
 * Everything one run of the segmentation bench measured, as written to OUT/results.json and
 * rendered into docs/CLUSTER.md by markdown.ts. Plain JSON data.
 *
 * Used by bench/segmentation/run.ts and markdown.ts.
 */
import type { Comparison } from "./compare.js"
import type { Machine } from "./machine.js"
import type { PhaseResult } from "./phase.js"
import type { TargetScore } from "./score.js"

export interface BenchOptions {
  readonly data: string
  readonly out: string
  readonly atlases: number
  readonly targets: number
  readonly seed: number
  /** make-subjects' --pose DEG,MM,PCT ("" for none: every subject in the template's position). */
  readonly pose: string
  readonly method: string
  readonly params: string
  /** Each runner's --memory in the clean, crash and placement runs… */
  readonly memory: string
  /** …and in the naive run (far more than the cgroup holds). */
  readonly naiveMemory: string
  /** The kernel's limit on each runner's cgroup in the naive and placement runs, bytes; null: from the clean run. */
  readonly limitBytes: number | null
  readonly phases: ReadonlyArray<string>
}

export interface BenchResults {
  readonly command: string
  readonly options: BenchOptions
  /** The limit the naive and placement runs had (options.limitBytes, or sized from the clean run). */
  readonly limitBytes: number | null
  readonly machine: Machine
  readonly startedAt: string
  readonly wallSeconds: number
  readonly loadStart: string
  readonly loadEnd: string
  /** How the subjects were made, and how long it took (null: reused). */
  readonly subjects: { readonly command: string; readonly seconds: number | null; readonly poses?: ReadonlyArray<string> }
  /** The `slicewise segment` command of the clean run. */
  readonly segment: string
  /** Each run by name: clean, crash-r1, crash-r2, naive, placement. */
  readonly phases: Readonly<Record<string, PhaseResult>>
  readonly dice?: ReadonlyArray<TargetScore>
  readonly comparisons: Readonly<Record<string, Comparison>>
}
