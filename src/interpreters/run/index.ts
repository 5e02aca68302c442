/**
 * The run interpreter: plans a program, then executes each pass as an Effect Stream of ticks. At
 * every tick the sources read one slice each, every stage computes at most one output slice into
 * its ring (windows read their input's ring, zips read their inputs' rings after the delay the plan
 * gave them), reductions fold and sinks write. A tick starts only when the previous one has
 * written, which is the backpressure; memory is the plan's rings and scratch, fixed in advance.
 *
 * Readers, writers and spill files live in one Scope (see harness.ts): on success, failure or
 * interruption every file handle is closed and every spill removed, and outputs are committed
 * (renamed to their final names) only after the last pass.
 *
 * @example
 * ```ts
 * const result = yield* Run.run(program)
 * for (const s of result.stages) console.log(s.label, s.wallMs, s.peakBufferBytes)
 * ```
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { Program } from "../../algebra/algebra.js"
import { allocShared, allocSlice, type DType } from "../../algebra/dtype.js"
import { KernelError } from "../../algebra/kernel-error.js"
import type { Accumulator, PreparedKernel } from "../../algebra/kernel.js"
import { sliceLength } from "../../algebra/volume.js"
import type { SliceReader, SliceSource, SliceWriter } from "../../algebra/slices.js"
import type { Node, ReduceNode, ScalarNode, WriteNode } from "../plan/graph.js"
import type { PassPlan, StagePlan } from "../plan/passes.js"
import * as Plan from "../plan/index.js"
import { zOfStep } from "../plan/schedule.js"
import { anySplit } from "../plan/threads.js"
import { runPlanned } from "./harness.js"
import { meterLookup, passOutcome, type PassRunner } from "./pass-runner.js"
import type { RunError, RunOptions, RunResult } from "./result.js"
import { RingBuffer } from "./ring.js"
import { startTiming, timed, type ComputeClock, type TimeMeter } from "./metrics.js"
import { stageCompute, type StageContext } from "./stage.js"
import { threadKernels } from "./threads/plan-kernels.js"
import { acquireRowThreads, type RowThreads } from "./threads/pool.js"
import { runUnfused } from "./unfused.js"
import { UnsupportedError } from "../../algebra/io-errors.js"
import { sliceChecksum } from "../../io/checksum.js"
import type { PassRestart } from "./pass-runner.js"
import type { PassSnapshot } from "./resume.js"
import { heldStages, savesState } from "../plan/checkpoints.js"

export type { PassMetrics, Progress, RunError, RunOptions, RunResult, StageMetrics } from "./result.js"
export type { ResumeOptions, ResumeReport } from "./resume.js"
export type { RunIdentity } from "../../io/journal.js"
export type { InputIdentity } from "../../io/identity.js"
export { KernelError } from "../../algebra/kernel-error.js"

/** A mutable metrics record, frozen into StageMetrics at the end. */
interface Meter extends TimeMeter {
  bytesRead: number
  bytesWritten: number
  peakBufferBytes: number
}

const newMeter = (): Meter => ({ cpuUs: 0, wallMs: 0, slices: 0, bytesRead: 0, bytesWritten: 0, peakBufferBytes: 0 })

/** The state of one stage while a pass runs. */
interface StageRuntime {
  readonly plan: StagePlan
  readonly ring: RingBuffer
  readonly meter: Meter
  /** Computes output step s (not for sources). */
  readonly compute: (s: number) => void
}

/** What the parts of one pass share. */
interface PassState {
  readonly pass: PassPlan
  readonly runtimes: ReadonlyMap<Node, StageRuntime>
  readonly meterOf: (n: Node) => Meter
  /** The z of step s in a volume of depth n, in the pass's direction. */
  readonly zOf: (depth: number, s: number) => number
  /** Reads and writes in flight while the stages compute are charged their time less this clock's. */
  readonly computeClock: ComputeClock
  /** A journaled pass: where it restarts and what records its writes (resume.ts). */
  readonly restart: PassRestart | undefined
}

/** A reader's or writer's count of bytes moved, and how much of it its meter has been charged. */
interface Tally {
  readonly moved: () => number
  seen: number
}

/** The reads (of the sources) and writes (of the roots) of tick t, started now or when run. */
interface PassIo {
  readonly readsOf: (t: number, start: boolean) => ReadonlyArray<Effect.Effect<void, RunError>>
  readonly writesOf: (t: number, start: boolean) => ReadonlyArray<Effect.Effect<void, RunError>>
  /** Whether every reader and writer of the pass can start its I/O when asked (startRead, startWrite). */
  readonly startable: boolean
}

/** The outcome of `fiber` as this fiber's own: `Fiber.join` without inheriting its FiberRefs. */
const settled = <A, E>(fiber: Fiber.Fiber<A, E>): Effect.Effect<A, E> => Effect.flatMap(Fiber.await(fiber), (exit) => exit)

/** Runs `effects` one after another. */
const sequence = <E>(effects: ReadonlyArray<Effect.Effect<void, E>>): Effect.Effect<void, E> =>
  effects.length === 1 ? effects[0]! : Effect.forEach(effects, (e) => e, { discard: true })

/** Waits for every read or write in flight, then fails as the first of them that failed. */
const settleAll = <E>(pending: ReadonlyArray<Effect.Effect<void, E>>): Effect.Effect<void, E> => {
  if (pending.length === 0) return Effect.void
  if (pending.length === 1) return pending[0]!
  return Effect.flatMap(Effect.forEach(pending, (p) => Effect.exit(p)), (exits) => exits.find(Exit.isFailure) ?? Effect.void)
}

/** Runs `f`: a KernelError it throws (stage.ts) is the effect's failure; anything else a defect. */
const kernelFailing = <A>(f: () => A): Effect.Effect<A, KernelError> =>
  Effect.suspend(() => {
    try {
      return Effect.succeed(f())
    } catch (e) {
      if (e instanceof KernelError) return Effect.fail(e)
      throw e
    }
  })

/**
 * Every stage's ring, meter and compute (its kernels prepared, its split steps defined on the row
 * threads); throws the KernelError of a kernel whose `prepare` throws.
 */
const stageRuntimes = (
  pass: PassPlan,
  meterOf: (n: Node) => Meter,
  zOf: (depth: number, s: number) => number,
  scalarValue: (n: ScalarNode) => unknown,
  threads: RowThreads | undefined,
  sweeps: Map<Node, PreparedKernel<DType, DType>> | undefined
): Map<Node, StageRuntime> => {
  const runtimes = new Map<Node, StageRuntime>()
  const context: StageContext = { ring: (n) => runtimes.get(n)!.ring, scalar: scalarValue, zOf, threads, split: pass.threads, sweeps }
  for (const sp of pass.stages) {
    const node = sp.node
    const ring = new RingBuffer(node.info.dtype, sliceLength(node.info), sp.ringSlices, threads === undefined ? allocSlice : allocShared)
    const meter = meterOf(node)
    let compute: (s: number) => void = () => {}
    if (node.kind !== "source") {
      const work = stageCompute(node, context)
      compute = (s) => work(s, ring.slot(s))
      meter.peakBufferBytes += sp.scratchBytes
    }
    runtimes.set(node, { plan: sp, ring, meter, compute })
  }
  return runtimes
}

/** The pass's reads and writes, each charged to its stage's meter with the bytes it moved. */
const passIo = (
  state: PassState,
  readers: ReadonlyMap<SliceSource, SliceReader>,
  writers: ReadonlyMap<WriteNode, SliceWriter>
): PassIo => {
  const { pass, runtimes, meterOf, zOf, computeClock, restart } = state
  const sources = pass.stages.filter((s) => s.node.kind === "source")
  const writes = pass.roots.filter((r): r is WriteNode => r.kind === "write")
  const readerOf = (sp: StagePlan) => readers.get((sp.node as { source: SliceSource }).source)!
  // One read or write of a slice, charged to `m` with the bytes it moved, started now (`start`:
  // startRead, startWrite) or when the effect runs. `tally` follows the reader's or writer's own
  // count: each read or write, as it is awaited (in the order started), is charged what that count
  // gained since the last was, so the bytes add up with two writes of a writer in flight.
  const metered = (
    m: Meter,
    tally: Tally,
    count: (bytes: number) => void,
    io: () => Effect.Effect<void, RunError>,
    start: boolean
  ): Effect.Effect<void, RunError> => {
    const go = () => {
      const stop = startTiming(m, computeClock)
      return Effect.map(io(), () => {
        stop()
        const now = tally.moved()
        count(now - tally.seen)
        tally.seen = now
      })
    }
    return start ? go() : Effect.suspend(go)
  }
  const tallies = new Map<SliceReader | SliceWriter, Tally>()
  const tallyOf = (key: SliceReader | SliceWriter, moved: () => number): Tally => {
    let tally = tallies.get(key)
    if (tally === undefined) tallies.set(key, (tally = { moved, seen: moved() }))
    return tally
  }
  const readSource = (sp: StagePlan, t: number, start: boolean) => {
    const { meter, ring } = runtimes.get(sp.node)!
    const reader = readerOf(sp)
    const z = zOf(sp.node.info.shape[0], t)
    const io = () => (start ? reader.startRead!(z, ring.slot(t)) : reader.read(z, ring.slot(t)))
    return metered(meter, tallyOf(reader, () => reader.bytesRead()), (n) => (meter.bytesRead += n), io, start)
  }
  const writeRoot = (w: WriteNode, s: number, start: boolean) => {
    const writer = writers.get(w)!
    const m = meterOf(w)
    const z = zOf(w.input.info.shape[0], s)
    const data = runtimes.get(w.input)!.ring.get(s)
    const io = () => (start ? writer.startWrite!(z, data) : writer.write(z, data))
    const write = metered(m, tallyOf(writer, () => writer.bytesWritten()), (n) => (m.bytesWritten += n), io, start)
    if (restart === undefined) return write
    // Journaled: the checksum of the slice as it is written, recorded once the write is done.
    const checksum = sliceChecksum(data)
    return Effect.map(write, () => restart.journal.written(w, s, checksum))
  }
  const writeFrom = (w: WriteNode) => restart?.point.writeFrom.get(w) ?? 0
  return {
    readsOf: (t, start) => {
      const out: Array<Effect.Effect<void, RunError>> = []
      for (const sp of sources) if (t < sp.node.info.shape[0]) out.push(readSource(sp, t, start))
      return out
    },
    writesOf: (t, start) => {
      const out: Array<Effect.Effect<void, RunError>> = []
      for (const w of writes) {
        const s = t - pass.rootLatency.get(w)!
        if (s >= writeFrom(w) && s < w.input.info.shape[0]) out.push(writeRoot(w, s, start))
      }
      return out
    },
    startable: sources.every((sp) => readerOf(sp).startRead !== undefined) && writes.every((w) => writers.get(w)!.startWrite !== undefined)
  }
}

/**
 * The compute of tick t: each stage's step of it, then each reduction's fold; fails as a kernel
 * throws. `done(t)` is called once tick t's compute is whole.
 */
const tickCompute = (state: PassState, accumulators: ReadonlyMap<ReduceNode, Accumulator<DType, unknown>>, done: (t: number) => void) => {
  const { pass, runtimes, meterOf, zOf, computeClock, restart } = state
  const computeStages = pass.stages.filter((s) => s.node.kind !== "source").map((s) => runtimes.get(s.node)!)
  // A restarted pass computes only the steps whose inputs it has read again, and folds only what
  // its restored folds do not hold (resume.ts).
  const firstSteps = computeStages.map((rt) => restart?.point.validFrom.get(rt.plan.node) ?? 0)
  const folds = [...accumulators].map(([r, acc]) => ({ r, acc, from: restart?.point.foldFrom.get(r) ?? 0 }))
  return (t: number): Effect.Effect<void, KernelError> =>
    kernelFailing(() => {
      for (let i = 0; i < computeStages.length; i++) {
        const rt = computeStages[i]!
        const s = t - rt.plan.latency
        if (s < firstSteps[i]! || s >= rt.plan.node.info.shape[0]) continue
        timed(rt.meter, () => rt.compute(s), computeClock)
      }
      for (const { r, acc, from } of folds) {
        const depth = r.input.info.shape[0]
        const s = t - pass.rootLatency.get(r)!
        if (s < from || s >= depth) continue
        const m = meterOf(r)
        const slice = runtimes.get(r.input)!.ring.get(s)
        timed(m, () => acc.add(slice, zOf(depth, s)), computeClock)
      }
      done(t)
    })
}

/** What runs the ticks of a pass: its I/O, the compute of a tick, and the progress callback. */
type TickLoop = (
  pass: PassPlan,
  io: PassIo,
  compute: (t: number) => Effect.Effect<void, KernelError>,
  progress: (t: number) => void,
  ticks: TickRange
) => Effect.Effect<void, RunError>

/** The ticks a pass runs (from `first`: a resumed pass), and what runs after each (a checkpoint). */
interface TickRange {
  readonly first: number
  readonly after: Effect.Effect<void, RunError> | undefined
}

/**
 * The ticks, with overlap, where every reader and writer can start its I/O when asked: the reads
 * of tick t + 1 are started directly and awaited a tick later, the writes of tick t
 * `pass.writesBehind` ticks later (a TIFF stack's two), no fiber per slice. In a run of a few
 * hundred slices Effect's runtime is still mostly interpreted, and two fibers a tick cost more
 * than the system calls: a 512³ uint16 TIFF stack copy took 0.52 s with them and 0.42 s without
 * (user CPU 0.42 → 0.29 s; `bash bench/before-after.sh 08cd7d1 …`). A pass that ends early
 * (failure, interruption) waits for what is in flight.
 */
const startedTicks: TickLoop = (pass, io, compute, progress, range) => {
  // Each read or write is awaited once: taken out of `reads` or `writes` as it is awaited.
  let reads: ReadonlyArray<Effect.Effect<void, RunError>> = []
  const writes: Array<ReadonlyArray<Effect.Effect<void, RunError>>> = []
  const awaitReads = () => {
    const now = reads
    reads = []
    return settleAll(now)
  }
  // The writes started before the last `keep` ticks.
  const awaitWrites = (keep: number) => settleAll(writes.splice(0, Math.max(0, writes.length - keep)).flat())
  const tick = (t: number) =>
    Effect.gen(function* () {
      if (t === range.first) reads = io.readsOf(t, true)
      yield* awaitReads()
      if (t + 1 < pass.ticks) reads = io.readsOf(t + 1, true)
      yield* compute(t)
      yield* awaitWrites(pass.writesBehind - 1)
      writes.push(io.writesOf(t, true))
      progress(t)
      if (range.after !== undefined) yield* range.after
    })
  return Stream.range(range.first, pass.ticks - 1).pipe(
    Stream.runForEach(tick),
    Effect.zipRight(Effect.suspend(() => awaitWrites(0))),
    Effect.onExit(() => Effect.suspend(() => Effect.zipRight(Effect.ignore(awaitReads()), Effect.ignore(awaitWrites(0)))))
  )
}

/**
 * The ticks otherwise: the I/O of a tick runs in fibers of its own (with overlap, the reads of
 * tick t + 1 and the writes of tick t while the stages compute: their system calls run on libuv's
 * threads, read-ahead and write-behind). A forked fiber first runs when this one yields, hence the
 * yield before computing; without it the I/O would wait for the compute. The fibers are awaited,
 * not joined: joining merges a child's FiberRefs into this fiber's, an allocation per tick that
 * outlives the young generation, and no state passes through FiberRefs here. The fibers live in
 * the pass's own scope: closing it (on failure or interruption) interrupts them, after any read or
 * write already in the kernel has returned.
 */
const forkedTicks: TickLoop = (pass, io, compute, progress, range) =>
  Effect.gen(function* () {
    const inFlight = yield* Scope.make()
    let reading: Fiber.RuntimeFiber<void, RunError> | undefined
    let writing: Fiber.RuntimeFiber<void, RunError> | undefined
    const readTick = (t: number) => sequence(io.readsOf(t, false))
    const writeTick = (t: number) => Effect.suspend(() => sequence(io.writesOf(t, false)))
    const tick = (t: number) =>
      Effect.gen(function* () {
        if (reading === undefined) yield* readTick(t)
        else yield* settled(reading)
        reading = pass.overlap && t + 1 < pass.ticks ? yield* Effect.forkIn(readTick(t + 1), inFlight) : undefined
        if (pass.overlap) yield* Effect.yieldNow()
        yield* compute(t)
        if (writing !== undefined) yield* settled(writing)
        if (pass.overlap) writing = yield* Effect.forkIn(writeTick(t), inFlight)
        else yield* writeTick(t)
        progress(t)
        if (range.after !== undefined) yield* range.after
      })
    yield* Stream.range(range.first, pass.ticks - 1).pipe(
      Stream.runForEach(tick),
      Effect.zipRight(Effect.suspend(() => (writing === undefined ? Effect.void : settled(writing)))),
      Effect.onExit((exit) => Scope.close(inFlight, exit))
    )
  })

/** The buffers the pass's stages held: their rings and scratch. */
const passBufferBytes = (runtimes: ReadonlyMap<Node, StageRuntime>): number => {
  let peak = 0
  for (const rt of runtimes.values()) {
    rt.meter.peakBufferBytes += rt.ring.allocatedBytes
    peak += rt.meter.peakBufferBytes
  }
  return peak
}

/**
 * Executes one pass. `scalarValue` gives the values of scalars from earlier passes; returns the
 * accumulators of the pass's reductions. With overlap (the plan gave the rings the slices for
 * it), reads and writes are in flight while the stages compute (`startedTicks`, `forkedTicks`).
 */
const runPass: PassRunner<Meter, FusedOptions> = (pass, readers, writers, scalarValue, meters, options, passCount) => {
  const threads = options.rowThreads
  // The row workers forget this pass's steps and buffers when it ends, however it ends.
  const forget = Effect.sync(() => threads?.reset())
  return Effect.gen(function* () {
    const started = performance.now()
    const meterOf = meterLookup(pass, meters, newMeter)
    const zOf = (depth: number, s: number) => zOfStep(pass.direction, depth, s)
    const restart = options.restart
    const sweeps = restart === undefined ? undefined : new Map<Node, PreparedKernel<DType, DType>>()
    const runtimes = yield* kernelFailing(() => stageRuntimes(pass, meterOf, zOf, scalarValue, threads, sweeps))
    const state: PassState = { pass, runtimes, meterOf, zOf, computeClock: { wallMs: 0, cpuUs: 0 }, restart }
    const accumulators = new Map<ReduceNode, Accumulator<DType, unknown>>()
    for (const r of pass.roots) if (r.kind === "reduce") accumulators.set(r, r.reducer.start(r.input.info))
    const io = passIo(state, readers, writers)
    const progress = (t: number) => options.onProgress?.({ pass: pass.index, passes: passCount, tick: t + 1, ticks: pass.ticks })
    const ticks = pass.overlap && io.startable ? startedTicks : forkedTicks
    const range: TickRange = { first: restart?.point.startTick ?? 0, after: restart === undefined ? undefined : Effect.suspend(() => restart.journal.tick()) }
    const checkpoints = restart === undefined ? undefined : passCheckpoints({ pass, runtimes, sweeps: sweeps!, accumulators }, restart)
    yield* ticks(pass, io, tickCompute(state, accumulators, checkpoints?.computed ?? (() => {})), progress, range)
    checkpoints?.finished()
    return passOutcome(pass, accumulators, started, passBufferBytes(runtimes))
  }).pipe(Effect.ensuring(forget))
}

/**
 * A journaled pass's state at its checkpoints (resume.ts): restores the state its restart point
 * carries, then gives the journal, for each checkpoint, the state after the last tick whose
 * compute is whole (none before the restored tick: the held stages are the restored ones until
 * then). `computed(t)` is told each such tick; `finished()` when the pass has run to its end.
 */
const passCheckpoints = (parts: StatefulParts, restart: PassRestart) => {
  const { point, journal } = restart
  const restored = point.state
  if (restored !== undefined) restorePass(parts, restored)
  const after = restored?.tick ?? point.startTick - 1
  let last = point.startTick - 1
  const saves = savesState(parts.pass)
  const snapshot = (): PassSnapshot | undefined => (last <= after || !saves ? undefined : snapshotPass(parts, last))
  journal.beginPass(parts.pass.index, snapshot, restored !== undefined)
  return {
    computed: (t: number) => {
      last = t
    },
    finished: () => journal.endPass()
  }
}

/** What a pass's checkpoint state is made of: its stages' rings, its sweeps and its folds. */
interface StatefulParts {
  readonly pass: PassPlan
  readonly runtimes: ReadonlyMap<Node, StageRuntime>
  readonly sweeps: ReadonlyMap<Node, PreparedKernel<DType, DType>>
  readonly accumulators: ReadonlyMap<ReduceNode, Accumulator<DType, unknown>>
}

/** The state of `pass` after tick `tick`: its held stages' rings, its sweeps' and folds' state. */
const snapshotPass = ({ pass, runtimes, sweeps, accumulators }: StatefulParts, tick: number): PassSnapshot => {
  const rings = [...heldStages(pass)].map((n) => {
    const ring = runtimes.get(n)!.ring
    const steps = ring.heldSteps()
    return { node: n.id, steps, slices: steps.map((s) => ring.get(s)) }
  })
  const kernels = [...sweeps].map(([n, k]) => ({ node: n.id, state: k.snapshot!() }))
  const folds = [...accumulators].map(([r, acc]) => ({ node: r.id, state: acc.snapshot!() }))
  return { tick, rings, kernels, folds }
}

/** Puts `saved` back into the pass's held rings, sweeps and folds. */
const restorePass = ({ pass, runtimes, sweeps, accumulators }: StatefulParts, saved: PassSnapshot): void => {
  const byId = new Map<number, Node>(pass.stages.map((s) => [s.node.id, s.node] as const))
  for (const r of saved.rings) {
    const ring = runtimes.get(byId.get(r.node)!)!.ring
    r.steps.forEach((s, k) => ring.slot(s).set(r.slices[k]! as never))
  }
  for (const k of saved.kernels) sweeps.get(byId.get(k.node)!)!.restore!(k.state)
  for (const f of saved.folds) {
    for (const [r, acc] of accumulators) if (r.id === f.node) acc.restore!(f.state)
  }
}

/**
 * Plans and runs a program, fused (default) or unfused. Each source is opened once, when a pass
 * first needs it, and every sink is created up front and committed after the last pass, so a
 * failed or interrupted run leaves no output under its final name.
 */
export const run = (program: Program, options: RunOptions = {}): Effect.Effect<RunResult, RunError> =>
  options.mode !== "unfused"
    ? runFused(program, options)
    : options.resume !== undefined
      ? Effect.fail(new UnsupportedError({ path: options.resume.journal, detail: "--resume runs the fused plan only (not --mode unfused)" }))
      : runUnfused(program, options)

/** The fused executor's options: the run's, and the row threads it started. */
interface FusedOptions extends RunOptions {
  readonly rowThreads?: RowThreads | undefined
  /** Set by the harness for each pass of a journaled run. */
  readonly restart?: PassRestart | undefined
}

const runFused = (program: Program, options: RunOptions): Effect.Effect<RunResult, RunError> => {
  const bufferBytes = (m: Meter) => m.peakBufferBytes
  if ((options.threads ?? 1) <= 1) return runPlanned(Plan.make(program, options), options, runPass, bufferBytes)
  // Workers only when some step is worth splitting (a copy or a threshold is not); they import
  // the modules of the split kernels' recipes before the first pass.
  return Effect.flatMap(Plan.make(program, options), (plan) =>
    anySplit(plan)
      ? Effect.scoped(
          Effect.flatMap(acquireRowThreads(options.threads!, threadKernels(plan)), (rowThreads) =>
            runPlanned(Effect.succeed(plan), { ...options, rowThreads }, runPass, bufferBytes)
          )
        )
      : runPlanned(Effect.succeed(plan), options, runPass, bufferBytes)
  )
}
