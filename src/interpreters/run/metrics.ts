/**
 * Per-stage time accounting shared by both executors: CPU time from process.cpuUsage and wall time
 * from performance.now around one slice of a stage's work (never around a voxel).
 *
 * @example
 * ```ts
 * const meter = { cpuUs: 0, wallMs: 0, slices: 0 }
 * timed(meter, () => kernel.compute(window, out))
 * yield* timedEffect(meter, reader.read(z, slice))
 * ```
 */
import * as Effect from "effect/Effect"

/** The time part of a stage's figures, added to slice by slice. */
export interface TimeMeter {
  cpuUs: number
  wallMs: number
  slices: number
}

/** Adds the CPU and wall time since `c0`/`w0`, and one slice, to `m`. */
const charge = (m: TimeMeter, c0: NodeJS.CpuUsage, w0: number): void => {
  m.wallMs += performance.now() - w0
  const c = process.cpuUsage(c0)
  m.cpuUs += c.user + c.system
  m.slices++
}

/** Runs `f` (one slice of a stage's work), charging its time to `m`. */
export const timed = <A>(m: TimeMeter, f: () => A): A => {
  const c0 = process.cpuUsage()
  const w0 = performance.now()
  const a = f()
  charge(m, c0, w0)
  return a
}

/** Runs `effect` (a read or write of one slice), charging its time to `m`. */
export const timedEffect = <E>(m: TimeMeter, effect: Effect.Effect<void, E>): Effect.Effect<void, E> =>
  Effect.suspend(() => {
    const c0 = process.cpuUsage()
    const w0 = performance.now()
    return Effect.map(effect, () => charge(m, c0, w0))
  })
