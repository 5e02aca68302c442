/**
 * The admission policy on its own: jobs whose ends the test decides (each waits on a gate), so the
 * order of events is fixed by the order in which the gates open, not by timing.
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import { describe, expect, it } from "vitest"
import { schedule, type SchedulerEvent } from "../../src/batch/scheduler.js"

/** Jobs of the given sizes that end when their gate opens; the events so far; a way to let the scheduler react. */
const gated = (sizes: ReadonlyArray<number>) =>
  Effect.gen(function* () {
    const gates = yield* Effect.forEach(sizes, () => Deferred.make<void, string>())
    const jobs = sizes.map((predictedBytes, i) => ({
      name: "ABCDEFGH"[i]!,
      predictedBytes,
      run: Deferred.await(gates[i]!)
    }))
    return { gates, jobs }
  })

/** Lets the scheduler's fibers run after a gate opened (it reacts at once; this only yields to it). */
const settle = Effect.sleep("20 millis")

const admitted = (events: ReadonlyArray<SchedulerEvent>) => events.filter((e) => e.kind === "admit").map((e) => e.job).join("")

describe("schedule", () => {
  it("lets later jobs overtake a waiting one at most maxOvertakes times, then keeps the memory for it", async () => {
    const events: Array<SchedulerEvent> = []
    await Effect.runPromise(
      Effect.gen(function* () {
        const { gates, jobs } = yield* gated([6, 8, 2, 2, 2, 1])
        const fiber = yield* Effect.fork(schedule(jobs, { budgetBytes: 10, concurrency: 10, maxOvertakes: 2, onEvent: (e) => events.push(e) }))
        yield* settle
        // A runs (6 of 10); B (8) waits; C and D overtake it, which uses up B's two overtakes.
        expect(admitted(events)).toBe("ACD")
        yield* Deferred.succeed(gates[2]!, undefined) // C ends: 2 free, E would fit, but B blocks it
        yield* settle
        expect(admitted(events)).toBe("ACD")
        yield* Deferred.succeed(gates[0]!, undefined) // A ends: 8 free, B starts
        yield* settle
        expect(admitted(events)).toBe("ACDB")
        yield* Deferred.succeed(gates[3]!, undefined) // D ends: 2 free, E starts, F (1) does not fit after it
        yield* settle
        expect(admitted(events)).toBe("ACDBE")
        for (const i of [1, 4, 5]) yield* Deferred.succeed(gates[i]!, undefined)
        const { outcomes } = yield* Fiber.join(fiber)
        expect(outcomes.map((o) => o.status)).toEqual(["done", "done", "done", "done", "done", "done"])
      })
    )
    expect(admitted(events)).toBe("ACDBEF")
    for (const e of events) expect(e.runningPredictedBytes).toBeLessThanOrEqual(10)
  })

  it("without the limit, small jobs keep overtaking", async () => {
    const events: Array<SchedulerEvent> = []
    await Effect.runPromise(
      Effect.gen(function* () {
        const { gates, jobs } = yield* gated([6, 8, 2, 2, 2, 1])
        const fiber = yield* Effect.fork(schedule(jobs, { budgetBytes: 10, concurrency: 10, maxOvertakes: Infinity, onEvent: (e) => events.push(e) }))
        yield* settle
        expect(admitted(events)).toBe("ACD")
        yield* Deferred.succeed(gates[2]!, undefined) // C ends: E takes the 2 that B would need
        yield* settle
        expect(admitted(events)).toBe("ACDE")
        for (const g of gates) yield* Deferred.succeed(g, undefined)
        yield* Fiber.join(fiber)
      })
    )
  })

  it("refuses jobs larger than the budget before starting any, and reports a failure without stopping the rest", async () => {
    const events: Array<SchedulerEvent> = []
    const { outcomes } = await Effect.runPromise(
      schedule(
        [
          { name: "ok", predictedBytes: 4, run: Effect.succeed(1) },
          { name: "huge", predictedBytes: 11, run: Effect.succeed(2) },
          { name: "bad", predictedBytes: 4, run: Effect.fail(new Error("disk on fire")) },
          { name: "ok2", predictedBytes: 4, run: Effect.succeed(3) }
        ],
        { budgetBytes: 10, concurrency: 1, onEvent: (e) => events.push(e) }
      )
    )
    expect(outcomes.map((o) => o.status)).toEqual(["done", "refused", "failed", "done"])
    expect(outcomes[1]!.detail).toMatch(/needs 11 B, more than the 10 B/)
    expect(outcomes[2]!.detail).toBe("disk on fire")
    expect(events[0]).toMatchObject({ kind: "refuse", job: "huge" })
    expect(Math.max(...events.map((e) => e.running))).toBe(1)
  })

  it("interrupted, interrupts the running jobs", async () => {
    const interrupted: Array<string> = []
    await Effect.runPromise(
      Effect.gen(function* () {
        const started = yield* Deferred.make<void>()
        const job = (name: string) => ({
          name,
          predictedBytes: 1,
          run: Deferred.succeed(started, undefined).pipe(
            Effect.zipRight(Effect.never),
            Effect.onInterrupt(() => Effect.sync(() => interrupted.push(name)))
          )
        })
        const fiber = yield* Effect.fork(schedule([job("a"), job("b")], { budgetBytes: 10, concurrency: 2 }))
        yield* Deferred.await(started)
        yield* settle
        yield* Fiber.interrupt(fiber)
      })
    )
    expect(interrupted.sort()).toEqual(["a", "b"])
  })
})

describe("schedule with after", () => {
  it("prepares a job only when the jobs it comes after have finished, then admits it by its prepared peak", async () => {
    const events: Array<SchedulerEvent> = []
    let prepared = 0
    await Effect.runPromise(
      Effect.gen(function* () {
        const { gates, jobs } = yield* gated([4, 4, 0])
        const late = {
          ...jobs[2]!,
          after: [0, 1],
          prepare: Effect.sync(() => {
            prepared++
            return { predictedBytes: 9, run: Effect.void }
          })
        }
        const fiber = yield* Effect.fork(schedule([jobs[0]!, jobs[1]!, late], { budgetBytes: 10, concurrency: 10, onEvent: (e) => events.push(e) }))
        yield* settle
        expect(admitted(events)).toBe("AB")
        yield* Deferred.succeed(gates[0]!, undefined)
        yield* settle
        expect(prepared).toBe(0) // B still runs
        yield* Deferred.succeed(gates[1]!, undefined)
        const { outcomes } = yield* Fiber.join(fiber)
        expect(outcomes.map((o) => o.status)).toEqual(["done", "done", "done"])
        expect(outcomes[2]!.predictedBytes).toBe(9)
      })
    )
    expect(prepared).toBe(1)
    expect(admitted(events)).toBe("ABC")
  })

  it("does not run, nor prepare, the jobs after one that failed", async () => {
    const events: Array<SchedulerEvent> = []
    let prepared = 0
    const prepare = Effect.sync(() => {
      prepared++
      return { predictedBytes: 1, run: Effect.void }
    })
    const { outcomes } = await Effect.runPromise(
      schedule(
        [
          { name: "A", predictedBytes: 1, run: Effect.fail("boom") },
          { name: "B", predictedBytes: 0, after: [0], run: Effect.void, prepare },
          { name: "C", predictedBytes: 0, after: [1], run: Effect.void, prepare },
          { name: "D", predictedBytes: 1, run: Effect.void }
        ],
        { budgetBytes: 10, concurrency: 1, onEvent: (e) => events.push(e) }
      )
    )
    expect(outcomes.map((o) => o.status)).toEqual(["failed", "not-run", "not-run", "done"])
    expect(outcomes[1]!.detail).toBe("not run: it comes after A, which failed")
    expect(prepared).toBe(0)
    expect(events.filter((e) => e.kind === "skip").map((e) => e.job)).toEqual(["B", "C"])
  })

  it("does not run the jobs after one that could not be prepared (failed to set up once its dependencies finished)", async () => {
    const { outcomes } = await Effect.runPromise(
      schedule(
        [
          { name: "A", predictedBytes: 1, run: Effect.void },
          { name: "B", predictedBytes: 0, after: [0], run: Effect.void, prepare: Effect.succeed({ predictedBytes: 0, failure: "no input", run: Effect.void }) },
          { name: "C", predictedBytes: 0, after: [1], run: Effect.void, prepare: Effect.succeed({ predictedBytes: 1, run: Effect.void }) }
        ],
        { budgetBytes: 10, concurrency: 1 }
      )
    )
    expect(outcomes.map((o) => [o.status, o.detail])).toEqual([
      ["done", undefined],
      ["failed", "no input"],
      ["not-run", "not run: it comes after B, which failed"]
    ])
  })

  it("settles a circle given through the API as not run, instead of waiting forever", async () => {
    const { outcomes } = await Effect.runPromise(
      schedule(
        [
          { name: "A", predictedBytes: 1, after: [1], run: Effect.void },
          { name: "B", predictedBytes: 1, after: [0], run: Effect.void }
        ],
        { budgetBytes: 10, concurrency: 1 }
      )
    )
    expect(outcomes.map((o) => o.status)).toEqual(["not-run", "not-run"])
  })
})
