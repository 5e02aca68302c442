import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import { openFdCount, trapRead } from "../support/faults.js"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import fc from "fast-check"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import type { Algebra, Repr } from "../../src/algebra/algebra.js"
import * as E from "../../src/algebra/expr.js"
import type { WindowKernel } from "../../src/algebra/kernel.js"
import { sliceBytes, volumeBytes, volumeInfo } from "../../src/algebra/volume.js"
import * as Memory from "../../src/interpreters/memory/index.js"
import * as Run from "../../src/interpreters/run/index.js"
import { broadcastLags, BROADCAST_MARGIN, runUnfused } from "../../src/interpreters/run/unfused.js"
import { FormatError } from "../../src/algebra/io-errors.js"
import { arraySource } from "../../src/io/memory.js"
import { nrrdSink } from "../../src/io/nrrd.js"
import type { SliceSource } from "../../src/algebra/slices.js"
import { firstDifference } from "../support/voxels.js"
import { programSpecArb, runningSum, toProgram, volumeData, zWeights } from "../properties/arbitraries.js"


describe("unfused run = memory = fused run", () => {
  it("on random DAG programs over random small volumes, voxel for voxel", async () => {
    await fc.assert(
      fc.asyncProperty(programSpecArb, async (spec) => {
        const { program } = toProgram(spec)
        const mem = await Effect.runPromise(Memory.evaluate(program))
        const fused = await Effect.runPromise(Run.run(program))
        const unfused = await Effect.runPromise(runUnfused(program))
        for (const [name, v] of Object.entries(mem.volumes)) {
          for (const [mode, r] of [["unfused", unfused.volumes[name]], ["fused", fused.volumes[name]]] as const) {
            expect(r, `${mode} ${name}`).toBeDefined()
            expect(r!.info.dtype).toBe(v.info.dtype)
            expect(firstDifference(r!.data, v.data), `${mode} ${name}: first differing voxel`).toBe(-1)
          }
        }
        // Every pass reads each source it uses once, whole.
        let expected = 0
        for (const pass of unfused.plan.passes) {
          for (const s of pass.stages) if (s.node.kind === "source") expected += volumeBytes(s.node.info)
        }
        expect(unfused.bytesRead).toBe(expected)
        expect(unfused.passes.length).toBe(unfused.plan.passes.length)
        // Buffers, measured (reference-counted slices): the plan's rings, plus for every broadcast
        // its lag and one slice more (measured over 40,000 random passes: lag + 1 suffices; the
        // test allows one more slice).
        unfused.passes.forEach((p, i) => {
          const pass = unfused.plan.passes[i]!
          const lags = broadcastLags(pass)
          const uses = new Map<unknown, number>()
          const use = (n: unknown) => uses.set(n, (uses.get(n) ?? 0) + 1)
          for (const s of pass.stages) {
            if (s.node.kind === "pointwise") s.node.inputs.forEach(use)
            else if (s.node.kind === "window") use(s.node.input)
          }
          for (const r of pass.roots) use(r.input)
          let bound = pass.bufferBytes
          for (const s of pass.stages) if (uses.get(s.node)! > 1) bound += (lags.get(s.node)! + 2) * sliceBytes(s.node.info)
          expect(p.peakBufferBytes).toBeLessThanOrEqual(bound)
        })
      }),
      { numRuns: Number(process.env.UNFUSED_RUNS ?? 300) }
    )
  }, 60_000)
})

describe("unfused run: broadcasts", () => {
  it("with no margin at all, deeper random programs neither deadlock nor differ from memory", async () => {
    // Depth 10–40, so that branches drift apart by more than a small volume allows.
    const deep = fc.tuple(programSpecArb, fc.integer({ min: 10, max: 40 })).map(([s, d]) => ({ ...s, shape: [d, 2, 3] as const }))
    await fc.assert(
      fc.asyncProperty(deep, async (spec) => {
        const { program } = toProgram(spec)
        const r = await Effect.runPromise(Effect.timeout(runUnfused(program, { broadcastMargin: 0 }), "5 seconds"))
        const mem = await Effect.runPromise(Memory.evaluate(program))
        for (const [name, v] of Object.entries(mem.volumes)) {
          expect(firstDifference(r.volumes[name]!.data, v.data), name).toBe(-1)
        }
      }),
      { numRuns: Number(process.env.UNFUSED_DEEP_RUNS ?? 100) }
    )
  }, 60_000)

  const info = volumeInfo("float32", [40, 3, 5])
  const src = arraySource(info, volumeData(info, 7) as Float32Array, "a")
  // A zip of a branch of latency 0 (a map of the source) with one of latency 5 (a window that
  // reads 5 slices ahead): the source is broadcast, and the fast branch must wait 5 slices.
  const skewed = <F extends Repr>(alg: Algebra<F>) => {
    const a = alg.source(src)
    const late = alg.window(a, zWeights(0, 5, "reflect", "float32") as WindowKernel<"float32", "float32">)
    const early = alg.map(a, (x) => E.add(x, 1))
    return { o: alg.zip([early, late], (x, y) => E.sub(x, y)) }
  }

  it("sizes the lag from the latencies: a zip of latency 0 and 5 branches needs 5 slices", async () => {
    const plan = (await Effect.runPromise(runUnfused(skewed))).plan
    const lags = broadcastLags(plan.passes[0]!)
    const source = plan.passes[0]!.stages.find((s) => s.node.kind === "source")!.node
    expect(lags.get(source)).toBe(5 + BROADCAST_MARGIN)
  })

  it("does not deadlock when such branches are zipped again, and equals memory", async () => {
    const r = await Effect.runPromise(Effect.timeout(runUnfused(skewed), "5 seconds"))
    const mem = await Effect.runPromise(Memory.evaluate(skewed))
    expect(firstDifference(r.volumes.o!.data, mem.volumes.o!.data)).toBe(-1)
    // Exactly the bound suffices; one slice less deadlocks (the sizing is tight, not lucky).
    const exact = await Effect.runPromise(Effect.timeout(runUnfused(skewed, { broadcastMargin: 0 }), "5 seconds"))
    expect(firstDifference(exact.volumes.o!.data, mem.volumes.o!.data)).toBe(-1)
    const before = openFdCount()
    const starved = await Effect.runPromiseExit(Effect.timeout(runUnfused(skewed, { broadcastMargin: -1 }), "300 millis"))
    expect(Exit.isFailure(starved) && String(starved.cause)).toContain("TimeoutException")
    expect(openFdCount()).toBe(before)
  })

  it("measures its buffers: a chain holds a few slices, a tee at most its lag more", async () => {
    const slice = sliceBytes(info)
    const chain = await Effect.runPromise(
      runUnfused((alg) => ({ o: alg.map(alg.map(alg.source(src), (x) => E.mul(x, 2)), (x) => E.add(x, 1)) }))
    )
    expect(chain.peakBufferBytes).toBeGreaterThan(0)
    expect(chain.peakBufferBytes).toBeLessThanOrEqual(2 * slice)
    const r = await Effect.runPromise(runUnfused(skewed))
    // The fused run's 14 slices (the source's delay line of 6 + 6 held by the window + 2), plus
    // the one the source is offering while the tee's queue is full.
    expect(r.peakBufferBytes).toBeLessThanOrEqual(r.plan.peakBufferBytes + slice)
    for (const s of r.stages) if (s.kind !== "write") expect(s.slices, s.label).toBe(40)
  })
})

describe("an unfused run that does not finish", () => {
  let dir: string
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "slicewise-unfused-"))
  })
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }))

  const info = volumeInfo("uint16", [12, 16, 16])
  const data = Uint16Array.from({ length: 12 * 256 }, (_, i) => i % 1000)

  // A tee and a window, so that broadcasts and their fibers are running when it stops.
  const teed = (s: SliceSource, out: string) => <F extends Repr>(alg: Algebra<F>) => {
    const a = alg.source(s)
    const w = alg.window(a, zWeights(1, 2, "mirror", "uint16"))
    return { o: alg.write(alg.zip([alg.map(a, (x) => E.mul(x, 2)), w], (x, y) => E.add(x, y)), nrrdSink(out)) }
  }

  it("fails with the reader's error and leaves no output and no open file", async () => {
    const before = openFdCount()
    const failing = trapRead(arraySource(info, data, "input"), 5, Effect.fail(new FormatError({ path: "input", position: "slice 5", detail: "truncated" })))
    const exit = await Effect.runPromiseExit(runUnfused(teed(failing, path.join(dir, "out.nrrd"))))
    expect(Exit.isFailure(exit)).toBe(true)
    expect(String(Exit.isFailure(exit) ? exit.cause : "")).toContain("slice 5")
    expect(fs.readdirSync(dir)).toEqual([])
    expect(openFdCount()).toBe(before)
  })

  it("interrupted midway leaves no output and no open file", async () => {
    const before = openFdCount()
    const reached = Effect.runSync(Deferred.make<void>())
    const stuck = trapRead(arraySource(info, data, "input"), 6, Effect.zipRight(Deferred.succeed(reached, undefined), Effect.never))
    const fiber = Effect.runFork(runUnfused(teed(stuck, path.join(dir, "out.nhdr"))))
    await Effect.runPromise(Deferred.await(reached))
    // Slices before the window's reach have been written to temporary files by now.
    expect(fs.readdirSync(dir).length).toBeGreaterThan(0)
    const exit = await Effect.runPromise(Fiber.interrupt(fiber))
    expect(Exit.isInterrupted(exit)).toBe(true)
    expect(fs.readdirSync(dir)).toEqual([])
    expect(openFdCount()).toBe(before)
  })

  it("reads a spill only in the pass after the one that wrote it, and removes it", async () => {
    const previous = process.env.SLICEWISE_SPILL_DIR
    process.env.SLICEWISE_SPILL_DIR = dir
    try {
      const f32 = volumeInfo("float32", [20, 3, 4])
      const src = arraySource(f32, volumeData(f32, 3) as Float32Array, "a")
      const sweep = runningSum(1, "float32") as WindowKernel<"float32", "float32">
      // Forward, then backward over the forward result: the planner spills between them.
      const program = <F extends Repr>(alg: Algebra<F>) => {
        const there = alg.sweep(alg.source(src), sweep, "forward")
        return { o: alg.sweep(there, sweep, "backward"), there }
      }
      const r = await Effect.runPromise(runUnfused(program))
      const mem = await Effect.runPromise(Memory.evaluate(program))
      expect(r.plan.passes.length).toBe(2)
      expect(r.plan.graph.nodes.some((n) => n.kind === "source" && n.spilledBy !== undefined)).toBe(true)
      for (const name of ["o", "there"]) expect(firstDifference(r.volumes[name]!.data, mem.volumes[name]!.data), name).toBe(-1)
      expect(fs.readdirSync(dir)).toEqual([])
    } finally {
      if (previous === undefined) delete process.env.SLICEWISE_SPILL_DIR
      else process.env.SLICEWISE_SPILL_DIR = previous
    }
  })

  it("a finished run commits its output under the final name, with the fused run's bytes", async () => {
    const out = path.join(dir, "out.nrrd")
    const program = teed(arraySource(info, data), out)
    const r = await Effect.runPromise(runUnfused(program))
    expect(fs.readdirSync(dir)).toEqual(["out.nrrd"])
    expect(r.bytesWritten).toBe(fs.statSync(out).size)
    const unfusedBytes = fs.readFileSync(out)
    const f = await Effect.runPromise(Run.run(program))
    expect(f.bytesWritten).toBe(r.bytesWritten)
    expect(fs.readFileSync(out).equals(unfusedBytes)).toBe(true)
  })
})
