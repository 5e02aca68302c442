/**
 * Read-ahead and write-behind: while step t computes, the read of step t + 1 and the write of step
 * t − 1 must already be in flight. A forked fiber only starts when its parent yields, so an executor
 * that forks the I/O and then computes without yielding issues the I/O after the compute, not beside
 * it; this test sees the order in which they are issued.
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import { describe, expect, it } from "vitest"
import type { Program } from "../../src/algebra/algebra.js"
import type { WindowKernel } from "../../src/algebra/kernel.js"
import { volumeInfo } from "../../src/algebra/volume.js"
import * as Plan from "../../src/interpreters/plan/index.js"
import * as Run from "../../src/interpreters/run/index.js"
import { FormatError } from "../../src/algebra/io-errors.js"
import { arraySink, arraySource } from "../../src/io/memory.js"
import type { SliceSink, SliceSource } from "../../src/algebra/slices.js"

/** Resolves after the event loop has turned once: I/O that completes later than it starts. */
const later = Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))

/**
 * An operation started now that completes a turn of the event loop later, then runs `finish`: what
 * `startRead` and `startWrite` return (as `begin` in src/io/files.ts does, uninterruptible).
 */
const startedNow = <E>(finish: Effect.Effect<void, E>): Effect.Effect<void, E> => {
  const finished = new Promise<void>((resolve) => setImmediate(resolve)).then(() => Effect.runPromiseExit(finish))
  return Effect.uninterruptible(Effect.flatten(Effect.promise(() => finished)))
}

/**
 * `inner`, logging "read z" when a read starts, and completing each read asynchronously. With
 * `started`, the reader also has `startRead` (the executor then keeps reads in flight without
 * fibers), and `failAt` makes the read of that slice fail.
 */
const loggedSource = (inner: SliceSource<"uint8">, log: string[], started = false, failAt = -1): SliceSource<"uint8"> => ({
  ...inner,
  open: Effect.map(inner.open, (reader) => {
    const finish = (z: number, into: Uint8Array) =>
      z === failAt
        ? Effect.fail(new FormatError({ path: "logged", position: `slice ${z}`, detail: "bad slice" }))
        : Effect.zipRight(reader.read(z, into), Effect.sync(() => log.push(`read ${z} done`)))
    return {
      ...reader,
      read: (z: number, into: Uint8Array) => Effect.zipRight(Effect.sync(() => log.push(`read ${z}`)), Effect.zipRight(later, finish(z, into))),
      ...(started
        ? {
            startRead: (z: number, into: Uint8Array) => {
              log.push(`read ${z}`)
              return startedNow(finish(z, into))
            }
          }
        : {})
    }
  })
})

/** `inner`, logging "write z" when a write starts (and "write z done"), completing each asynchronously. */
const loggedSink = (inner: SliceSink, log: string[], started = false): SliceSink => ({
  ...inner,
  create: (info) =>
    Effect.map(inner.create(info), (writer) => {
      const finish = (z: number, data: Parameters<typeof writer.write>[1]) =>
        Effect.zipRight(writer.write(z, data), Effect.sync(() => log.push(`write ${z} done`)))
      return {
        ...writer,
        write: (z: number, data: Parameters<typeof writer.write>[1]) =>
          Effect.zipRight(Effect.sync(() => log.push(`write ${z}`)), Effect.zipRight(later, finish(z, data))),
        ...(started
          ? {
              startWrite: (z: number, data: Parameters<typeof writer.write>[1]) => {
                log.push(`write ${z}`)
                return startedNow(finish(z, data))
              }
            }
          : {})
      }
    })
})

/** A copy kernel (no halo) logging "compute k" for its k-th slice, busy for `busyMs` on each. */
const loggedCopy = (log: string[], busyMs = 0): WindowKernel<"uint8", "uint8"> => ({
  name: "logged-copy",
  params: {},
  halo: { z: { before: 0, after: 0 }, y: { before: 0, after: 0 }, x: { before: 0, after: 0 } },
  mode: "nearest",
  cval: 0,
  output: "uint8",
  opsPerVoxel: 1,
  scratchBytes: () => 0,
  prepare: () => {
    let k = 0
    return {
      compute: (w, out) => {
        log.push(`compute ${k++}`)
        const until = performance.now() + busyMs
        while (performance.now() < until);
        out.set(w.at(0))
      }
    }
  }
})

describe.each([
  ["forked per tick (readers without startRead)", false],
  ["started directly (startRead, startWrite)", true]
])("read-ahead and write-behind, I/O %s", (_, started) => {
  it("issues the read of step t + 1 and the write of step t − 1 before step t computes", async () => {
    const depth = 6
    const info = volumeInfo("uint8", [depth, 3, 4])
    const data = Uint8Array.from({ length: depth * 12 }, (_, i) => (i * 7) % 256)
    const log: string[] = []
    const sink = arraySink()
    const result = await Effect.runPromise(
      Run.run((alg) => ({
        o: alg.write(alg.window(alg.source(loggedSource(arraySource(info, data), log, started)), loggedCopy(log)), loggedSink(sink, log, started))
      }))
    )
    expect(result.plan.passes[0]!.overlap).toBe(true)
    expect(sink.result()).toEqual(data)
    const at = (event: string) => {
      const i = log.indexOf(event)
      expect(i, `${event} in ${log.join(", ")}`).toBeGreaterThanOrEqual(0)
      return i
    }
    for (let t = 0; t < depth; t++) {
      if (t + 1 < depth) expect(at(`read ${t + 1}`), log.join(", ")).toBeLessThan(at(`compute ${t}`))
      if (t >= 1) expect(at(`write ${t - 1}`), log.join(", ")).toBeLessThan(at(`compute ${t}`))
    }
  })

  it("charges a read or write in flight while the stages compute its own time, not the compute's", async () => {
    // Each slice computes for 25 ms; the reads and writes take a turn of the event loop. Seen from
    // the fiber, every read and write spans a compute (its completion waits for it), which the
    // metrics must not count as I/O time.
    const depth = 6
    const info = volumeInfo("uint8", [depth, 3, 4])
    const data = new Uint8Array(depth * 12)
    const log: string[] = []
    const result = await Effect.runPromise(
      Run.run((alg) => ({
        o: alg.write(
          alg.window(alg.source(loggedSource(arraySource(info, data), log, started)), loggedCopy(log, 25)),
          loggedSink(arraySink(), log, started)
        )
      }))
    )
    const wall = (kind: string) => result.stages.filter((s) => s.kind === kind).reduce((a, s) => a + s.wallMs, 0)
    expect(wall("window")).toBeGreaterThanOrEqual(depth * 25)
    expect(wall("source")).toBeLessThan(depth * 25 * 0.5)
    expect(wall("write")).toBeLessThan(depth * 25 * 0.5)
    // Every byte read and written is counted, whichever way the I/O ran.
    const bytes = (kind: string, key: "bytesRead" | "bytesWritten") => result.stages.filter((s) => s.kind === kind).reduce((a, s) => a + s[key], 0)
    expect(bytes("source", "bytesRead")).toBe(depth * 12)
    expect(bytes("write", "bytesWritten")).toBe(depth * 12)
  })

  it("a read that fails ends the run with its error, after the I/O in flight has finished", async () => {
    const depth = 6
    const info = volumeInfo("uint8", [depth, 3, 4])
    const log: string[] = []
    const exit = await Effect.runPromiseExit(
      Run.run((alg) => ({
        o: alg.write(alg.window(alg.source(loggedSource(arraySource(info, new Uint8Array(depth * 12)), log, started, 3)), loggedCopy(log)), loggedSink(arraySink(), log, started))
      }))
    )
    expect(exit._tag).toBe("Failure")
    if (exit._tag === "Failure") expect(String(Cause.squash(exit.cause))).toContain("slice 3")
    // Started I/O also finished before the run returned: nothing is left writing into a buffer or
    // a file the run has released. (Forked I/O is interrupted instead; a real reader's system call
    // is uninterruptible, see src/io/files.ts.)
    if (!started) return
    for (const entry of log.filter((e) => /^(read|write) \d+$/.test(e))) {
      if (entry === "read 3") continue
      expect(log, entry).toContain(`${entry} done`)
    }
    expect(log).not.toContain("compute 3")
  })
})

/** `inner` with `startWrite`s that each finish three turns of the event loop later, counting how many overlap. */
const slowSink = (inner: SliceSink, writesInFlight: number | undefined, seen: { now: number; most: number }): SliceSink => ({
  ...inner,
  ...(writesInFlight === undefined ? {} : { writesInFlight }),
  create: (info) =>
    Effect.map(inner.create(info), (writer) => ({
      ...writer,
      startWrite: (z: number, data: Parameters<typeof writer.write>[1]) => {
        seen.now++
        seen.most = Math.max(seen.most, seen.now)
        const turn = () => new Promise<void>((resolve) => setImmediate(resolve))
        // The slice is copied only when the write finishes: a ring slot reused before then would show.
        const finished = turn().then(turn).then(turn).then(() => Effect.runPromiseExit(Effect.zipRight(writer.write(z, data), Effect.sync(() => seen.now--))))
        return Effect.uninterruptible(Effect.flatten(Effect.promise(() => finished)))
      }
    }))
})

/** `inner` whose reader has `startRead` (reads started when asked, as a TIFF stack's). */
const startedSource = (inner: SliceSource<"uint8">): SliceSource<"uint8"> => ({
  ...inner,
  open: Effect.map(inner.open, (reader) => ({ ...reader, startRead: (z: number, into: Uint8Array) => reader.read(z, into) }))
})

describe("writes in flight (a sink's writesInFlight)", () => {
  it.each([[undefined, 1], [1, 1], [2, 2], [3, 3]])("writesInFlight %s: at most %i writes in flight, each slice intact", async (writesInFlight, most) => {
    const depth = 9
    const info = volumeInfo("uint8", [depth, 3, 4])
    const data = Uint8Array.from({ length: depth * 12 }, (_, i) => (i * 11) % 256)
    const seen = { now: 0, most: 0 }
    const sink = arraySink()
    const result = await Effect.runPromise(
      Run.run((alg) => ({ o: alg.write(alg.window(alg.source(startedSource(arraySource(info, data))), loggedCopy([])), slowSink(sink, writesInFlight, seen)) }))
    )
    expect(result.plan.passes[0]!.overlap).toBe(true)
    expect(seen.most).toBe(most)
    expect(sink.result()).toEqual(data)
    expect(result.stages.filter((s) => s.kind === "write").reduce((a, s) => a + s.bytesWritten, 0)).toBe(depth * 12)
  })
})

describe("writes in flight under a memory budget", () => {
  it("a budget a slice short of two writes in flight keeps the overlap with one write in flight", async () => {
    const depth = 9
    const info = volumeInfo("uint8", [depth, 3, 4])
    const data = Uint8Array.from({ length: depth * 12 }, (_, i) => (i * 13) % 256)
    const seen = { now: 0, most: 0 }
    const sink = arraySink()
    const program: Program = (alg) => ({
      o: alg.write(alg.window(alg.source(startedSource(arraySource(info, data))), loggedCopy([])), slowSink(sink, 2, seen))
    })
    const free = await Effect.runPromise(Plan.make(program))
    expect(free.passes[0]).toMatchObject({ overlap: true, writesBehind: 2 })
    const result = await Effect.runPromise(Run.run(program, { memoryBytes: free.peakBufferBytes - 12 }))
    expect(result.plan.passes[0]).toMatchObject({ overlap: true, writesBehind: 1 })
    expect(result.plan.peakBufferBytes).toBe(free.peakBufferBytes - 12)
    expect(seen.most).toBe(1)
    expect(sink.result()).toEqual(data)
  })
})
