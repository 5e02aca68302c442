/**
 * SIGINT and SIGTERM at any point of a run: the run stops with the shell's status for the signal
 * (130, 143), leaves no temporary, no lock and no spill, and an output that existed before the run
 * is untouched — unless the signal came after the new output was committed, in which case the run
 * exits 0 with the new output complete. The points are random delays (fixed seed) after the run
 * takes its output's lock, spread over an uninterrupted run's time from then to its exit, the commit
 * included (measured from the lock, not the start: Node's start-up time varies far more under load
 * than the run's). A signal at start-up, before the CLI has installed its handlers, kills Node
 * itself, which a shell reports with the same status.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { xorshift32 } from "../support/voxels.js"
import { leftovers, rawNrrd, sleep, startCli, tempDir, timedFromLock, untilLocked, type PipelineCase } from "./cli.js"

let dir: string
let spills: string

const cases: Array<PipelineCase> = []

beforeAll(async () => {
  dir = tempDir("signals")
  spills = path.join(dir, "spills")
  fs.mkdirSync(spills)
  cases.push(
    { name: "gaussian", input: rawNrrd(path.join(dir, "big.nrrd"), [200, 512, 512], 3), steps: ["gaussian:sigma=1"], result: Buffer.alloc(0), ms: 0 },
    // edt spills its forward sweep to SLICEWISE_SPILL_DIR for the backward pass.
    { name: "edt (spills)", input: rawNrrd(path.join(dir, "mid.nrrd"), [100, 256, 256], 4), steps: ["threshold:min=128", "edt"], result: Buffer.alloc(0), ms: 0 }
  )
  for (const c of cases) {
    const output = path.join(dir, `complete-${cases.indexOf(c)}.nrrd`)
    c.ms = await timedFromLock(["run", c.input, output, ...c.steps], output, { SLICEWISE_SPILL_DIR: spills })
    c.result = fs.readFileSync(output)
  }
}, 120_000)

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

const STATUS = { SIGINT: 130, SIGTERM: 143 } as const

describe("a signal mid-write", () => {
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    // SIGINT with no output before the run, SIGTERM over an existing one.
    const previous = signal === "SIGTERM" ? Buffer.from("NRRD0004\ntype: uint8\ndimension: 1\nsizes: 3\nencoding: raw\n\nold") : undefined
    it(`${signal}: exits ${STATUS[signal]}, says "interrupted", leaves ${previous ? "the previous output untouched" : "no output"} and no temporary, lock or spill`, async () => {
      const out = tempDir("signal-once")
      try {
        const output = path.join(out, "out.nrrd")
        if (previous) fs.writeFileSync(output, previous)
        const before = fs.readdirSync(out).length
        const run = startCli(["run", cases[1]!.input, output, ...cases[1]!.steps], { SLICEWISE_SPILL_DIR: spills })
        // Once the run writes (its temporary and lock exist), signal it.
        const deadline = Date.now() + 60_000
        while (fs.readdirSync(out).length < before + 2 && Date.now() < deadline) await sleep(10)
        expect(fs.readdirSync(out).length).toBe(before + 2)
        run.child.kill(signal)
        const r = await run.done
        expect(r.code).toBe(STATUS[signal])
        expect(r.stderr).toBe("slicewise: interrupted\n")
        expect(fs.readdirSync(out)).toEqual(previous ? ["out.nrrd"] : [])
        if (previous) expect(fs.readFileSync(output).equals(previous)).toBe(true)
        expect(fs.readdirSync(spills)).toEqual([])
      } finally {
        fs.rmSync(out, { recursive: true, force: true })
      }
    }, 120_000)
  }
})

describe("signals at random points, over a previous good output", () => {
  const outcomes: Array<string> = []
  const next = xorshift32(22)
  const points: Array<{ signal: "SIGINT" | "SIGTERM"; c: number; fraction: number }> = []
  for (let i = 0; i < 8; i++) points.push({ signal: i % 2 === 0 ? "SIGINT" : "SIGTERM", c: (i >> 1) % 2, fraction: (next() % 1000) / 1000 })

  for (const [i, p] of points.entries()) {
    it(`${p.signal} at ${(p.fraction * 100).toFixed(1)}% of a ${i % 4 < 2 ? "gaussian" : "spilling edt"} run: ${STATUS[p.signal]} and the old output, or 0 and the new`, async () => {
      const c = cases[p.c]!
      const out = tempDir("signal-random")
      try {
        const output = path.join(out, "out.nrrd")
        const previous = Buffer.from(`NRRD0004\ntype: uint8\ndimension: 1\nsizes: 3\nencoding: raw\n\nold`)
        fs.writeFileSync(output, previous)
        const run = startCli(["run", c.input, output, ...c.steps], { SLICEWISE_SPILL_DIR: spills })
        await untilLocked(output, run.done)
        await sleep(p.fraction * c.ms)
        run.child.kill(p.signal)
        const r = await run.done
        const now = fs.readFileSync(output)
        outcomes.push(r.status === 0 ? "finished" : r.code === null ? "killed before the handlers" : "interrupted")
        if (r.status === 0) {
          // The signal came after the run had finished its work: the new output, complete.
          expect(now.equals(c.result)).toBe(true)
        } else {
          expect(r.status, r.stderr).toBe(STATUS[p.signal])
          if (r.code !== null) expect(r.stderr).toBe("slicewise: interrupted\n")
          // The old output, or (a signal between the commit and the end of the run) the new one
          // complete: never a mix, never nothing.
          expect(now.equals(previous) || now.equals(c.result)).toBe(true)
        }
        expect(leftovers(out)).toEqual([])
        expect(fs.readdirSync(out)).toEqual(["out.nrrd"])
        expect(fs.readdirSync(spills)).toEqual([])
      } finally {
        fs.rmSync(out, { recursive: true, force: true })
      }
    }, 120_000)
  }

  it("most of those points interrupted a run (else the delays test nothing)", () => {
    expect(outcomes.filter((o) => o === "interrupted").length, outcomes.join(", ")).toBeGreaterThanOrEqual(4)
  })
})
