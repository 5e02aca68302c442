/**
 * `slicewise batch --resume` (and a run job's `"resume": true`): a batch killed with SIGKILL in
 * the middle of its jobs, then run again with --resume, continues each unfinished job from its
 * last checkpoint and ends with the bytes of uninterrupted runs, nothing left over. A journal of
 * another run (other steps) is discarded and the job starts over, instead of failing the batch.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { leftovers, rawNrrd, runCli, sleep, startCli, tempDir } from "./cli.js"

let dir: string
let spills: string
const env = () => ({ SLICEWISE_SPILL_DIR: spills })
const JOBS = [
  { name: "smooth", steps: ["gaussian:sigma=1", "median:radius=1"] },
  { name: "distance", steps: ["gaussian:sigma=1", "threshold:min=128", "edt"] }
]
const reference = new Map<string, Buffer>()
let input: string

beforeAll(async () => {
  dir = tempDir("batch-resume")
  spills = path.join(dir, "spills")
  fs.mkdirSync(spills)
  input = rawNrrd(path.join(dir, "in.nrrd"), [96, 192, 192], 31)
  for (const j of JOBS) {
    const out = path.join(dir, `reference-${j.name}.nrrd`)
    const r = await runCli(["run", input, out, ...j.steps, "--threads", "1"], env())
    expect(r.code, r.stderr).toBe(0)
    reference.set(j.name, fs.readFileSync(out))
  }
}, 120_000)

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

const jobsFile = (out: string, steps: (j: (typeof JOBS)[number]) => ReadonlyArray<string> = (j) => j.steps): string => {
  const file = path.join(out, "jobs.json")
  const jobs = JOBS.map((j) => ({ kind: "run", name: j.name, input, output: path.join(out, `${j.name}.nrrd`), steps: steps(j) }))
  fs.writeFileSync(file, JSON.stringify({ jobs }))
  return file
}

describe("slicewise batch --resume", () => {
  it("killed mid-batch, run again with --resume: each job continues from its checkpoint, and the outputs are the uninterrupted runs' bytes", async () => {
    const out = tempDir("batch-resume-out")
    try {
      const file = jobsFile(out)
      const args = ["batch", file, "--memory", "2GiB", "--concurrency", "2", "--resume"]
      const first = startCli(args, env())
      // Kill once both jobs have checkpointed: each journal names a slice written.
      const journals = JOBS.map((j) => path.join(out, `${j.name}.nrrd.slicewise-journal`))
      const checkpointed = (f: string) => fs.existsSync(f) && /"done":[1-9]/.test(fs.readFileSync(f, "utf8"))
      let ended = false
      void first.done.then(() => (ended = true))
      while (!ended && !journals.every(checkpointed)) await sleep(5)
      expect(ended, "the batch finished before both jobs checkpointed").toBe(false)
      first.child.kill("SIGKILL")
      expect((await first.done).signal).toBe("SIGKILL")
      const again = await runCli(args, env())
      expect(again.code, again.stderr).toBe(0)
      for (const j of JOBS) {
        expect(again.stdout).toMatch(new RegExp(`^${j.name}: resumed at slice \\d+ of pass \\d of \\d \\([1-9]\\d* slices kept, the last \\d+ read back and verified\\); redid \\d+ slices$`, "m"))
        expect(fs.readFileSync(path.join(out, `${j.name}.nrrd`)).equals(reference.get(j.name)!), j.name).toBe(true)
      }
      expect(leftovers(out)).toEqual([])
      expect(leftovers(spills)).toEqual([])
    } finally {
      fs.rmSync(out, { recursive: true, force: true })
    }
  }, 180_000)

  it("a journal of other steps is discarded, with what it names, and the job starts over", async () => {
    const out = tempDir("batch-resume-other")
    try {
      // An interrupted journaled run of other steps, into the same outputs.
      const other = startCli(["batch", jobsFile(out, () => ["gaussian:sigma=2"]), "--memory", "2GiB", "--resume"], env())
      const journal = path.join(out, "smooth.nrrd.slicewise-journal")
      let ended = false
      void other.done.then(() => (ended = true))
      while (!ended && !fs.existsSync(journal)) await sleep(2)
      other.child.kill("SIGKILL")
      await other.done
      const r = await runCli(["batch", jobsFile(out), "--memory", "2GiB", "--resume"], env())
      expect(r.code, r.stderr).toBe(0)
      expect(r.stdout).not.toMatch(/resumed at/)
      for (const j of JOBS) expect(fs.readFileSync(path.join(out, `${j.name}.nrrd`)).equals(reference.get(j.name)!), j.name).toBe(true)
      expect(leftovers(out)).toEqual([])
    } finally {
      fs.rmSync(out, { recursive: true, force: true })
    }
  }, 180_000)
})
