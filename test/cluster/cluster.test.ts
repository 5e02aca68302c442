/**
 * Two runners on a real PostgreSQL (test/support/postgres.ts), each a `slicewise runner` process:
 * a pipeline's jobs run on both, each after the jobs it comes after, with the voxels a local run
 * gives; the same pipeline submitted twice runs once; a runner killed with SIGKILL mid-job has the
 * job run again on the other, and the pipeline completes.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import * as Effect from "effect/Effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Memory } from "../../src/interpreters/index.js"
import { openSource, phantomSource, sinkFor } from "../../src/io/index.js"
import { clusterFixture, waitFor } from "../support/cluster.js"
import { groupAlive } from "../../src/jobs/exec/orphans.js"

/** The process groups recorded on this machine, by their owners. */
const groupRecords = () =>
  fs.existsSync(fixture.groupsDirectory)
    ? fs.readdirSync(fixture.groupsDirectory).flatMap((f) => {
        try {
          return [JSON.parse(fs.readFileSync(path.join(fixture.groupsDirectory, f), "utf8")) as { owner: number; pgid: number }]
        } catch {
          return []
        }
      })
    : []

const fixture = clusterFixture()
const { runners, startRunner, cli, submit, writePipeline, budgets } = fixture
let dir: string

/** A prediction only one of which fits a runner at a time: 60 % of the smaller budget. */
let jobBytes = 0

/** An exec job that predicts `jobBytes` (so a runner takes one at a time) and sleeps. */
const slowCopy = (name: string, seconds: number, after: ReadonlyArray<string> = []) => ({
  kind: "exec",
  name,
  ...(after.length > 0 ? { after } : {}),
  command: ["sh", "-c", `sleep ${seconds} && cp "$0" "$1"`, "{input0}", "{output0}"],
  inputs: [path.join(dir, "in.tif")],
  outputs: [path.join(dir, `${name}.tif`)],
  memory: String(jobBytes)
})

beforeAll(async () => {
  await fixture.start()
  dir = fixture.dir
  await Effect.runPromise(
    Effect.gen(function* () {
      const volume = yield* Memory.loadSource(phantomSource({ shape: [12, 48, 40], seed: 3 }))
      yield* Memory.storeVolume(volume, yield* sinkFor(path.join(dir, "in.tif")))
    })
  )
  await fixture.startRunners(["A", "B"])
  jobBytes = Math.floor(0.6 * Math.min(...budgets()))
}, 90_000)

afterAll(() => fixture.stop())

describe("slicewise runner and submit on PostgreSQL", () => {
  it("runs a pipeline on both runners, each job after those it comes after, with the voxels of a local run", async () => {
    const input = path.join(dir, "in.tif")
    const file = writePipeline("p1", [
      slowCopy("copy-1", 2),
      slowCopy("copy-2", 2),
      slowCopy("copy-3", 2),
      { kind: "run", name: "smooth", after: ["copy-1"], input: path.join(dir, "copy-1.tif"), output: path.join(dir, "smooth.nrrd"), steps: ["median:radius=1"] },
      { kind: "run", name: "mask", after: ["smooth", "copy-2"], input: path.join(dir, "smooth.nrrd"), output: path.join(dir, "mask.nii"), steps: ["threshold:min=100"] }
    ])
    const r = await submit(file, "--wait", "--json")
    expect(r.code, r.stderr).toBe(0)
    const { id, jobs } = JSON.parse(r.stdout) as { id: string; jobs: Array<{ name: string; state: string; runner: string; startedAt: number; finishedAt: number; predictedBytes: number }> }
    const by = new Map(jobs.map((j) => [j.name, j]))
    expect(jobs.map((j) => j.state)).toEqual(["done", "done", "done", "done", "done"])
    // Each copy predicts 60 % of a runner's budget: a runner has room for one at a time, so no
    // runner ran two at once, and the three spread over both runners.
    const copies = ["copy-1", "copy-2", "copy-3"].map((n) => by.get(n)!)
    expect(copies.every((c) => c.predictedBytes === jobBytes)).toBe(true)
    expect(new Set(copies.map((c) => c.runner))).toEqual(new Set(["A", "B"]))
    for (const a of copies)
      for (const b of copies)
        if (a !== b && a.runner === b.runner) expect(a.finishedAt <= b.startedAt || b.finishedAt <= a.startedAt, `${a.name} and ${b.name} overlap on ${a.runner}`).toBe(true)
    expect(by.get("smooth")!.startedAt).toBeGreaterThanOrEqual(by.get("copy-1")!.finishedAt)
    expect(by.get("mask")!.startedAt).toBeGreaterThanOrEqual(Math.max(by.get("smooth")!.finishedAt, by.get("copy-2")!.finishedAt))
    // The voxels of the same steps run here.
    const local = path.join(dir, "local.nii")
    const run = await cli("run", input, local, "median:radius=1", "threshold:min=100")
    expect(run.code, run.stderr).toBe(0)
    const load = (p: string) => Effect.flatMap(openSource(p), Memory.loadSource)
    const [mine, theirs] = await Effect.runPromise(Effect.all([load(path.join(dir, "mask.nii")), load(local)]))
    expect(Buffer.from(mine.data.buffer).equals(Buffer.from(theirs.data.buffer))).toBe(true)

    // status: both runners alive, with their budgets; the pipeline's jobs all finished, where they ran.
    const status = await cli("status", "--cluster", fixture.url, "--json")
    expect(status.code, status.stderr).toBe(0)
    const cluster = JSON.parse(status.stdout) as { runners: Array<{ name: string; budgetBytes: number }>; pipelines: Array<{ pipeline: string; queued: number; running: number; finished: Record<string, number> }> }
    expect(cluster.runners.map((x) => x.name)).toEqual(["A", "B"])
    // What each announced: its budget at start, less what the runner itself has grown since.
    cluster.runners.forEach((x, i) => {
      expect(x.budgetBytes).toBeLessThanOrEqual(budgets()[i]!)
      expect(x.budgetBytes).toBeGreaterThan(budgets()[i]! - 200 * 2 ** 20)
    })
    expect(cluster.pipelines.find((p) => p.pipeline === id)).toEqual({ pipeline: id, queued: 0, running: 0, finished: { done: 5 } })
    const one = await cli("status", id, "--cluster", fixture.url, "--json")
    expect(one.code, one.stderr).toBe(0)
    const listed = (JSON.parse(one.stdout) as { jobs: Array<{ name: string; state: string; runner: string }> }).jobs
    expect(Object.fromEntries(listed.map((j) => [j.name, [j.state, j.runner]]))).toEqual(Object.fromEntries(jobs.map((j) => [j.name, ["done", j.runner]])))

    // The same pipeline again: the same id, the same reports, and no job started again.
    const starts = runners.flatMap((x) => x.log).filter((l) => l.includes(" start ")).length
    const again = await submit(file, "--wait", "--json")
    expect(again.code, again.stderr).toBe(0)
    expect(JSON.parse(again.stdout)).toEqual({ id, jobs })
    expect(runners.flatMap((x) => x.log).filter((l) => l.includes(" start ")).length).toBe(starts)
  }, 120_000)

  it("refuses at submit a job larger than every runner (naming what it needs and the largest runner), a cycle and a missing input", async () => {
    const huge = await submit(writePipeline("p3", [{ ...slowCopy("huge", 0), memory: "100GiB" }]), "--wait")
    expect(huge.code).toBe(1)
    expect(huge.stderr).toMatch(/job huge needs 100 GiB; the largest runner, [AB], has .* for jobs: nothing submitted/)
    const cycle = await submit(writePipeline("p4", [slowCopy("x", 0, ["y"]), slowCopy("y", 0, ["x"])]))
    expect(cycle.code).toBe(1)
    expect(cycle.stderr).toContain("after makes a circle: x → y → x")
    const missing = await submit(writePipeline("p5", [{ ...slowCopy("lost", 0), inputs: [path.join(dir, "nowhere.tif")] }]))
    expect(missing.code).toBe(1)
    expect(missing.stderr).toContain("nowhere.tif: no such file, and no job this one comes after writes it")
    expect(fs.existsSync(path.join(dir, "huge.tif"))).toBe(false)
  }, 60_000)

  it("a job too large, known once the job it comes after is done, is refused then; the pipeline fails", async () => {
    const file = writePipeline("p6", [slowCopy("first", 0), { ...slowCopy("later", 0, ["first"]), inputs: [path.join(dir, "first.tif")], memory: "100GiB" }])
    const r = await submit(file, "--wait", "--json")
    expect(r.code).toBe(1)
    expect(r.stderr).toContain("1 of 2 jobs did not finish")
    const jobs = (JSON.parse(r.stdout) as { jobs: Array<{ state: string; error?: string }> }).jobs
    expect(jobs.map((j) => j.state)).toEqual(["done", "refused"])
    expect(jobs[1]!.error).toMatch(/^needs 100 GiB; the largest runner, [AB], has .* for jobs$/)
    expect(fs.existsSync(path.join(dir, "later.tif"))).toBe(false)
  }, 60_000)

  it("a runner killed mid-job: the job runs again on the other, the pipeline completes, and a new runner reaps the orphan", async () => {
    const file = writePipeline("p2", [slowCopy("slow", 10)])
    const first = await submit(file)
    expect(first.code, first.stderr).toBe(0)
    await waitFor(() => runners.some((r) => r.log.some((l) => l.includes("start slow"))), 30_000, "a runner to take the job")
    const victim = runners.find((r) => r.log.some((l) => l.includes("start slow")))!
    // Once its command runs (in its own process group, recorded on this machine), the runner is killed.
    await waitFor(() => groupRecords().some((g) => g.owner === victim.child.pid), 10_000, "the command to start")
    const orphan = groupRecords().find((g) => g.owner === victim.child.pid)!
    victim.child.kill("SIGKILL")
    await new Promise((r) => setTimeout(r, 500))
    expect(groupAlive(orphan.pgid), "the command outlives its runner").toBe(true)
    const reaper = await startRunner("C")
    await waitFor(() => reaper.log.some((l) => l.includes("runner on")), 60_000, "runner C to start")
    expect(reaper.log.some((l) => l.includes("reaped 1 process group(s)"))).toBe(true)
    expect(groupAlive(orphan.pgid)).toBe(false)
    expect(fs.readdirSync(dir).filter((f) => f.startsWith(`.slicewise-${victim.child.pid}-`))).toEqual([])
    const r = await submit(file, "--wait", "--json")
    expect(r.code, r.stderr).toBe(0)
    const [report] = (JSON.parse(r.stdout) as { jobs: Array<{ state: string; runner: string }> }).jobs
    expect(report!.state).toBe("done")
    expect(report!.runner).not.toBe(victim.name)
    expect(fs.readFileSync(path.join(dir, "slow.tif")).equals(fs.readFileSync(path.join(dir, "in.tif")))).toBe(true)
  }, 120_000)

  it("every runner alive at submit killed, one after the other, mid-job: the workflow's host is among them, and the pipeline still completes with the same bytes", async () => {
    const alive = () => runners.filter((r) => r.child.exitCode === null && r.child.signalCode === null)
    const hosts = alive()
    expect(hosts.length).toBe(2)
    const file = writePipeline("p7", [slowCopy("s1", 4), { ...slowCopy("s2", 4, ["s1"]), inputs: [path.join(dir, "s1.tif")] }])
    expect((await submit(file)).code).toBe(0)
    const running = (job: string) => alive().find((r) => r.log.some((l) => l.includes(`start ${job}`)))
    // The one running s1 is killed mid-job; a new runner joins.
    await waitFor(() => running("s1") !== undefined, 30_000, "a runner to take s1")
    const first = running("s1")!
    first.child.kill("SIGKILL")
    const fresh = await startRunner("D")
    await waitFor(() => fresh.log.some((l) => l.includes("runner on")), 60_000, "runner D to start")
    // Once s2 runs, the other runner alive at submit is killed too (mid-job if s2 is on it): the
    // workflow's host at submit was one of the two.
    await waitFor(() => running("s2") !== undefined, 60_000, "a runner to take s2")
    const second = hosts.find((r) => r !== first)!
    second.child.kill("SIGKILL")
    if (alive().length < 2) await startRunner("E")
    const r = await submit(file, "--wait", "--json")
    expect(r.code, r.stderr).toBe(0)
    const jobs = (JSON.parse(r.stdout) as { jobs: Array<{ name: string; state: string; runner: string }> }).jobs
    expect(jobs.map((j) => j.state)).toEqual(["done", "done"])
    expect(jobs[0]!.runner).not.toBe(first.name)
    for (const name of ["s1", "s2"]) expect(fs.readFileSync(path.join(dir, `${name}.tif`)).equals(fs.readFileSync(path.join(dir, "in.tif")))).toBe(true)
  }, 150_000)
})
