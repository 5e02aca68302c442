/**
 * Resumable runs (docs/RESUME.md): what the harness needs to journal a run and to continue one
 * that was interrupted.
 *
 * - `notResumable`: why a plan cannot be journaled (a sink that cannot reopen its temporaries, a
 *   pass in bands of rows), or undefined.
 * - `planFingerprint`: what must not change between the interrupted run and the resumed one.
 * - `restartPoint`: where a pass restarts. A pass of windows (no sweep, no reduction) restarts at
 *   the tick that refills its rings for the first slice it has not written: each stage computes
 *   only the steps whose inputs it has (`validFrom`), and each write skips the steps it wrote. A
 *   pass with a sweep or a reduction restarts at its first tick (their state is not checkpointed
 *   yet), writing only what it has not written.
 * - `RunJournal`: the run's journal as it runs: the writers, the slices each has written and their
 *   checksums, the checkpoints (writers flushed, then the journal replaced).
 *
 * @example
 * ```ts
 * const point = restartPoint(pass, (w) => journal.doneOf(w))
 * point.startTick            // 37: slices 37 … 39 refill the rings for slice 40
 * point.validFrom.get(node)  // the first step of `node` the resumed pass computes
 * ```
 */
import * as Effect from "effect/Effect"
import type { DType } from "../../algebra/dtype.js"
import type { Direction } from "../../algebra/kernel.js"
import { allocSlice } from "../../algebra/dtype.js"
import { sliceLength } from "../../algebra/volume.js"
import { checkpointInterval, statefulReason } from "../plan/checkpoints.js"
import type { ResumableWriter } from "../../algebra/slices.js"
import type { FileError, FormatError, IoError } from "../../algebra/io-errors.js"
import { sliceChecksum } from "../../io/checksum.js"
import { journalMismatch, readJournal, writeJournal, type Journal, type JournalScalar, type JournalWrite, type RunIdentity } from "../../io/journal.js"
import type { Node, ReduceNode, WriteNode } from "../plan/graph.js"
import { decodeValue, encodeValue } from "../../util/json-value.js"
import type { PassPlan, Plan } from "../plan/types.js"

/** How a run is journaled: `RunOptions.resume`. */
export interface ResumeOptions {
  /** The journal's path (`journalName(output)`). */
  readonly journal: string
  /** What the run is; a journal of another identity is refused. */
  readonly identity: RunIdentity
  /** Ticks between checkpoints; by default `checkpointInterval(plan)`. */
  readonly interval?: number
}

/** Where a pass (re)starts, and what a resumed pass skips. */
export interface RestartPoint {
  /** The first tick the pass runs (0: from the start). */
  readonly startTick: number
  /** The first step each stage computes; absent: every step. */
  readonly validFrom: ReadonlyMap<Node, number>
  /** The first step each write writes (the steps before are in its temporary, verified). */
  readonly writeFrom: ReadonlyMap<WriteNode, number>
}

/** What a resumed run did again, for its report. */
export interface ResumeReport {
  /** The first pass that had work left, and the first slice (step) it wrote. */
  readonly pass: number
  readonly slice: number
  /** Slices verified by their checksums and kept, over every write. */
  readonly verified: number
  /** Source slices read again before new output: ring refills, and passes re-run for their reductions. */
  readonly redone: number
}

/** Why `plan` cannot be journaled (the path concerned, and the reason), or undefined when it can. */
export const notResumable = (plan: Plan): { readonly path: string; readonly detail: string } | undefined => {
  for (const n of plan.graph.nodes) {
    if (n.kind === "write" && n.sink.resumable === undefined) {
      return { path: n.sink.path, detail: `--resume: a ${n.sink.format} output cannot be resumed yet (raw NRRD and uncompressed TIFF stacks can)` }
    }
  }
  for (const p of plan.passes) {
    if (p.bands !== undefined) return { path: plan.graph.nodes.find((n) => n.kind === "write")?.sink.path ?? "", detail: `--resume: pass ${p.index + 1} runs in bands of rows, which cannot be resumed yet (a larger --memory avoids the bands)` }
  }
  return undefined
}

/**
 * A fingerprint of what a resumed run must share with the interrupted one: each pass's direction
 * and ticks, its stages (kind, label, latency, ring) and roots. Two runs of one program under
 * different budgets may plan differently, and their journals then do not fit each other.
 */
export const planFingerprint = (plan: Plan): string =>
  JSON.stringify(
    plan.passes.map((p) => [
      p.direction,
      p.ticks,
      p.stages.map((s) => [s.node.id, s.node.kind, s.node.label, s.latency, s.ringSlices]),
      p.roots.map((r) => [r.id, r.kind, r.label])
    ])
  )

/** True when the pass keeps state across slices (a sweep, or a reduction), not checkpointed yet. */
const stateful = (pass: PassPlan): boolean => statefulReason(pass) !== undefined

/** The first step of each stage that a pass started at tick `t0` computes from inputs it has. */
const validSteps = (pass: PassPlan, t0: number): Map<Node, number> => {
  const valid = new Map<Node, number>()
  for (const sp of pass.stages) {
    const n = sp.node
    const depth = n.info.shape[0]
    let v = 0
    if (n.kind === "source") v = t0
    else if (n.kind === "pointwise") for (const i of n.inputs) v = Math.max(v, valid.get(i)!)
    else if (n.kind === "window") {
      // The first output step from which on every step reads only input steps ≥ the input's first.
      const need = valid.get(n.input)!
      const suffixMin = sp.steps!.suffixMin
      let lo = 0
      let hi = depth
      while (lo < hi) {
        const mid = (lo + hi) >> 1
        if (suffixMin[mid]! >= need) hi = mid
        else lo = mid + 1
      }
      v = lo
    }
    valid.set(n, Math.min(v, depth))
  }
  return valid
}

/**
 * Where `pass` restarts when each of its writes has `doneOf(w)` steps written: the latest tick
 * whose ring refill still gives every write its first unwritten step (0 for a stateful pass).
 */
export const restartPoint = (pass: PassPlan, doneOf: (w: WriteNode) => number): RestartPoint => {
  const writes = pass.roots.filter((r): r is WriteNode => r.kind === "write")
  const writeFrom = new Map(writes.map((w) => [w, doneOf(w)] as const))
  const open = writes.filter((w) => writeFrom.get(w)! < w.input.info.shape[0])
  const first = open.length === 0 ? 0 : Math.min(...open.map((w) => writeFrom.get(w)!))
  if (stateful(pass) || first === 0) return { startTick: 0, validFrom: new Map(), writeFrom }
  for (let t0 = first; t0 > 0; t0--) {
    const valid = validSteps(pass, t0)
    if (open.every((w) => valid.get(w.input)! <= writeFrom.get(w)!)) return { startTick: t0, validFrom: valid, writeFrom }
  }
  return { startTick: 0, validFrom: new Map(), writeFrom }
}

/**
 * A pass needs running when a write has steps left, or when it reduces and the journal does not
 * hold that scalar (later passes need it).
 */
export const passHasWork = (pass: PassPlan, journal: Pick<RunJournal, "doneOf" | "hasScalar">): boolean =>
  pass.roots.some((r) => (r.kind === "reduce" ? !journal.hasScalar(r) : journal.doneOf(r) < r.input.info.shape[0]))

/** One write's progress: done steps and their checksums, and what the last checkpoint recorded. */
interface WriteProgress {
  readonly node: WriteNode
  readonly writer: ResumableWriter<DType>
  readonly checksums: Array<number>
  synced: number
}

/**
 * The journal of a running resumable run: creates (or reopens and verifies) the writers, records
 * each slice written with its checksum, and checkpoints.
 */
export class RunJournal {
  private readonly progress = new Map<WriteNode, WriteProgress>()
  /** Finished reductions' values, encoded (util/json-value.ts), by reduce node id. */
  private readonly scalars = new Map<number, JournalScalar>()
  private sinceCheckpoint = 0
  /** Slices kept from the interrupted run (verified by their checksums), over every write. */
  verifiedSlices = 0

  private constructor(
    private readonly options: ResumeOptions,
    private readonly fingerprint: string,
    readonly interval: number,
    /** The journal found at start, when resuming. */
    readonly previous: Journal | undefined
  ) {
    for (const j of previous?.scalars ?? []) this.scalars.set(j.node, j)
  }

  /** True when the journal holds the value of reduction `r` (from a finished pass). */
  hasScalar = (r: ReduceNode): boolean => this.scalars.get(r.id)?.label === r.label

  /** The value of reduction `r` the journal holds (`hasScalar`). */
  scalarOf(r: ReduceNode): unknown {
    return decodeValue(this.scalars.get(r.id)!.value)
  }

  /**
   * Records the value of reduction `r` (its pass has finished), for the next checkpoint. A value
   * that cannot be encoded, or is over 4 MiB encoded, is not recorded: a resumed run folds again.
   */
  recordScalar(r: ReduceNode, value: unknown): void {
    const encoded = encodeValue(value)
    if (encoded === undefined || JSON.stringify(encoded).length > 4 * 2 ** 20) return
    this.scalars.set(r.id, { node: r.id, label: r.label, value: encoded })
  }

  /**
   * Reads the journal at `options.journal`, if any (refusing one that does not match this run),
   * and makes the run's journal.
   */
  static open(plan: Plan, options: ResumeOptions): Effect.Effect<RunJournal, FileError | FormatError> {
    const fingerprint = planFingerprint(plan)
    return Effect.gen(function* () {
      const previous = yield* readJournal(options.journal)
      if (previous !== undefined) {
        const mismatch = journalMismatch(options.journal, previous, options.identity, fingerprint)
        if (mismatch !== undefined) return yield* mismatch
      }
      const interval = options.interval ?? checkpointInterval(plan)
      return new RunJournal(options, fingerprint, interval, previous)
    })
  }

  /** The journal's entry for write node `w` in the interrupted run, if any. */
  private entryOf(w: WriteNode): JournalWrite | undefined {
    return this.previous?.writes.find((e) => e.node === w.id && e.label === w.label)
  }

  /**
   * The writer of `w`: over its interrupted temporaries when the journal names them and they are
   * still there (then its journaled slices are read back and kept up to the first whose checksum
   * differs), else over fresh ones.
   */
  createWriter(w: WriteNode, direction: Direction, keep: () => boolean) {
    const self = this
    return Effect.gen(function* () {
      const sink = w.sink.resumable!
      const entry = self.entryOf(w)
      let writer: ResumableWriter<DType>
      let checksums: Array<number> = []
      if (entry === undefined) writer = yield* sink.create(w.input.info, undefined, keep)
      else {
        const reopened = yield* Effect.either(sink.create(w.input.info, entry.temporaries, keep))
        if (reopened._tag === "Left") {
          const e: IoError = reopened.left
          if (e._tag !== "FileError" || e.code !== "ENOENT") return yield* Effect.fail(e)
          writer = yield* sink.create(w.input.info, undefined, keep)
        } else {
          writer = reopened.right
          checksums = yield* verified(w, direction, writer, entry)
        }
      }
      self.progress.set(w, { node: w, writer, checksums, synced: checksums.length })
      self.verifiedSlices += checksums.length
      return writer
    })
  }

  /** The temporaries of every write (outputs and spills). */
  get temporaries(): Array<string> {
    return [...this.progress.values()].flatMap((p) => p.writer.temporaries)
  }

  /** Steps of `w` written (and, up to the last checkpoint, flushed). */
  doneOf = (w: WriteNode): number => this.progress.get(w)?.checksums.length ?? 0

  /** Records step `s` of `w` as written, with the checksum of its data. */
  written(w: WriteNode, s: number, checksum: number): void {
    const p = this.progress.get(w)!
    if (s !== p.checksums.length) throw new Error(`internal: ${w.label} wrote step ${s} after ${p.checksums.length} steps`)
    p.checksums.push(checksum)
  }

  /** After a tick: a checkpoint every `interval` ticks. */
  tick(): Effect.Effect<void, FileError | IoError> {
    this.sinceCheckpoint++
    return this.sinceCheckpoint >= this.interval ? this.checkpoint : Effect.void
  }

  /** Flushes every writer that wrote since the last checkpoint, then replaces the journal. */
  get checkpoint(): Effect.Effect<void, FileError | IoError> {
    return Effect.suspend(() => {
      this.sinceCheckpoint = 0
      const counts = new Map<WriteNode, number>()
      const syncs: Array<Effect.Effect<void, IoError>> = []
      for (const p of this.progress.values()) {
        counts.set(p.node, p.checksums.length)
        if (p.checksums.length > p.synced) syncs.push(p.writer.sync)
      }
      return Effect.zipRight(
        Effect.all(syncs, { discard: true }),
        Effect.suspend(() => {
          const writes: Array<JournalWrite> = []
          for (const p of this.progress.values()) {
            const done = counts.get(p.node)!
            p.synced = done
            writes.push({ node: p.node.id, label: p.node.label, temporaries: p.writer.temporaries, done, checksums: p.checksums.slice(0, done) })
          }
          return writeJournal(this.options.journal, {
            format: "slicewise-journal",
            version: 1,
            identity: this.options.identity,
            plan: this.fingerprint,
            writes,
            scalars: [...this.scalars.values()]
          })
        })
      )
    })
  }
}

/** The checksums of `entry`'s slices that `writer`'s temporary still holds, up to the first that differs. */
const verified = (
  w: WriteNode,
  direction: Direction,
  writer: ResumableWriter<DType>,
  entry: JournalWrite
): Effect.Effect<Array<number>, IoError> =>
  Effect.gen(function* () {
    const info = w.input.info
    const depth = info.shape[0]
    const buffer = allocSlice(info.dtype, sliceLength(info))
    const kept: Array<number> = []
    for (let s = 0; s < Math.min(entry.done, depth); s++) {
      const z = direction === "backward" ? depth - 1 - s : s
      const whole = yield* writer.readBack(z, buffer)
      if (!whole || sliceChecksum(buffer) !== entry.checksums[s]) break
      writer.markWritten(z)
      kept.push(entry.checksums[s]!)
    }
    return kept
  })
