/**
 * The checkpoints of a resumable run (`--resume`, docs/RESUME.md), planned without reading a voxel:
 * how often the run checkpoints, what each checkpoint writes (the journal, replaced whole, and for
 * a pass with sweeps or folds their state and the slices its stateful stages hold), and from where
 * each pass restarts after an interruption. `slicewise plan` and `slicewise cost` print it with
 * `--resume`; the run interpreter checkpoints at this interval.
 *
 * @example
 * ```ts
 * const c = checkpointPlan(plan)
 * c.interval                 // 16: a checkpoint every 16 ticks of a pass, and at each pass's end
 * c.journalBytesWritten      // what all checkpoints write, in total
 * c.passes[1]!.restart       // "checkpoint", or "start" (a sweep or fold whose state cannot be saved)
 * ```
 */
import { sliceBytes } from "../../algebra/volume.js"
import { formatBytes } from "../../util/units.js"
import type { Node } from "./graph.js"
import type { PassPlan, Plan } from "./types.js"

export interface PassCheckpoints {
  readonly index: number
  /** "checkpoint": restarts at its last checkpoint (refilling its rings); "start": at its first tick. */
  readonly restart: "checkpoint" | "start"
  /** Why a pass restarts at its start. */
  readonly why?: string
  /** Bytes of state each of its checkpoints saves (0: a pass of windows, which refill from the sources). */
  readonly stateBytes: number
}

export interface CheckpointPlan {
  /** Ticks between checkpoints within a pass (each pass also checkpoints when it ends). */
  readonly interval: number
  /** Checkpoints over the whole run. */
  readonly checkpoints: number
  /** The largest journal (the last), and the journal bytes all checkpoints write, estimated. */
  readonly journalBytes: number
  readonly journalBytesWritten: number
  /** The most state bytes one checkpoint saves, and the state bytes all checkpoints write (estimated where state grows). */
  readonly stateBytes: number
  readonly stateBytesWritten: number
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

/** True for a sweep: a window whose kernel carries state from slice to slice. */
const isSweep = (n: Node): boolean => n.kind === "window" && n.direction !== undefined

/**
 * The stages of `pass` whose slices a checkpoint saves: its sweeps and every stage downstream of
 * them. A sweep's state only reproduces its later slices, so what it and the stages after it hold
 * at a checkpoint cannot be read again from the sources, as the other stages' slices are.
 */
export const heldStages = (pass: PassPlan): ReadonlySet<Node> => {
  const held = new Set<Node>()
  for (const { node } of pass.stages) {
    const inputs = node.kind === "window" ? [node.input] : node.kind === "pointwise" ? node.inputs : []
    if (isSweep(node) || inputs.some((i) => held.has(i))) held.add(node)
  }
  return held
}

/** True when `pass` has state to save at a checkpoint: a sweep or a fold. */
export const hasPassState = (pass: PassPlan): boolean => pass.stages.some((s) => isSweep(s.node)) || pass.roots.some((r) => r.kind === "reduce")

/**
 * Why `pass` cannot restart at a checkpoint: a sweep or a fold whose state cannot be saved (its
 * kernel or reducer declares no `stateBytes`); undefined when it can.
 */
export const statefulReason = (pass: PassPlan): string | undefined => {
  for (const { node } of pass.stages) {
    if (node.kind === "window" && isSweep(node) && node.kernel.stateBytes === undefined) return `sweep ${node.label}, whose state cannot be saved`
  }
  for (const r of pass.roots) {
    if (r.kind === "reduce" && r.reducer.stateBytes === undefined) return `reduction ${r.label}, whose state cannot be saved`
  }
  return undefined
}

/** Whether checkpoints of `pass` save state: it has sweeps or folds, and each can save its state. */
export const savesState = (pass: PassPlan): boolean => hasPassState(pass) && statefulReason(pass) === undefined

/** The bytes a checkpoint of `pass` saves: its sweeps' and folds' state, and its held stages' rings. */
export const passStateBytes = (pass: PassPlan): number => {
  if (!savesState(pass)) return 0
  const held = heldStages(pass)
  let bytes = 0
  for (const sp of pass.stages) {
    const n = sp.node
    if (!held.has(n)) continue
    bytes += sp.ringSlices * sliceBytes(n.info)
    if (n.kind === "window" && isSweep(n)) bytes += n.kernel.stateBytes!(n.input.info)
  }
  for (const r of pass.roots) if (r.kind === "reduce") bytes += r.reducer.stateBytes!(r.input.info)
  return bytes
}

/** A journal's bytes besides its checksums (format, identity, plan fingerprint, names), roughly. */
const JOURNAL_BASE_BYTES = 1024
/** Bytes per journaled slice: a CRC-32 in decimal and a comma. */
const CHECKSUM_BYTES = 11

/** The checkpoints of `plan` at `interval` ticks (default `checkpointInterval(plan)`). */
export const checkpointPlan = (plan: Plan, interval: number = checkpointInterval(plan)): CheckpointPlan => {
  let checkpoints = 1 // the first, when the writers are created
  let journalBytesWritten = JOURNAL_BASE_BYTES
  let stateBytesWritten = 0
  let slicesBefore = 0
  for (const pass of plan.passes) {
    const writes = pass.roots.filter((r) => r.kind === "write")
    const state = passStateBytes(pass)
    for (let t = interval; t < pass.ticks + interval; t += interval) {
      const tick = Math.min(t, pass.ticks)
      let done = 0
      for (const w of writes) done += Math.max(0, Math.min(w.input.info.shape[0], tick - pass.rootLatency.get(w)!))
      checkpoints++
      journalBytesWritten += JOURNAL_BASE_BYTES + CHECKSUM_BYTES * (slicesBefore + done)
      // The checkpoint at the pass's end saves no state: the pass is done.
      if (tick < pass.ticks) stateBytesWritten += state
    }
    for (const w of writes) slicesBefore += w.input.info.shape[0]
  }
  return {
    interval,
    checkpoints,
    journalBytes: JOURNAL_BASE_BYTES + CHECKSUM_BYTES * slicesBefore,
    journalBytesWritten,
    stateBytes: Math.max(0, ...plan.passes.map(passStateBytes)),
    stateBytesWritten,
    passes: plan.passes.map((p) => {
      const why = statefulReason(p)
      const stateBytes = passStateBytes(p)
      return why === undefined ? { index: p.index, restart: "checkpoint" as const, stateBytes } : { index: p.index, restart: "start" as const, why, stateBytes }
    })
  }
}

/**
 * `c` as lines of text.
 *
 * @example
 * ```ts
 * checkpointText(checkpointPlan(plan))
 * // "resume: a checkpoint every 16 ticks (19 in all), journal up to 2.38 KiB, 26.5 KiB written in all; state up to 128 KiB a checkpoint, 1.00 MiB in all
 * //  interrupted in pass 1/2: from its last checkpoint (128 KiB of state); pass 2/2: from its last checkpoint"
 * ```
 */
export const checkpointText = (c: CheckpointPlan): string =>
  `resume: a checkpoint every ${c.interval} ticks (${c.checkpoints} in all), journal up to ${formatBytes(c.journalBytes)}, ` +
  `${formatBytes(c.journalBytesWritten)} written in all; ` +
  (c.stateBytes === 0 ? "no stage state" : `state up to ${formatBytes(c.stateBytes)} a checkpoint, ${formatBytes(c.stateBytesWritten)} in all`) +
  "\ninterrupted in " +
  c.passes
    .map(
      (p) =>
        `pass ${p.index + 1}/${c.passes.length}: ` +
        (p.restart === "start" ? `from its start (${p.why})` : `from its last checkpoint${p.stateBytes > 0 ? ` (${formatBytes(p.stateBytes)} of state)` : ""}`)
    )
    .join("; ")
