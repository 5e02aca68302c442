/**
 * The checkpoints of a resumable run (`--resume`, docs/RESUME.md), planned without reading a voxel:
 * how often the run checkpoints, what each checkpoint writes (the journal, replaced whole; no
 * stage state yet), and from where each pass restarts after an interruption. `slicewise plan` and
 * `slicewise cost` print it with `--resume`; the run interpreter checkpoints at this interval.
 *
 * @example
 * ```ts
 * const c = checkpointPlan(plan)
 * c.interval                 // 16: a checkpoint every 16 ticks of a pass, and at each pass's end
 * c.journalBytesWritten      // what all checkpoints write, in total
 * c.passes[1]!.restart       // "checkpoint" (windows) or "start" (a sweep, or a reduction's fold)
 * ```
 */
import { sliceBytes } from "../../algebra/volume.js"
import { formatBytes } from "../../util/units.js"
import type { PassPlan, Plan } from "./types.js"

export interface PassCheckpoints {
  readonly index: number
  /** "checkpoint": restarts at its last checkpoint (refilling its rings); "start": at its first tick. */
  readonly restart: "checkpoint" | "start"
  /** Why a pass restarts at its start. */
  readonly why?: string
}

export interface CheckpointPlan {
  /** Ticks between checkpoints within a pass (each pass also checkpoints when it ends). */
  readonly interval: number
  /** Checkpoints over the whole run. */
  readonly checkpoints: number
  /** The largest journal (the last), and the journal bytes all checkpoints write, estimated. */
  readonly journalBytes: number
  readonly journalBytesWritten: number
  /** Bytes of stage state each checkpoint saves: none yet (sweeps and folds restart their pass). */
  readonly stateBytes: number
  readonly passes: ReadonlyArray<PassCheckpoints>
}

/**
 * Ticks between checkpoints: about every 8 MiB that the plan's writes put on disk, at least every
 * 16 ticks. A checkpoint costs an fdatasync per write and a journal replaced durably (a few ms); a
 * kill loses at most one interval of work, plus the rings' refill.
 */
export const checkpointInterval = (plan: Plan): number => {
  let perTick = 0
  for (const n of plan.graph.nodes) if (n.kind === "write") perTick += sliceBytes(n.input.info)
  return Math.max(1, Math.min(16, Math.ceil((8 * 2 ** 20) / Math.max(1, perTick))))
}

/** Why `pass` cannot restart at a checkpoint (its state is not saved yet), or undefined. */
export const statefulReason = (pass: PassPlan): string | undefined => {
  const sweep = pass.stages.find((s) => s.node.kind === "window" && s.node.direction !== undefined)
  if (sweep !== undefined) return `sweep ${sweep.node.label}`
  const fold = pass.roots.find((r) => r.kind === "reduce")
  return fold === undefined ? undefined : `reduction ${fold.label}`
}

/** A journal's bytes besides its checksums (format, identity, plan fingerprint, names), roughly. */
const JOURNAL_BASE_BYTES = 1024
/** Bytes per journaled slice: a CRC-32 in decimal and a comma. */
const CHECKSUM_BYTES = 11

/** The checkpoints of `plan` at `interval` ticks (default `checkpointInterval(plan)`). */
export const checkpointPlan = (plan: Plan, interval: number = checkpointInterval(plan)): CheckpointPlan => {
  let checkpoints = 1 // the first, when the writers are created
  let journalBytesWritten = JOURNAL_BASE_BYTES
  let slicesBefore = 0
  for (const pass of plan.passes) {
    const writes = pass.roots.filter((r) => r.kind === "write")
    for (let t = interval; t < pass.ticks + interval; t += interval) {
      const tick = Math.min(t, pass.ticks)
      let done = 0
      for (const w of writes) done += Math.max(0, Math.min(w.input.info.shape[0], tick - pass.rootLatency.get(w)!))
      checkpoints++
      journalBytesWritten += JOURNAL_BASE_BYTES + CHECKSUM_BYTES * (slicesBefore + done)
    }
    for (const w of writes) slicesBefore += w.input.info.shape[0]
  }
  return {
    interval,
    checkpoints,
    journalBytes: JOURNAL_BASE_BYTES + CHECKSUM_BYTES * slicesBefore,
    journalBytesWritten,
    stateBytes: 0,
    passes: plan.passes.map((p) => {
      const why = statefulReason(p)
      return why === undefined ? { index: p.index, restart: "checkpoint" as const } : { index: p.index, restart: "start" as const, why }
    })
  }
}

/**
 * `c` as lines of text.
 *
 * @example
 * ```ts
 * checkpointText(checkpointPlan(plan))
 * // "resume: a checkpoint every 16 ticks (19 in all), journal up to 2.38 KiB, 26.5 KiB written in all, no stage state
 * //  interrupted in pass 1/2: from its start (reduction integer-histogram); pass 2/2: from its last checkpoint"
 * ```
 */
export const checkpointText = (c: CheckpointPlan): string =>
  `resume: a checkpoint every ${c.interval} ticks (${c.checkpoints} in all), journal up to ${formatBytes(c.journalBytes)}, ` +
  `${formatBytes(c.journalBytesWritten)} written in all, no stage state\ninterrupted in ` +
  c.passes
    .map((p) => `pass ${p.index + 1}/${c.passes.length}: ${p.restart === "start" ? `from its start (${p.why})` : "from its last checkpoint"}`)
    .join("; ")
