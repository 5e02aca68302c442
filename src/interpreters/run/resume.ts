/**
 * Resumable runs (docs/RESUME.md): what the harness needs to journal a run and to continue one
 * that was interrupted.
 *
 * - `notResumable`: why a plan cannot be journaled (a sink that cannot reopen its temporaries, a
 *   pass in bands of rows), or undefined.
 * - `planFingerprint`: what must not change between the interrupted run and the resumed one.
 * - `restartPoint`: where a pass restarts. A pass of windows restarts at the tick that refills its
 *   rings for the first slice it has not written: each stage computes only the steps whose inputs
 *   it has (`validFrom`), and each write skips the steps it wrote. A pass with sweeps or folds
 *   restarts after the tick of its saved state (`PassSnapshot`): its sweeps, its folds and the
 *   stages after the sweeps (`heldStages`) are put back as they were, and the stages before the
 *   sweeps refill from the sources as in a pass of windows. Without a saved state such a pass
 *   restarts at its first tick, writing only what it has not written.
 * - `RunJournal`: the run's journal as it runs: the writers, the slices each has written and their
 *   checksums, the checkpoints (the pass's state saved, writers flushed, then the journal replaced).
 *
 * @example
 * ```ts
 * const point = restartPoint(pass, (w) => journal.doneOf(w))
 * point.startTick            // 37: slices 37 … 39 refill the rings for slice 40
 * point.validFrom.get(node)  // the first step of `node` the resumed pass computes
 * ```
 */
import * as Effect from "effect/Effect"
import { allocSlice, type DType, type VoxelArray } from "../../algebra/dtype.js"
import type { Direction } from "../../algebra/kernel.js"
import { sliceLength } from "../../algebra/volume.js"
import { checkpointInterval, hasPassState, heldStages, savesState } from "../plan/checkpoints.js"
import type { ResumableWriter } from "../../algebra/slices.js"
import type { FileError, FormatError, IoError } from "../../algebra/io-errors.js"
import { sliceChecksum } from "../../io/checksum.js"
import { journalMismatch, readJournal, writeJournal, type Journal, type JournalScalar, type JournalState, type JournalWrite, type RunIdentity } from "../../io/journal.js"
import { readStateFile, scalarFileName, stateFileName, writeStateFile } from "../../io/journal-state.js"
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
  /**
   * What a journal of another run (its input, steps, slicewise or plan differ, or it cannot be
   * read) does: "refuse" (the default, `slicewise run --resume`'s: one line naming the
   * difference) or "start over" (batch and cluster jobs, whose plans depend on the memory they
   * are given: the journal and what it names are removed once the run holds its outputs' locks).
   */
  readonly mismatch?: "refuse" | "start over"
}

/**
 * The state of a pass after tick `tick`, as a checkpoint saves it: the slices each held stage
 * (`heldStages`) has in its ring, and the state of each sweep and each fold (by node id).
 */
export interface PassSnapshot {
  readonly tick: number
  readonly rings: ReadonlyArray<{ readonly node: number; readonly steps: ReadonlyArray<number>; readonly slices: ReadonlyArray<VoxelArray> }>
  readonly kernels: ReadonlyArray<{ readonly node: number; readonly state: unknown }>
  readonly folds: ReadonlyArray<{ readonly node: number; readonly state: unknown }>
}

/** Where a pass (re)starts, and what a resumed pass skips. */
export interface RestartPoint {
  /** The first tick the pass runs (0: from the start). */
  readonly startTick: number
  /** The first step each stage computes; absent: every step. */
  readonly validFrom: ReadonlyMap<Node, number>
  /** The first step each write writes (the steps before are in its temporary, kept). */
  readonly writeFrom: ReadonlyMap<WriteNode, number>
  /** The first step each fold adds (the steps before are in its restored state); absent: every step. */
  readonly foldFrom: ReadonlyMap<ReduceNode, number>
  /** The saved state the pass restores before its first tick. */
  readonly state?: PassSnapshot
}

/** What a resumed run did again, for its report. */
export interface ResumeReport {
  /** The first pass that had work left, and the first slice (step) it wrote. */
  readonly pass: number
  readonly slice: number
  /** Slices kept from the interrupted run, over every write. */
  readonly kept: number
  /** Of those, the ones read back and found to match their checksums (the recent ones: `VERIFIED_STEPS`). */
  readonly verified: number
  /** Source slices read again before new output: ring refills, and passes re-run for their reductions. */
  readonly redone: number
}

/** Why `plan` cannot be journaled (the path concerned, and the reason), or undefined when it can. */
export const notResumable = (plan: Plan): { readonly path: string; readonly detail: string } | undefined => {
  for (const n of plan.graph.nodes) {
    if (n.kind === "write" && n.sink.resumable === undefined) {
      return { path: n.sink.path, detail: `--resume: a ${n.sink.format} output cannot be resumed yet (raw NRRD, .nii, Zarr and uncompressed TIFF stacks can)` }
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

/**
 * Held stages put back from a saved state: the first step each computes, and the first step its
 * restored ring holds (what the stages after it can read).
 */
interface Held {
  readonly from: ReadonlyMap<Node, number>
  readonly available: ReadonlyMap<Node, number>
}

/**
 * The first step of each stage that a pass started at tick `t0` has from inputs it has: the first
 * it computes, or for a held stage the first its restored ring holds. Undefined when a held stage
 * would lack an input slice for its first step.
 */
const validSteps = (pass: PassPlan, t0: number, held?: Held): Map<Node, number> | undefined => {
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
    const from = held?.from.get(n)
    if (from === undefined) valid.set(n, Math.min(v, depth))
    else if (v > from) return undefined
    else valid.set(n, held!.available.get(n)!)
  }
  return valid
}

/**
 * Where `pass` restarts when each of its writes has `doneOf(w)` steps written: the latest tick
 * whose ring refill still gives every write its first unwritten step; for a pass with sweeps or
 * folds, from its `saved` state (`restartFromState`), or without one (or one that does not fit)
 * at tick 0.
 */
export const restartPoint = (pass: PassPlan, doneOf: (w: WriteNode) => number, saved?: PassSnapshot): RestartPoint => {
  const writes = pass.roots.filter((r): r is WriteNode => r.kind === "write")
  const writeFrom = new Map(writes.map((w) => [w, doneOf(w)] as const))
  const fromStart: RestartPoint = { startTick: 0, validFrom: new Map(), writeFrom, foldFrom: new Map() }
  const open = writes.filter((w) => writeFrom.get(w)! < w.input.info.shape[0])
  if (hasPassState(pass)) return (saved === undefined ? undefined : restartFromState(pass, writeFrom, open, saved)) ?? fromStart
  const first = open.length === 0 ? 0 : Math.min(...open.map((w) => writeFrom.get(w)!))
  for (let t0 = first; t0 > 0; t0--) {
    const valid = validSteps(pass, t0)!
    if (open.every((w) => valid.get(w.input)! <= writeFrom.get(w)!)) return { startTick: t0, validFrom: valid, writeFrom, foldFrom: new Map() }
  }
  return fromStart
}

/** Clamps step `s` of a volume of `depth` slices to 0 … depth. */
const clampStep = (s: number, depth: number): number => Math.max(0, Math.min(s, depth))

/**
 * Where a pass with sweeps or folds restarts from its state saved after tick `saved.tick`: the held
 * stages and the folds go on from tick `saved.tick + 1`; the other stages from the latest tick
 * `t0` before it from which they refill in time for them and for the writes' first unwritten
 * steps. Undefined when the state does not fit (a write's first unwritten slice is no longer in
 * its restored ring).
 */
const restartFromState = (
  pass: PassPlan,
  writeFrom: ReadonlyMap<WriteNode, number>,
  open: ReadonlyArray<WriteNode>,
  saved: PassSnapshot
): RestartPoint | undefined => {
  if (!savesState(pass)) return undefined
  const next = saved.tick + 1
  const held = heldStages(pass)
  const rings = new Map(saved.rings.map((r) => [r.node, r.steps] as const))
  const from = new Map<Node, number>()
  const available = new Map<Node, number>()
  for (const sp of pass.stages) {
    if (!held.has(sp.node)) continue
    const first = clampStep(next - sp.latency, sp.node.info.shape[0])
    from.set(sp.node, first)
    available.set(sp.node, Math.min(first, ...(rings.get(sp.node.id) ?? [])))
  }
  const folds = pass.roots.filter((r): r is ReduceNode => r.kind === "reduce")
  const foldFrom = new Map(folds.map((r) => [r, clampStep(next - pass.rootLatency.get(r)!, r.input.info.shape[0])] as const))
  // A write's first unwritten step is written at its tick: the pass cannot start after it.
  let latest = next
  for (const w of open) latest = Math.min(latest, writeFrom.get(w)! + pass.rootLatency.get(w)!)
  for (let t0 = latest; t0 >= 0; t0--) {
    const valid = validSteps(pass, t0, { from, available })
    if (valid === undefined) continue
    if (!open.every((w) => valid.get(w.input)! <= writeFrom.get(w)!)) continue
    if (!folds.every((r) => foldFrom.get(r)! >= r.input.info.shape[0] || valid.get(r.input)! <= foldFrom.get(r)!)) continue
    const validFrom = new Map([...valid].map(([n, v]) => [n, from.get(n) ?? v] as const))
    return { startTick: t0, validFrom, writeFrom, foldFrom, state: saved }
  }
  return undefined
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
  /** The values of finished reductions, by reduce node id. */
  private readonly values = new Map<number, unknown>()
  private sinceCheckpoint = 0
  /** The running pass's state as a checkpoint saves it (undefined: nothing new to save), while it runs. */
  private snapshotPass: (() => PassSnapshot | undefined) | undefined
  private runningPass = -1
  /** The state file the journal on disk names: never the one a checkpoint writes. */
  private stateOnDisk: string | undefined
  /** The state file the journal names, and the pass and tick it is of. */
  private state: JournalState | undefined
  /** Slices kept from the interrupted run, over every write, and of those, the ones read back and verified. */
  keptSlices = 0
  verifiedSlices = 0

  private constructor(
    private readonly options: ResumeOptions,
    private readonly fingerprint: string,
    readonly interval: number,
    /** The journal found at start, when resuming. */
    readonly previous: Journal | undefined,
    /** The pass state it names, read from its state file (undefined: none, or not intact). */
    private readonly saved: PassSnapshot | undefined,
    /** The values of the reductions it holds (those whose side files are intact), by node id. */
    values: ReadonlyMap<number, unknown>,
    /** True when the journal found is another run's, to be discarded once the writers hold their locks. */
    readonly startsOver = false
  ) {
    for (const j of previous?.scalars ?? []) {
      if (!values.has(j.node)) continue
      this.scalars.set(j.node, j)
      this.values.set(j.node, values.get(j.node))
    }
    this.stateOnDisk = previous?.state?.file
    // Named by every checkpoint until the pass it is of decides (beginPass) whether it went on from it.
    if (saved !== undefined) this.state = previous?.state
  }

  /** The state saved of `pass` when it was interrupted, if any. */
  savedStateOf = (pass: PassPlan): PassSnapshot | undefined => (this.previous?.state?.pass === pass.index ? this.saved : undefined)

  /**
   * Pass `pass` starts: from now on each checkpoint saves what `snapshot` gives (undefined: no new
   * state, the journal keeps naming the last). `restored`: the pass went on from the saved state,
   * which the journal names until a new one is saved.
   */
  beginPass(pass: number, snapshot: () => PassSnapshot | undefined, restored: boolean): void {
    this.snapshotPass = snapshot
    this.runningPass = pass
    this.state = restored && this.previous?.state?.pass === pass ? this.previous.state : undefined
  }

  /** The running pass has finished: its state is no longer needed. */
  endPass(): void {
    this.snapshotPass = undefined
    this.state = undefined
  }

  /** True when the journal holds the value of reduction `r` (from a finished pass). */
  hasScalar = (r: ReduceNode): boolean => this.scalars.get(r.id)?.label === r.label && this.values.has(r.id)

  /** The value of reduction `r` the journal holds (`hasScalar`). */
  scalarOf(r: ReduceNode): unknown {
    return this.values.get(r.id)
  }

  /**
   * Records the value of reduction `r` (its pass has finished), for the next checkpoint: in the
   * journal, or when its JSON is over 64 KiB (a label table) in a side file written once now, so
   * that checkpoints do not rewrite it. A value that cannot be encoded (a class instance) is not
   * recorded: a resumed run folds again.
   */
  recordScalar(r: ReduceNode, value: unknown): Effect.Effect<void, FileError> {
    const encoded = encodeValue(value)
    if (encoded === undefined) return Effect.void
    this.values.set(r.id, value)
    const entry = { node: r.id, label: r.label }
    if (JSON.stringify(encoded).length <= 64 * 2 ** 10) return Effect.sync(() => void this.scalars.set(r.id, { ...entry, value: encoded }))
    return Effect.map(writeStateFile(scalarFileName(this.options.journal, r.id), value), (file) => void this.scalars.set(r.id, { ...entry, file }))
  }

  /**
   * Reads the journal at `options.journal`, if any (refusing one that does not match this run,
   * or starting over: `ResumeOptions.mismatch`), and makes the run's journal.
   */
  static open(plan: Plan, options: ResumeOptions): Effect.Effect<RunJournal, FileError | FormatError> {
    const fingerprint = planFingerprint(plan)
    return Effect.gen(function* () {
      const interval = options.interval ?? checkpointInterval(plan)
      const read = yield* Effect.either(readJournal(options.journal))
      const previous = read._tag === "Right" ? read.right : undefined
      const mismatch = read._tag === "Left" ? read.left : previous && journalMismatch(options.journal, previous, options.identity, fingerprint)
      if (mismatch !== undefined) {
        if (options.mismatch !== "start over" || mismatch._tag !== "FormatError") return yield* mismatch
        return new RunJournal(options, fingerprint, interval, undefined, undefined, new Map(), true)
      }
      const state = previous?.state
      const saved = state === undefined ? undefined : ((yield* readStateFile(state.file, state)) as PassSnapshot | undefined)
      const values = new Map<number, unknown>()
      for (const j of previous?.scalars ?? []) {
        const value = j.file === undefined ? decodeValue(j.value) : yield* readStateFile(j.file.file, j.file)
        if (value !== undefined) values.set(j.node, value)
      }
      return new RunJournal(options, fingerprint, interval, previous, saved, values)
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
          const v = yield* verified(w, direction, writer, entry, self.interval)
          checksums = v.kept
          self.verifiedSlices += v.checked
        }
      }
      self.progress.set(w, { node: w, writer, checksums, synced: checksums.length })
      self.keptSlices += checksums.length
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

  /**
   * Saves the running pass's state (in the state file the journal does not name), flushes every
   * writer that wrote since the last checkpoint, then replaces the journal.
   */
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
        Effect.zipRight(this.saveState, Effect.all(syncs, { discard: true })),
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
            scalars: [...this.scalars.values()],
            ...(this.state && { state: this.state })
          }).pipe(Effect.tap(() => (this.stateOnDisk = this.state?.file)))
        })
      )
    })
  }

  /** Writes the running pass's state, if it has new state, to the state file the journal does not name. */
  private get saveState(): Effect.Effect<void, FileError> {
    return Effect.suspend(() => {
      const snapshot = this.snapshotPass?.()
      if (snapshot === undefined) return Effect.void
      const pass = this.runningPass
      const file = stateFileName(this.options.journal, this.stateOnDisk === stateFileName(this.options.journal, 0) ? 1 : 0)
      return Effect.map(writeStateFile(file, snapshot), (saved) => {
        this.state = { ...saved, pass, tick: snapshot.tick }
      })
    })
  }
}

/**
 * The slices of a write that a resumed run reads back and compares with their checksums: those of
 * its last `VERIFIED_STEPS` steps at least, and of its last two checkpoint intervals. Earlier ones
 * were flushed (fdatasync) and journaled checkpoints before the interruption; what a power cut
 * or a file system that acknowledged a flush too early can lose is the most recent writes. Reading
 * back every slice would make resuming a terabyte output cost a read of all it had written.
 */
export const VERIFIED_STEPS = 64

/**
 * The checksums of `entry`'s slices that `writer`'s temporary still holds (the recent ones read
 * back and compared, up to the first that differs; the earlier ones kept as journaled), and how
 * many were read back.
 */
const verified = (
  w: WriteNode,
  direction: Direction,
  writer: ResumableWriter<DType>,
  entry: JournalWrite,
  interval: number
): Effect.Effect<{ readonly kept: Array<number>; readonly checked: number }, IoError> =>
  Effect.gen(function* () {
    const info = w.input.info
    const depth = info.shape[0]
    const done = Math.min(entry.done, depth)
    const from = Math.max(0, done - Math.max(VERIFIED_STEPS, 2 * interval))
    const buffer = allocSlice(info.dtype, sliceLength(info))
    const zOf = (s: number) => (direction === "backward" ? depth - 1 - s : s)
    // The steps from `start` on that match, up to the first that does not.
    const matching = (start: number) =>
      Effect.gen(function* () {
        let s = start
        while (s < done && (yield* writer.readBack(zOf(s), buffer)) && sliceChecksum(buffer) === entry.checksums[s]) s++
        return s
      })
    let end = yield* matching(from)
    // A recent slice that does not match means more than a lost flush (a temporary cut short or
    // changed): every slice is read back then, and kept only up to the first that differs.
    const checkedFrom = end < done && from > 0 ? 0 : from
    if (checkedFrom === 0 && from > 0) end = yield* matching(0)
    for (let s = 0; s < end; s++) writer.markWritten(zOf(s))
    return { kept: entry.checksums.slice(0, end), checked: end - checkedFrom }
  })
