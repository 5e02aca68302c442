/**
 * `slicewise run … --resume` (docs/RESUME.md), with real processes:
 *
 * - kill -9 at seeded random points after the run takes its output's lock, then --resume, itself
 *   killed again at random points some of the time, until a run finishes: the output is byte for
 *   byte an uninterrupted run's, and nothing is left (temporary, journal, lock, spill). Pipelines:
 *   windows in one pass; a reduction then windows (otsu, two passes); windows and sweeps with a
 *   spill between two passes (edt); and once for a TIFF stack output.
 * - SIGINT keeps the journal and temporary, says so in one line (exit 130), and --resume finishes.
 * - A journal that does not fit (the input changed, other steps, another slicewise) is refused in
 *   one line and left in place; a run without --resume starts over and removes it.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { xorshift32 } from "../support/voxels.js"
import { sameFiles } from "../support/files.js"
import { leftovers, rawNrrd, runCli, sleep, startCli, tempDir, timedFromLock, untilLocked, type PipelineCase } from "./cli.js"

let dir: string
let spills: string
/** Kill points whose next run said "resumed at …" (kept slices), against all points. */
const resumedPoints = { resumed: 0, points: 0 }

// `ms`: of an uninterrupted --resume run.
const cases: Array<PipelineCase> = []

const env = () => ({ SLICEWISE_SPILL_DIR: spills })

beforeAll(async () => {
  dir = tempDir("resume")
  spills = path.join(dir, "spills")
  fs.mkdirSync(spills)
  cases.push(
    { name: "windows", input: rawNrrd(path.join(dir, "w.nrrd"), [96, 192, 192], 5), steps: ["gaussian:sigma=1", "median:radius=1"], result: Buffer.alloc(0), ms: 0 },
    { name: "otsu (a reduction, then windows)", input: rawNrrd(path.join(dir, "o.nrrd"), [96, 160, 160], 6), steps: ["median:radius=1", "otsu"], result: Buffer.alloc(0), ms: 0 },
    { name: "edt (sweeps, a spill)", input: rawNrrd(path.join(dir, "e.nrrd"), [64, 160, 160], 7), steps: ["gaussian:sigma=1", "threshold:min=128", "edt"], result: Buffer.alloc(0), ms: 0 }
  )
  for (const c of cases) {
    const reference = path.join(dir, `reference-${cases.indexOf(c)}.nrrd`)
    const plain = await runCli(["run", c.input, reference, ...c.steps, "--threads", "1"], env())
    expect(plain.code, plain.stderr).toBe(0)
    c.result = fs.readFileSync(reference)
    const timed = path.join(dir, `timed-${cases.indexOf(c)}.nrrd`)
    c.ms = await timedFromLock(["run", c.input, timed, ...c.steps, "--threads", "1", "--resume"], timed, env())
    expect(fs.readFileSync(timed).equals(c.result)).toBe(true)
  }
}, 180_000)

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

describe("kill -9 at random points, then --resume", () => {
  const next = xorshift32(2207)
  const POINTS = 3
  for (const c of [0, 1, 2]) {
    for (let i = 0; i < POINTS; i++) {
      const fraction = 0.05 + 0.9 * ((next() % 1000) / 1000)
      const killAgain = next() % 2 === 0
      it(`${["windows", "otsu", "edt"][c]}: killed at ${(fraction * 100).toFixed(0)}%${killAgain ? ", its resume killed too" : ""}: the uninterrupted run's bytes`, async () => {
        const k = cases[c]!
        const out = tempDir("resume-kill")
        try {
          const output = path.join(out, "out.nrrd")
          const args = ["run", k.input, output, ...k.steps, "--threads", "1", "--resume"]
          let delay = fraction * k.ms
          let kills = killAgain ? 2 : 1
          let last = ""
          for (let round = 0; round < 6; round++) {
            const run = startCli(args, env())
            await untilLocked(output, run.done)
            let killed = false
            if (kills > 0) {
              kills--
              await sleep(delay)
              killed = run.child.kill("SIGKILL")
              delay = delay / 2
            }
            const ended = await run.done
            if (ended.code === 0) {
              last = ended.stdout
              break
            }
            expect(killed).toBe(true)
            expect(ended.signal).toBe("SIGKILL")
          }
          expect(fs.readFileSync(output).equals(k.result)).toBe(true)
          expect(leftovers(out)).toEqual([])
          expect(leftovers(spills)).toEqual([])
          // A resumed run says where it picked up (a kill before the first checkpoint starts over).
          resumedPoints.points++
          if (last.includes("resumed at")) {
            resumedPoints.resumed++
            expect(last).toMatch(/resumed at slice \d+ of pass \d of \d \(\d+ slices kept, the last \d+ read back and verified\); redid \d+ slices/)
            // Sweeps and folds go on from their saved state: what is read again is a checkpoint
            // interval (16) at most, never a whole pass.
            expect(Number(/redid (\d+) slices/.exec(last)![1])).toBeLessThanOrEqual(16)
          }
        } finally {
          fs.rmSync(out, { recursive: true, force: true })
        }
      }, 120_000)
    }
  }
})

// Outputs whose temporaries are directories: a TIFF stack killed once, an OME-Zarr pyramid (its
// store and its row log) killed twice.
for (const { what, name, kills } of [
  { what: "a TIFF stack", name: "stack", kills: [0.5] },
  { what: "an OME-Zarr pyramid", name: "out.ome.zarr", kills: [0.4, 0.3] }
]) {
  describe(`kill -9 of a run writing ${what}${kills.length > 1 ? ", twice," : ","} then --resume`, () => {
    it("gives the uninterrupted run's files, byte for byte, and leaves nothing", async () => {
      const k = cases[name === "stack" ? 0 : 2]!
      const out = tempDir("resume-dir")
      try {
        const reference = path.join(out, `reference-${name}`)
        expect((await runCli(["run", k.input, reference, ...k.steps, "--threads", "1"], env())).code).toBe(0)
        const output = path.join(out, name)
        const args = ["run", k.input, output, ...k.steps, "--threads", "1", "--resume"]
        for (const fraction of kills) {
          const run = startCli(args, env())
          await untilLocked(output, run.done)
          await sleep(k.ms * fraction)
          run.child.kill("SIGKILL")
          await run.done
        }
        const again = await runCli(args, env())
        expect(again.code, again.stderr).toBe(0)
        expect(sameFiles(output, reference)).toBe(true)
        expect(leftovers(out)).toEqual([])
        expect(leftovers(spills)).toEqual([])
      } finally {
        fs.rmSync(out, { recursive: true, force: true })
      }
    }, 120_000)
  })
}

describe("the kill points", () => {
  it("mostly hit a run that had checkpointed (else they test little)", () => {
    expect(resumedPoints.resumed).toBeGreaterThanOrEqual(resumedPoints.points / 2)
  })
})

describe("SIGINT of a --resume run", () => {
  it("exits 130 saying it is resumable, keeps journal and temporary, and --resume finishes it", async () => {
    const k = cases[0]!
    const out = tempDir("resume-int")
    try {
      const output = path.join(out, "out.nrrd")
      const args = ["run", k.input, output, ...k.steps, "--threads", "1", "--resume"]
      const run = startCli(args, env())
      await untilLocked(output, run.done)
      await sleep(k.ms * 0.4)
      run.child.kill("SIGINT")
      const ended = await run.done
      expect(ended.status).toBe(130)
      expect(ended.stderr.trim().split("\n").at(-1)).toBe(
        `slicewise: interrupted; resumable: run the same command with --resume (journal ${output}.slicewise-journal)`
      )
      expect(leftovers(out).sort()).toEqual([expect.stringMatching(/^out\.nrrd\.partial-/), "out.nrrd.slicewise-journal"])
      const again = await runCli(args, env())
      expect(again.code, again.stderr).toBe(0)
      expect(again.stdout).toMatch(/resumed at slice [1-9]\d* of pass 1 of 1 \([1-9]\d* slices kept, the last \d+ read back and verified\); redid \d slices/)
      expect(fs.readFileSync(output).equals(k.result)).toBe(true)
      expect(leftovers(out)).toEqual([])
    } finally {
      fs.rmSync(out, { recursive: true, force: true })
    }
  }, 120_000)
})

describe("a journal that does not fit the run", () => {
  /** Interrupts a --resume run of `steps` over a copy of the windows case's input; its paths. */
  const interrupted = async (out: string) => {
    const k = cases[0]!
    const input = path.join(out, "in.nrrd")
    fs.copyFileSync(k.input, input)
    const output = path.join(out, "out.nrrd")
    const run = startCli(["run", input, output, ...k.steps, "--threads", "1", "--resume"], env())
    await untilLocked(output, run.done)
    await sleep(k.ms * 0.4)
    run.child.kill("SIGINT")
    expect((await run.done).status).toBe(130)
    return { input, output, journal: `${output}.slicewise-journal`, steps: k.steps }
  }

  it("is refused in one line when the input changed, the steps differ or slicewise's version differs, and left in place", async () => {
    const out = tempDir("resume-mismatch")
    try {
      const { input, output, journal, steps } = await interrupted(out)
      const kept = fs.readFileSync(journal, "utf8")
      const refused = async (args: ReadonlyArray<string>, line: RegExp) => {
        const r = await runCli(["run", ...args, "--threads", "1", "--resume"], env())
        expect(r.code).toBe(1)
        const lines = r.stderr.trim().split("\n")
        expect(lines).toHaveLength(1)
        expect(lines[0]).toMatch(line)
        expect(fs.readFileSync(journal, "utf8")).toBe(kept)
        expect(fs.existsSync(`${output}.slicewise-lock`)).toBe(false)
      }
      const j = journal.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
      await refused([input, output, "gaussian:sigma=2", "median:radius=1"], new RegExp(`^slicewise: ${j}: steps: written by a run of ${steps.join(" ")}, this run's are gaussian:sigma=2 median:radius=1 \\(run without --resume to start over\\)$`))
      const stamp = fs.statSync(input)
      fs.utimesSync(input, stamp.atime, new Date(stamp.mtimeMs + 5000))
      await refused([input, output, ...steps], new RegExp(`^slicewise: ${j}: input: ${input.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} changed since the interrupted run \\(modified .* → .*\\) \\(run without --resume to start over\\)$`))
      fs.utimesSync(input, stamp.atime, stamp.mtime)
      const other = JSON.parse(kept) as { identity: { slicewise: string } }
      other.identity.slicewise = "0.0.1"
      fs.writeFileSync(journal, JSON.stringify(other))
      const r = await runCli(["run", input, output, ...steps, "--threads", "1", "--resume"], env())
      expect(r.code).toBe(1)
      expect(r.stderr.trim()).toMatch(/: version: written by slicewise 0\.0\.1, this is slicewise \d+\.\d+\.\d+ \(run without --resume to start over\)$/)
      // Starting over: the journal and the interrupted run's temporary are removed.
      const plain = await runCli(["run", input, output, ...steps, "--threads", "1"], env())
      expect(plain.code, plain.stderr).toBe(0)
      expect(fs.readFileSync(output).equals(cases[0]!.result)).toBe(true)
      expect(leftovers(out)).toEqual([])
    } finally {
      fs.rmSync(out, { recursive: true, force: true })
    }
  }, 120_000)
})

describe("an output that cannot be resumed yet", () => {
  it("is refused with --resume in one line, before anything is written", async () => {
    const out = tempDir("resume-tiff")
    try {
      const r = await runCli(["run", cases[0]!.input, path.join(out, "out.tif"), "gaussian:sigma=1", "--resume"], env())
      expect(r.code).toBe(1)
      expect(r.stderr.trim()).toBe(`slicewise: ${path.join(out, "out.tif")}: unsupported: --resume: a tiff output cannot be resumed yet (raw NRRD, .nii, Zarr and uncompressed TIFF stacks can)`)
      expect(fs.readdirSync(out)).toEqual([])
    } finally {
      fs.rmSync(out, { recursive: true, force: true })
    }
  }, 60_000)
})
