/**
 * Read-ahead and write-behind: while step t computes, the read of step t + 1 and the write of step
 * t − 1 must already be in flight. A forked fiber only starts when its parent yields, so an executor
 * that forks the I/O and then computes without yielding issues the I/O after the compute, not beside
 * it; this test sees the order in which they are issued.
 */
import * as Effect from "effect/Effect"
import { describe, expect, it } from "vitest"
import type { WindowKernel } from "../../src/algebra/kernel.js"
import { volumeInfo } from "../../src/algebra/volume.js"
import * as Run from "../../src/interpreters/run/index.js"
import { arraySink, arraySource } from "../../src/io/memory.js"
import type { SliceSink, SliceSource } from "../../src/io/slices.js"

/** Resolves after the event loop has turned once: I/O that completes later than it starts. */
const later = Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))

/** `inner`, logging "read z" when a read starts, and completing each read asynchronously. */
const loggedSource = (inner: SliceSource<"uint8">, log: string[]): SliceSource<"uint8"> => ({
  ...inner,
  open: Effect.map(inner.open, (reader) => ({
    ...reader,
    read: (z, into) => Effect.zipRight(Effect.sync(() => log.push(`read ${z}`)), Effect.zipRight(later, reader.read(z, into)))
  }))
})

/** `inner`, logging "write z" when a write starts, and completing each write asynchronously. */
const loggedSink = (inner: SliceSink, log: string[]): SliceSink => ({
  ...inner,
  create: (info) =>
    Effect.map(inner.create(info), (writer) => ({
      ...writer,
      write: (z, data) => Effect.zipRight(Effect.sync(() => log.push(`write ${z}`)), Effect.zipRight(later, writer.write(z, data)))
    }))
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

describe("read-ahead and write-behind", () => {
  it("issues the read of step t + 1 and the write of step t − 1 before step t computes", async () => {
    const depth = 6
    const info = volumeInfo("uint8", [depth, 3, 4])
    const data = Uint8Array.from({ length: depth * 12 }, (_, i) => (i * 7) % 256)
    const log: string[] = []
    const sink = arraySink()
    const result = await Effect.runPromise(
      Run.run((alg) => ({
        o: alg.write(alg.window(alg.source(loggedSource(arraySource(info, data), log)), loggedCopy(log)), loggedSink(sink, log))
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
        o: alg.write(alg.window(alg.source(loggedSource(arraySource(info, data), log)), loggedCopy(log, 25)), loggedSink(arraySink(), log))
      }))
    )
    const wall = (kind: string) => result.stages.filter((s) => s.kind === kind).reduce((a, s) => a + s.wallMs, 0)
    expect(wall("window")).toBeGreaterThanOrEqual(depth * 25)
    expect(wall("source")).toBeLessThan(depth * 25 * 0.5)
    expect(wall("write")).toBeLessThan(depth * 25 * 0.5)
  })
})
