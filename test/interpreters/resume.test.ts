/**
 * Resumed runs equal the memory interpreter: a program writing raw NRRD is interrupted after a
 * seeded random number of ticks, possibly several times, then resumed from its journal, and the
 * output's voxels must be the memory interpreter's. Programs: windows of uneven reach (step
 * lookahead), a zip of branches with different latencies, a reduction feeding a second pass, an
 * edt (two sweeps in opposite directions, a spill between them), a window after a sweep, label (a
 * fold, then a sweep and a lookup), a ball dilation (a sweep reading ahead) and otsu of floats
 * (three passes of folds). Interrupted runs write a last checkpoint; runs "killed" (their journal
 * and state files put back as they were at an earlier checkpoint, as after a kill -9) do not.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import { afterAll, describe, expect, it } from "vitest"
import type { Algebra, Program, Repr, Volume } from "../../src/algebra/algebra.js"
import * as E from "../../src/algebra/expr.js"
import { volumeBytes, volumeInfo, type VolumeInfo } from "../../src/algebra/volume.js"
import type { SliceSink } from "../../src/algebra/slices.js"
import * as Memory from "../../src/interpreters/memory/index.js"
import * as Plan from "../../src/interpreters/plan/index.js"
import * as Run from "../../src/interpreters/run/index.js"
import { arraySource } from "../../src/io/memory.js"
import { nrrdSink } from "../../src/io/nrrd/writer.js"
import { niftiSink } from "../../src/io/nifti/writer.js"
import { zarrSink } from "../../src/io/zarr/writer.js"
import { openTiffStack, tiffStackSink } from "../../src/io/tiff/index.js"
import { minMax } from "../../src/ops/reducers.js"
import { edt } from "../../src/ops/edt.js"
import { label } from "../../src/ops/label.js"
import { dilateBallByDistance } from "../../src/ops/ball-distance.js"
import { otsu } from "../../src/ops/otsu.js"
import { sameFiles } from "../support/files.js"
import { zsum } from "../support/kernels.js"
import { xorshift32 } from "../support/voxels.js"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "slicewise-resume-"))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

type Build = <F extends Repr>(alg: Algebra<F>, v: Volume<F, "float32">) => Volume<F, "float32">

const PROGRAMS: ReadonlyArray<{ name: string; build: Build }> = [
  { name: "two windows", build: (alg, v) => alg.window(alg.window(v, zsum), zsum) },
  {
    name: "zip of branches of different latency",
    build: (alg, v) => {
      const w = alg.window(v, zsum)
      return alg.window(alg.zip([v, w], (a, b) => E.sub(b!, a!)), zsum)
    }
  },
  {
    name: "reduction, then a second pass",
    build: (alg, v) => {
      const w = alg.window(v, zsum)
      const top = alg.derive(alg.reduce(w, minMax<"float32">()), (m) => m.max / 2, "half")
      return alg.window(alg.map(w, (x) => E.min(x, alg.scalar(top))), zsum)
    }
  },
  {
    name: "edt (sweeps both ways, a spill)",
    build: (alg, v) => edt(alg, alg.map(v, (x) => E.gt(x, 4), { dtype: "uint8" }))
  },
  {
    name: "a window after a sweep",
    build: (alg, v) => alg.window(edt(alg, alg.map(v, (x) => E.gt(x, 2), { dtype: "uint8" })), zsum)
  },
  {
    name: "label (a fold, then a sweep)",
    build: (alg, v) => alg.map(label(alg, alg.map(v, (x) => E.gt(x, 4), { dtype: "uint8" }), { connectivity: 26 }), (x) => x, { dtype: "float32" })
  },
  {
    name: "ball dilation (a sweep reading ahead)",
    build: (alg, v) => alg.map(dilateBallByDistance(alg, alg.map(v, (x) => E.gt(x, 6), { dtype: "uint8" }), { radius: 2 }), (x) => x, { dtype: "float32" })
  },
  {
    name: "otsu of floats (folds over three passes)",
    build: (alg, v) => alg.map(otsu(alg, alg.window(v, zsum)), (x) => x, { dtype: "float32" })
  }
]

const input = (depth: number, seed: number) => {
  const info = volumeInfo("float32", [depth, 5, 6]) as VolumeInfo<"float32">
  const next = xorshift32(seed)
  const data = Float32Array.from({ length: depth * 30 }, () => next() % 9)
  return { info, data }
}

/** The voxels of a raw little-endian NRRD output. */
const voxelsOf = (file: string, info: VolumeInfo): Float32Array => {
  const bytes = fs.readFileSync(file)
  const n = volumeBytes(info)
  return new Float32Array(new Uint8Array(bytes.subarray(bytes.length - n)).buffer)
}

/** Runs `program` until `ticks` progress calls have been seen, then interrupts it; the exit. */
const runUntil = (program: Program, options: Run.RunOptions, ticks: number) =>
  Effect.gen(function* () {
    let seen = 0
    let fiber: Fiber.RuntimeFiber<Run.RunResult, Run.RunError> | undefined
    const onProgress = () => {
      if (++seen === ticks) Effect.runFork(Fiber.interrupt(fiber!))
    }
    fiber = yield* Effect.fork(Run.run(program, { ...options, onProgress }))
    return yield* Fiber.await(fiber)
  })

/**
 * Runs `program` until `ticks` progress calls have been seen, then interrupts it, and puts its
 * journal and state files back as they were after `kept` progress calls (≤ ticks): as if it had
 * been killed then, with no last checkpoint, its temporaries holding what it wrote since.
 */
const killAfter = (program: Program, options: Run.RunOptions, kept: number, ticks: number) =>
  Effect.gen(function* () {
    const journal = options.resume!.journal
    const files = [journal, `${journal}.state-0`, `${journal}.state-1`]
    let saved: Array<Buffer | undefined> = []
    let seen = 0
    let fiber: Fiber.RuntimeFiber<Run.RunResult, Run.RunError> | undefined
    const onProgress = () => {
      if (++seen === kept) saved = files.map((f) => (fs.existsSync(f) ? fs.readFileSync(f) : undefined))
      if (seen === ticks) Effect.runFork(Fiber.interrupt(fiber!))
    }
    fiber = yield* Effect.fork(Run.run(program, { ...options, onProgress }))
    const exit = yield* Fiber.await(fiber)
    if (Exit.isInterrupted(exit) && seen >= kept) {
      files.forEach((f, k) => (saved[k] === undefined ? fs.rmSync(f, { force: true }) : fs.writeFileSync(f, saved[k]!)))
    }
    return exit
  })

/** Every resumed run's report and its checkpoint interval, to check where the trials resumed. */
const resumes: Array<Run.ResumeReport & { readonly program: string; readonly interval: number }> = []

describe("a resumed run = the memory interpreter", () => {
  let seed = 11
  for (const { name, build } of PROGRAMS) {
    for (const depth of [1, 2, 7, 16]) {
      it(`${name}, depth ${depth}: interrupted at random ticks, resumed`, async () => {
        const { info, data } = input(depth, seed++)
        const source = arraySource(info, data)
        const expected = await Effect.runPromise(Memory.evaluate((alg) => ({ out: build(alg, alg.source(source)) })))
        const want = Array.from(expected.volumes.out!.data)
        const next = xorshift32(seed++)
        for (let trial = 0; trial < 3; trial++) {
          const output = path.join(dir, `${name.replace(/\W+/g, "-")}-${depth}-${trial}.nrrd`)
          const sink: SliceSink = nrrdSink(output)
          const program: Program = (alg) => ({ out: alg.write(build(alg, alg.source(source)), sink) })
          const resume: Run.ResumeOptions = { journal: `${output}.slicewise-journal`, identity: { slicewise: "test", inputs: [], steps: [name] }, interval: 1 + (next() % 4) }
          const options: Run.RunOptions = { resume, threads: 1 }
          const interval = resume.interval!
          let finished = false
          for (let attempt = 0; attempt < 4 && !finished; attempt++) {
            const ticks = 1 + (next() % (depth + 6))
            // Every other trial is killed instead: its state as at a checkpoint up to 5 ticks before.
            const exit = await Effect.runPromise(trial === 1 ? killAfter(program, options, Math.max(1, ticks - (next() % 6)), ticks) : runUntil(program, options, ticks))
            if (Exit.isSuccess(exit)) {
              finished = true
              if (exit.value.resumed !== undefined) resumes.push({ ...exit.value.resumed, program: name, interval })
            } else expect(Exit.isInterrupted(exit)).toBe(true)
          }
          if (!finished) {
            const result = await Effect.runPromise(Run.run(program, options))
            expect(result.resumed).toBeDefined()
            resumes.push({ ...result.resumed!, program: name, interval })
          }
          expect(Array.from(voxelsOf(output, info))).toEqual(want)
          expect(fs.existsSync(resume.journal)).toBe(false)
          expect(fs.readdirSync(dir).filter((n) => n.includes(".partial-"))).toEqual([])
        }
      })
    }
  }

  it("the trials resumed mid-pass, keeping verified slices, and redid fewer slices than they kept", () => {
    const midPass = resumes.filter((r) => r.slice > 0 && r.kept > 0)
    expect(midPass.length).toBeGreaterThan(10)
    expect(midPass.some((r) => r.redone < r.slice)).toBe(true)
  })

  it("passes with sweeps and folds resumed from their saved state: only the rings' refill was read again", () => {
    for (const name of ["edt (sweeps both ways, a spill)", "a window after a sweep", "label (a fold, then a sweep)", "ball dilation (a sweep reading ahead)", "otsu of floats (folds over three passes)"]) {
      const mine = resumes.filter((r) => r.program === name)
      expect(mine.filter((r) => r.slice > 0).length, name).toBeGreaterThan(2)
      // The deepest refill: the ball's lookahead (2) and the zsum windows' reach (1 each).
      for (const r of mine) expect(r.redone, `${name}: ${JSON.stringify(r)}`).toBeLessThanOrEqual(3)
    }
  })

  it("a run resumed in the pass after a reduction took the scalar from the journal instead of folding again", () => {
    const second = resumes.filter((r) => r.program === "reduction, then a second pass" && r.pass === 1 && r.slice > 0)
    expect(second.length).toBeGreaterThan(0)
    // Only the rings' refill (zsum reaches 1 slice back per window), not pass 1's 16 + ticks.
    for (const r of second) expect(r.redone).toBeLessThanOrEqual(2)
  })
})

describe("checkpointPlan", () => {
  it("counts the checkpoints a journaled run makes and says where each pass restarts", async () => {
    const { info, data } = input(40, 5)
    const source = arraySource(info, data)
    const output = path.join(dir, "checkpoints.nrrd")
    const build = PROGRAMS.find((p) => p.name === "reduction, then a second pass")!.build
    const program: Program = (alg) => ({ out: alg.write(build(alg, alg.source(source)), nrrdSink(output)) })
    const plan = await Effect.runPromise(Plan.make(program, { threads: 1 }))
    const c = Plan.checkpointPlan(plan, 4)
    expect(c.checkpoints).toBe(1 + plan.passes.reduce((a, p) => a + Math.ceil(p.ticks / 4), 0))
    expect(c.passes.map((p) => p.restart)).toEqual(["checkpoint", "checkpoint"])
    // Pass 1 saves min-max's state (16 bytes per slice of depth) and zsum's ring, before it; pass 2 has no state.
    expect(c.passes.map((p) => p.stateBytes)).toEqual([16 * 40, 0])
    expect(c.stateBytesWritten).toBe(16 * 40 * (Math.ceil(plan.passes[0]!.ticks / 4) - 1))
    // The estimate of the last journal is of the order of the real one (the min/max value aside).
    const journal = `${output}.slicewise-journal`
    let size = 0
    const watched: Run.RunOptions = { threads: 1, resume: { journal, identity: { slicewise: "test", inputs: [], steps: [] }, interval: 4 }, onProgress: () => { if (fs.existsSync(journal)) size = fs.statSync(journal).size } }
    await Effect.runPromise(Run.run(program, watched))
    expect(size).toBeGreaterThan(c.journalBytes / 3)
    expect(size).toBeLessThan(c.journalBytes * 2)
  })
})

describe("a resumed run writing an uncompressed TIFF stack = the memory interpreter", () => {
  it("two windows, depth 16: interrupted at random ticks, resumed; the stack reads back as memory's voxels", async () => {
    const { info, data } = input(16, 77)
    const source = arraySource(info, data)
    const build = PROGRAMS[1]!.build
    const expected = await Effect.runPromise(Memory.evaluate((alg) => ({ out: build(alg, alg.source(source)) })))
    const next = xorshift32(78)
    for (let trial = 0; trial < 4; trial++) {
      const output = path.join(dir, `stack-${trial}`)
      const program: Program = (alg) => ({ out: alg.write(build(alg, alg.source(source)), tiffStackSink(output)) })
      const resume: Run.ResumeOptions = { journal: `${output}.slicewise-journal`, identity: { slicewise: "test", inputs: [], steps: [] }, interval: 1 + (next() % 3) }
      let finished = false
      for (let attempt = 0; attempt < 4 && !finished; attempt++) {
        const exit = await Effect.runPromise(runUntil(program, { resume, threads: 1 }, 1 + (next() % 20)))
        finished = Exit.isSuccess(exit)
      }
      if (!finished) await Effect.runPromise(Run.run(program, { resume, threads: 1 }))
      const stack = await Effect.runPromise(openTiffStack(output))
      const got = await Effect.runPromise(
        Effect.scoped(
          Effect.gen(function* () {
            const reader = yield* stack.open
            const slice = new Float32Array(30)
            const all: Array<number> = []
            for (let z = 0; z < 16; z++) {
              yield* reader.read(z, slice as never)
              all.push(...slice)
            }
            return all
          })
        )
      )
      expect(got).toEqual(Array.from(expected.volumes.out!.data))
      expect(fs.existsSync(resume.journal)).toBe(false)
      expect(fs.readdirSync(dir).filter((n) => n.includes(".partial-"))).toEqual([])
    }
  })
})

describe("a resumed run writing NIfTI (.nii) = the memory interpreter", () => {
  it("edt, depth 16: interrupted and killed at random ticks, resumed; the voxels after the 352-byte header are memory's", async () => {
    const { info, data } = input(16, 91)
    const source = arraySource(info, data)
    const build = PROGRAMS.find((p) => p.name === "a window after a sweep")!.build
    const expected = await Effect.runPromise(Memory.evaluate((alg) => ({ out: build(alg, alg.source(source)) })))
    const next = xorshift32(92)
    let kept = 0
    for (let trial = 0; trial < 4; trial++) {
      const output = path.join(dir, `nii-${trial}.nii`)
      const program: Program = (alg) => ({ out: alg.write(build(alg, alg.source(source)), niftiSink(output)) })
      const resume: Run.ResumeOptions = { journal: `${output}.slicewise-journal`, identity: { slicewise: "test", inputs: [], steps: [] }, interval: 1 + (next() % 3) }
      const options: Run.RunOptions = { resume, threads: 1 }
      let finished = false
      for (let attempt = 0; attempt < 4 && !finished; attempt++) {
        const ticks = 1 + (next() % 30)
        const exit = await Effect.runPromise(trial % 2 === 1 ? killAfter(program, options, Math.max(1, ticks - 3), ticks) : runUntil(program, options, ticks))
        finished = Exit.isSuccess(exit)
        if (Exit.isSuccess(exit)) kept += exit.value.resumed?.kept ?? 0
      }
      if (!finished) kept += (await Effect.runPromise(Run.run(program, options))).resumed?.kept ?? 0
      const bytes = fs.readFileSync(output)
      expect(bytes.length).toBe(352 + 16 * 30 * 4)
      expect(Array.from(new Float32Array(new Uint8Array(bytes.subarray(352)).buffer))).toEqual(Array.from(expected.volumes.out!.data))
      expect(fs.existsSync(resume.journal)).toBe(false)
      expect(fs.readdirSync(dir).filter((n) => n.includes(".partial-"))).toEqual([])
    }
    // The interrupted runs' .nii temporaries were reopened and their slices kept.
    expect(kept).toBeGreaterThan(0)
  })
})

describe("what a resumed run reads back", () => {
  // Deep enough that the recent slices (the last 64 steps) are fewer than those written.
  const depth = 150
  const setUp = async (name: string) => {
    const { info, data } = input(depth, 123)
    const source = arraySource(info, data)
    const build = PROGRAMS[0]!.build
    const expected = Array.from((await Effect.runPromise(Memory.evaluate((alg) => ({ out: build(alg, alg.source(source)) })))).volumes.out!.data)
    const output = path.join(dir, `readback-${name}.nrrd`)
    const program: Program = (alg) => ({ out: alg.write(build(alg, alg.source(source)), nrrdSink(output)) })
    const options: Run.RunOptions = { resume: { journal: `${output}.slicewise-journal`, identity: { slicewise: "test", inputs: [], steps: [] }, interval: 4 }, threads: 1 }
    expect(Exit.isInterrupted(await Effect.runPromise(runUntil(program, options, 140)))).toBe(true)
    const temporary = path.join(dir, fs.readdirSync(dir).find((n) => n.startsWith(`readback-${name}.nrrd.partial-`))!)
    const dataStart = fs.statSync(temporary).size - volumeBytes(info)
    return { info, expected, output, program, options, temporary, dataStart, sliceBytes: 30 * 4 }
  }

  it("only the recent slices, when they match: the older ones are kept as journaled", async () => {
    const s = await setUp("recent")
    const result = await Effect.runPromise(Run.run(s.program, s.options))
    expect(result.resumed!.kept).toBeGreaterThan(100)
    expect(result.resumed!.verified).toBe(64)
    expect(Array.from(voxelsOf(s.output, s.info))).toEqual(s.expected)
  })

  it("a recent slice changed: kept up to it, and the rest written again", async () => {
    const s = await setUp("changed")
    const fd = fs.openSync(s.temporary, "r+")
    fs.writeSync(fd, Buffer.alloc(4, 0xff), 0, 4, s.dataStart + 120 * s.sliceBytes)
    fs.closeSync(fd)
    const result = await Effect.runPromise(Run.run(s.program, s.options))
    expect(result.resumed!.kept).toBe(120)
    expect(Array.from(voxelsOf(s.output, s.info))).toEqual(s.expected)
  })

  it("a temporary cut short: every slice is read back, and only those still there are kept", async () => {
    const s = await setUp("cut")
    fs.truncateSync(s.temporary, s.dataStart + 20 * s.sliceBytes + 7)
    const result = await Effect.runPromise(Run.run(s.program, s.options))
    expect(result.resumed!.kept).toBe(20)
    expect(result.resumed!.verified).toBe(20)
    expect(Array.from(voxelsOf(s.output, s.info))).toEqual(s.expected)
  })
})

describe("a resumed run writing Zarr = an uninterrupted run's store, file for file", () => {
  const cases: ReadonlyArray<{ name: string; options: Parameters<typeof zarrSink>[1] }> = [
    { name: "v2, zstd, chunks 4", options: { chunks: [4, 4, 4] } },
    { name: "v3, gzip, chunks 3", options: { version: 3, codec: { codec: "gzip" }, chunks: [3, 2, 4] } },
    { name: "OME pyramid of 3 levels", options: { chunks: [2, 4, 4], ome: { levels: 3 } } },
    { name: "OME labels, 2 levels", options: { chunks: [3, 4, 4], ome: { levels: 2, labels: true } } }
  ]
  let seed = 300
  for (const c of cases) {
    for (const program of [PROGRAMS[0]!, PROGRAMS.find((p) => p.name === "a window after a sweep")!]) {
      it(`${c.name}, ${program.name}: interrupted and killed at random ticks`, async () => {
        const { info, data } = input(17, seed++)
        const source = arraySource(info, data)
        const toStore = (output: string): Program => (alg) => ({ out: alg.write(alg.map(program.build(alg, alg.source(source)), (x) => E.round(x), { dtype: "int16" }), zarrSink(output, c.options)) })
        const reference = path.join(dir, `zarr-ref-${seed}.zarr`)
        await Effect.runPromise(Run.run(toStore(reference), { threads: 1 }))
        const next = xorshift32(seed++)
        let kept = 0
        for (let trial = 0; trial < 3; trial++) {
          const output = path.join(dir, `zarr-${seed}-${trial}.zarr`)
          const resume: Run.ResumeOptions = { journal: `${output}.slicewise-journal`, identity: { slicewise: "test", inputs: [], steps: [] }, interval: 1 + (next() % 4) }
          const options: Run.RunOptions = { resume, threads: 1 }
          let finished = false
          for (let attempt = 0; attempt < 4 && !finished; attempt++) {
            const ticks = 1 + (next() % 22)
            const exit = await Effect.runPromise(trial === 1 ? killAfter(toStore(output), options, Math.max(1, ticks - (next() % 5)), ticks) : runUntil(toStore(output), options, ticks))
            finished = Exit.isSuccess(exit)
            if (Exit.isSuccess(exit)) kept += exit.value.resumed?.kept ?? 0
          }
          if (!finished) kept += (await Effect.runPromise(Run.run(toStore(output), options))).resumed?.kept ?? 0
          expect(sameFiles(output, reference)).toBe(true)
          expect(fs.existsSync(resume.journal)).toBe(false)
          expect(fs.readdirSync(dir).filter((n) => n.includes(".partial-"))).toEqual([])
        }
        expect(kept).toBeGreaterThan(0)
      })
    }
  }
})
