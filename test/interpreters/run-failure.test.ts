import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import * as E from "../../src/algebra/expr.js"
import { volumeInfo } from "../../src/algebra/volume.js"
import * as Run from "../../src/interpreters/run/index.js"
import { FormatError } from "../../src/algebra/io-errors.js"
import { arraySource } from "../../src/io/memory.js"
import { nrrdSink } from "../../src/io/nrrd.js"
import type { SliceSink } from "../../src/algebra/slices.js"
import { openFdCount, trapRead } from "../support/faults.js"
import type { Direction, WindowKernel } from "../../src/algebra/kernel.js"

/** A sweep keeping a running sum per voxel column (stateful, so it must see slices in order). */
const runningSumKernel = (direction: Direction): WindowKernel<"uint16", "uint16"> => ({
  name: `sum-${direction}`,
  params: {},
  halo: { z: { before: 0, after: 0 }, y: { before: 0, after: 0 }, x: { before: 0, after: 0 } },
  mode: "nearest",
  cval: 0,
  output: "uint16",
  opsPerVoxel: 1,
  scratchBytes: (i) => i.shape[1] * i.shape[2] * 8,
  prepare: (i) => {
    const acc = new Float64Array(i.shape[1] * i.shape[2])
    return {
      compute: (w, out) => {
        const s = w.at(0)
        for (let k = 0; k < out.length; k++) out[k] = (acc[k] = (acc[k]! + s[k]!) % 65536)
      }
    }
  }
})


describe("a run that does not finish", () => {
  let dir: string
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "slicewise-run-"))
  })
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }))

  const info = volumeInfo("uint16", [12, 16, 16])
  const data = Uint16Array.from({ length: 12 * 256 }, (_, i) => i % 1000)

  it("fails with the reader's error and leaves no output and no open file", async () => {
    const before = openFdCount()
    const failing = trapRead(arraySource(info, data, "input"), 5, Effect.fail(new FormatError({ path: "input", position: "slice 5", detail: "truncated" })))
    const out = path.join(dir, "out.nrrd")
    const exit = await Effect.runPromiseExit(
      Run.run((alg) => ({ o: alg.write(alg.map(alg.source(failing), (x) => E.add(x, 1)), nrrdSink(out)) }))
    )
    expect(Exit.isFailure(exit)).toBe(true)
    expect(String(Exit.isFailure(exit) ? exit.cause : "")).toContain("slice 5")
    expect(fs.readdirSync(dir)).toEqual([])
    expect(openFdCount()).toBe(before)
  })

  it("interrupted midway leaves no output and no open file", async () => {
    const before = openFdCount()
    const reached = Effect.runSync(Deferred.make<void>())
    const stuck = trapRead(arraySource(info, data, "input"), 6, Effect.zipRight(Deferred.succeed(reached, undefined), Effect.never))
    const out = path.join(dir, "out.nhdr")
    const fiber = Effect.runFork(
      Run.run((alg) => ({ o: alg.write(alg.map(alg.source(stuck), (x) => E.mul(x, 2)), nrrdSink(out)) }))
    )
    await Effect.runPromise(Deferred.await(reached))
    // Half the slices have been written to temporary files by now.
    expect(fs.readdirSync(dir).length).toBeGreaterThan(0)
    const exit = await Effect.runPromise(Fiber.interrupt(fiber))
    expect(Exit.isInterrupted(exit)).toBe(true)
    expect(fs.readdirSync(dir)).toEqual([])
    expect(openFdCount()).toBe(before)
  })

  describe("with a spill (a backward sweep over a forward sweep)", () => {
    const forward = runningSumKernel("forward")
    const backward = runningSumKernel("backward")
    const withSpillDir = async <A>(f: (spillDir: string) => Promise<A>): Promise<A> => {
      const spillDir = fs.mkdtempSync(path.join(os.tmpdir(), "slicewise-spill-"))
      const saved = process.env.SLICEWISE_SPILL_DIR
      process.env.SLICEWISE_SPILL_DIR = spillDir
      try {
        return await f(spillDir)
      } finally {
        if (saved === undefined) delete process.env.SLICEWISE_SPILL_DIR
        else process.env.SLICEWISE_SPILL_DIR = saved
        fs.rmSync(spillDir, { recursive: true, force: true })
      }
    }

    it("plans two passes and removes the spill file when done", async () => {
      await withSpillDir(async (spillDir) => {
        const out = path.join(dir, "out.nrrd")
        const r = await Effect.runPromise(
          Run.run((alg) => ({ o: alg.write(alg.sweep(alg.sweep(alg.source(arraySource(info, data)), forward, "forward"), backward, "backward"), nrrdSink(out)) }))
        )
        expect(r.plan.passes.map((p) => p.direction)).toEqual(["forward", "backward"])
        expect(fs.readdirSync(spillDir)).toEqual([])
        expect(fs.readdirSync(dir)).toEqual(["out.nrrd"])
      })
    })

    it("interrupted in the second pass, leaves no spill file, no output and no open file", async () => {
      await withSpillDir(async (spillDir) => {
        const before = openFdCount()
        const reached = Effect.runSync(Deferred.make<void>())
        // The output is written in pass 2 (backward); its writer blocks at the third slice it gets.
        const inner = nrrdSink(path.join(dir, "o.nrrd"))
        const blocking: SliceSink = {
          ...inner,
          create: (i) =>
            Effect.map(inner.create(i), (writer) => ({
              ...writer,
              write: (z, slice) =>
                z === info.shape[0] - 3 ? Effect.zipRight(Deferred.succeed(reached, undefined), Effect.never) : writer.write(z, slice)
            }))
        }
        const fiber = Effect.runFork(
          Run.run((alg) => ({ o: alg.write(alg.sweep(alg.sweep(alg.source(arraySource(info, data)), forward, "forward"), backward, "backward"), blocking) }))
        )
        await Effect.runPromise(Deferred.await(reached))
        expect(fs.readdirSync(spillDir).length).toBe(1)
        const exit = await Effect.runPromise(Fiber.interrupt(fiber))
        expect(Exit.isInterrupted(exit)).toBe(true)
        expect(fs.readdirSync(spillDir)).toEqual([])
        expect(fs.readdirSync(dir)).toEqual([])
        expect(openFdCount()).toBe(before)
      })
    })

    it("a failure in the first pass leaves no spill file, no output and no open file", async () => {
      await withSpillDir(async (spillDir) => {
        const before = openFdCount()
        const failing = trapRead(arraySource(info, data, "input"), 7, Effect.fail(new FormatError({ path: "input", position: "slice 7", detail: "truncated" })))
        const exit = await Effect.runPromiseExit(
          Run.run((alg) => ({ o: alg.write(alg.sweep(alg.sweep(alg.source(failing), forward, "forward"), backward, "backward"), nrrdSink(path.join(dir, "o.nrrd"))) }))
        )
        expect(Exit.isFailure(exit)).toBe(true)
        expect(fs.readdirSync(spillDir)).toEqual([])
        expect(fs.readdirSync(dir)).toEqual([])
        expect(openFdCount()).toBe(before)
      })
    })
  })

  it("a finished run commits its output under the final name", async () => {
    const out = path.join(dir, "out.nrrd")
    const r = await Effect.runPromise(Run.run((alg) => ({ o: alg.write(alg.source(arraySource(info, data)), nrrdSink(out)) })))
    expect(fs.readdirSync(dir)).toEqual(["out.nrrd"])
    expect(r.bytesWritten).toBe(fs.statSync(out).size)
  })
})
