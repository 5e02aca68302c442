/**
 * What both executors do around their passes: plan (the plan is given as the effect that makes it),
 * create every sink up front, open each source
 * when a pass first needs it (a spill exists only once an earlier pass wrote it), resolve scalars
 * pass by pass, commit the sinks after the last pass (so a failed or interrupted run leaves no
 * output under its final name), and assemble the figures. All in one Scope.
 *
 * @example
 * ```ts
 * const run = (program: Program) => runPlanned(Plan.make(program), {}, myPassRunner, (m) => m.buffers)
 * ```
 */
import * as Effect from "effect/Effect"
import type { VoxelArray } from "../../algebra/dtype.js"
import type { VolumeInfo } from "../../algebra/volume.js"
import type { SliceReader, SliceSource, SliceWriter } from "../../algebra/slices.js"
import { collectGarbage } from "../../util/gc.js"
import type { ScalarNode, WriteNode } from "../plan/graph.js"
import type { Plan } from "../plan/types.js"
import { runBanded } from "./bands.js"
import type { Direction } from "../../algebra/kernel.js"
import { isOutOfSpace, UnsupportedError } from "../../algebra/io-errors.js"
import { discardJournal, removeJournal } from "../../io/journal.js"
import { removeOrphanTemporaries } from "../../io/atomic.js"
import { notResumable, passHasWork, restartPoint, RunJournal, type ResumeOptions, type ResumeReport } from "./resume.js"
import type { PassRunner, ProgressOptions, StageMeter } from "./pass-runner.js"
import type { PassMetrics, RunError, RunResult, StageMetrics } from "./result.js"

export type { PassRunner } from "./pass-runner.js"

type Graph = Plan["graph"]

/** The value of each scalar: reductions as their passes give them (`known`), derived ones computed on first use. */
const scalarResolver = (known: Map<ScalarNode, unknown>) => {
  const scalarValue = (n: ScalarNode): unknown => {
    if (known.has(n)) return known.get(n)
    if (n.kind === "reduce") throw new Error(`internal: scalar #${n.id} ${n.label} used before its pass`)
    const v = n.f(scalarValue(n.input))
    known.set(n, v)
    return v
  }
  return scalarValue
}

/** Commits every sink; headers and trailers written at creation or commit belong to the write stage too. */
const commitAll = <M extends StageMeter>(writers: ReadonlyMap<WriteNode, SliceWriter>, plan: Plan, meters: ReadonlyMap<string, M>) =>
  Effect.forEach(
    writers,
    ([node, w]) =>
      Effect.map(w.commit, () => {
        const pass = plan.passes.find((p) => p.roots.includes(node))
        const m = pass === undefined ? undefined : meters.get(`${pass.index}:${node.id}`)
        if (m !== undefined) m.bytesWritten = w.bytesWritten()
      }),
    { discard: true }
  )

/** Every stage's figures, in pass and node order; a banded stage's buffers are its largest band's. */
const stageFigures = <M extends StageMeter>(
  graph: Graph,
  meters: ReadonlyMap<string, M>,
  bufferBytesOf: (m: M) => number,
  bandPeaks: ReadonlyMap<string, number>
): Array<StageMetrics> => {
  const stages: Array<StageMetrics> = []
  for (const [key, m] of meters) {
    const [pass, id] = key.split(":").map(Number) as [number, number]
    const node = graph.nodes[id]!
    stages.push({
      pass,
      id,
      kind: node.kind,
      label: node.label,
      cpuMs: m.cpuUs / 1000,
      wallMs: m.wallMs,
      slices: m.slices,
      bytesRead: m.bytesRead,
      bytesWritten: m.bytesWritten,
      peakBufferBytes: Math.max(bufferBytesOf(m), bandPeaks.get(key) ?? 0)
    })
  }
  return stages.sort((a, b) => a.pass - b.pass || a.id - b.id)
}

/** The program's outputs that are not written: scalars, and volumes collected in memory. */
const programOutputs = (graph: Graph, scalarValue: (n: ScalarNode) => unknown): Pick<RunResult, "scalars" | "volumes"> => {
  const scalars: Record<string, unknown> = {}
  for (const [name, node] of Object.entries(graph.outputs)) {
    if (node.kind === "reduce" || node.kind === "derive") scalars[name] = scalarValue(node)
  }
  const volumes: Record<string, { info: VolumeInfo; data: VoxelArray }> = {}
  for (const [name, { node, sink }] of graph.collected) volumes[name] = { info: node.input.info, data: sink.result()! }
  return { scalars, volumes }
}

export const runPlanned = <M extends StageMeter, O extends ProgressOptions>(
  planned: Effect.Effect<Plan, RunError>,
  options: O,
  runPass: PassRunner<M, O>,
  bufferBytesOf: (m: M) => number
): Effect.Effect<RunResult, RunError> =>
  Effect.suspend(() => {
    // Set when the run is interrupted, or runs out of space, before its outputs are committed: a
    // journaled run then keeps its temporaries and journal as its last checkpoint left them, for
    // --resume (once committed, there is nothing left to resume).
    let interrupted = false
    let outOfSpace = false
    let committed = false
    const keep = () => (interrupted || outOfSpace) && !committed
    let journal: RunJournal | undefined
    const body = Effect.gen(function* () {
      const started = performance.now()
      const plan = yield* planned
      // The planned graph: the program's, with spills (and, fused, merged stages).
      const graph = plan.graph
      const readers = new Map<SliceSource, SliceReader>()
      const writers = new Map<WriteNode, SliceWriter>()
      if (options.resume !== undefined) journal = yield* openJournal(plan, options.resume, keep)
      for (const n of graph.nodes) {
        if (n.kind !== "write") continue
        writers.set(n, journal === undefined ? yield* n.sink.create(n.input.info) : yield* journal.createWriter(n, directionOf(plan, n), keep))
      }
      if (journal !== undefined) {
        // Another run's journal (ResumeOptions.mismatch "start over"): removed now that this run holds the locks.
        if (journal.startsOver) yield* discardJournal(options.resume!.journal)
        yield* journal.checkpoint
        // Temporaries of these outputs that no journal names (a kill -9 before a first checkpoint).
        yield* removeOrphanTemporaries(journal.temporaries)
      } else if (options.staleJournal !== undefined) {
        // A run starting over (no --resume): what an interrupted --resume run of these outputs left.
        yield* discardJournal(options.staleJournal)
      }
      const resumed = journal?.previous === undefined ? undefined : resumeReport(plan, journal)
      const known = new Map<ScalarNode, unknown>()
      const scalarValue = scalarResolver(known)
      const meters = new Map<string, M>()
      const bandPeaks = new Map<string, number>()
      const passes: Array<PassMetrics> = []
      for (const pass of plan.passes) {
        // What start-up (parsing, planning) or the previous pass left is garbage now: collected
        // before the pass, V8 sizes the old generation's next limit from the live heap instead of
        // letting it grow through that garbage (2.2 MiB of a copy's peak RSS at 512³,
        // bench/runtime-floor.sh; a few ms).
        collectGarbage()
        // A resumed run skips the passes it has finished, taking their reductions' values from the journal.
        if (journal !== undefined && !passHasWork(pass, journal)) {
          for (const r of pass.roots) if (r.kind === "reduce") known.set(r, journal.scalarOf(r))
          continue
        }
        for (const { node } of pass.stages) {
          if (node.kind === "source" && !readers.has(node.source)) readers.set(node.source, yield* node.source.open)
        }
        const passOptions = journal === undefined ? options : { ...options, restart: { point: restartPoint(pass, journal.doneOf, journal.savedStateOf(pass)), journal } }
        const { metrics, reduced } = yield* runBanded(pass, runPass, readers, writers, scalarValue, meters, passOptions, plan.passes.length, bufferBytesOf, bandPeaks)
        for (const [n, v] of reduced) {
          known.set(n, v)
          if (journal !== undefined && n.kind === "reduce") yield* journal.recordScalar(n, v)
        }
        passes.push(metrics)
        if (journal !== undefined) yield* journal.checkpoint
      }
      yield* commitAll(writers, plan, meters)
      committed = true
      const stages = stageFigures(graph, meters, bufferBytesOf, bandPeaks)
      return {
        plan,
        passes,
        stages,
        ...programOutputs(graph, scalarValue),
        bytesRead: stages.reduce((a, s) => a + s.bytesRead, 0),
        bytesWritten: stages.reduce((a, s) => a + s.bytesWritten, 0),
        peakBufferBytes: Math.max(0, ...passes.map((p) => p.peakBufferBytes)),
        wallMs: performance.now() - started,
        ...(resumed === undefined ? {} : { resumed })
      }
    })
    // Interrupted: what was written up to now is recorded (the writers' fds are still open), and
    // the journal and temporaries stay for --resume.
    const lastCheckpoint = Effect.suspend(() => {
      interrupted = true
      return journal === undefined || committed ? Effect.void : Effect.ignore(journal.checkpoint)
    })
    const noteOutOfSpace = (e: RunError) => Effect.sync(() => void (outOfSpace ||= isOutOfSpace(e)))
    return Effect.scoped(Effect.onInterrupt(Effect.tapError(body, noteOutOfSpace), () => lastCheckpoint))
  })

/** The direction of the pass that writes `w` (its steps map to z through it). */
const directionOf = (plan: Plan, w: WriteNode): Direction => plan.passes.find((p) => p.roots.includes(w))?.direction ?? "forward"

/**
 * The run's journal, in the current scope: refused for a plan that cannot be resumed; removed when
 * the scope closes unless `keep()` (the run was interrupted before its commit).
 */
const openJournal = (plan: Plan, resume: ResumeOptions, keep: () => boolean) =>
  Effect.gen(function* () {
    const refused = notResumable(plan)
    if (refused !== undefined) return yield* new UnsupportedError(refused)
    const journal = yield* RunJournal.open(plan, resume)
    yield* Effect.addFinalizer(() => (keep() ? Effect.void : removeJournal(resume.journal)))
    return journal
  })

/** Whether a pass after `pass` had done work: a slice written, or its state saved. */
const laterProgress = (plan: Plan, pass: Plan["passes"][number], journal: RunJournal): boolean =>
  (journal.previous?.state?.pass ?? -1) > pass.index ||
  plan.passes.some((p) => p.index > pass.index && p.roots.some((r) => r.kind === "write" && journal.doneOf(r) > 0))

/**
 * Where a resumed run picked up: the first pass with work left, the first slice it writes (or,
 * for a pass that only folds, the first it folds), and the source slices it reads again before
 * new work: its rings' refill, and the whole of each pass it folds again from its start.
 */
const resumeReport = (plan: Plan, journal: RunJournal): ResumeReport => {
  let redone = 0
  for (const pass of plan.passes) {
    if (!passHasWork(pass, journal)) continue
    const point = restartPoint(pass, journal.doneOf, journal.savedStateOf(pass))
    const open = pass.roots.filter((r): r is WriteNode => r.kind === "write" && journal.doneOf(r) < r.input.info.shape[0])
    const folds = [...point.foldFrom.values()]
    const firsts = [...open.map((w) => journal.doneOf(w)), ...folds]
    const slice = firsts.length === 0 ? 0 : Math.min(...firsts)
    if (open.length === 0 && point.state === undefined && laterProgress(plan, pass, journal)) {
      // A finished fold whose value the journal could not hold, folded again for a later pass.
      redone += pass.ticks
      continue
    }
    // New work starts at the tick after the saved state, or at the first unwritten slice's tick.
    const fresh = point.state === undefined ? slice : point.state.tick + 1
    return { pass: pass.index, slice, kept: journal.keptSlices, verified: journal.verifiedSlices, redone: redone + Math.max(0, fresh - point.startTick) }
  }
  return { pass: plan.passes.length - 1, slice: 0, kept: journal.keptSlices, verified: journal.verifiedSlices, redone }
}
