/**
 * Per-stage time accounting shared by both executors: CPU time from process.cpuUsage and wall time
 * from performance.now around one slice of a stage's work (never around a voxel).
 *
 * @example
 * ```ts
 * const meter = { cpuUs: 0, wallMs: 0, slices: 0 }
 * const computing = { wallMs: 0, cpuUs: 0 }
 * timed(meter, () => kernel.compute(window, out), computing)
 * yield* timedEffect(readMeter, reader.read(z, slice), computing)   // less the compute meanwhile
 * ```
 */
import * as Effect from "effect/Effect"

/** The time part of a stage's figures, added to slice by slice. */
export interface TimeMeter {
  cpuUs: number
  wallMs: number
  slices: number
}

/**
 * The time the executor's own thread has spent computing so far. A read or write that overlaps
 * compute is seen to finish only when the compute yields, so its span would count that compute as
 * its own; `timedEffect` subtracts what this clock gained during the span.
 */
export interface ComputeClock {
  wallMs: number
  cpuUs: number
}

/** Adds `wallMs` and `cpuUs` (the time of one slice) to `m`. */
const add = (m: TimeMeter, wallMs: number, cpuUs: number): void => {
  m.wallMs += wallMs
  m.cpuUs += cpuUs
  m.slices++
}

/** Runs `f` (one slice of a stage's work), charging its time to `m` and, if given, to `busy`. */
export const timed = <A>(m: TimeMeter, f: () => A, busy?: ComputeClock): A => {
  const c0 = process.cpuUsage()
  const w0 = performance.now()
  const a = f()
  const wallMs = performance.now() - w0
  const c = process.cpuUsage(c0)
  add(m, wallMs, c.user + c.system)
  if (busy !== undefined) {
    busy.wallMs += wallMs
    busy.cpuUs += c.user + c.system
  }
  return a
}

/** A clock that never runs: I/O with no compute beside it is charged its whole span. */
const NO_COMPUTE: ComputeClock = Object.freeze({ wallMs: 0, cpuUs: 0 })

/**
 * Starts timing a read or write of one slice; the function returned, called when it has finished,
 * charges its time to `m`, less the compute `busy` recorded meanwhile (for I/O in flight while the
 * stages compute).
 */
export const startTiming = (m: TimeMeter, busy: ComputeClock = NO_COMPUTE): (() => void) => {
  const c0 = process.cpuUsage()
  const w0 = performance.now()
  const bw0 = busy.wallMs
  const bc0 = busy.cpuUs
  return () => {
    const c = process.cpuUsage(c0)
    add(m, performance.now() - w0 - (busy.wallMs - bw0), c.user + c.system - (busy.cpuUs - bc0))
  }
}

/** Runs `effect` (a read or write of one slice), timed as `startTiming` says. */
export const timedEffect = <E>(m: TimeMeter, effect: Effect.Effect<void, E>, busy: ComputeClock = NO_COMPUTE): Effect.Effect<void, E> =>
  Effect.suspend(() => Effect.map(effect, startTiming(m, busy)))
