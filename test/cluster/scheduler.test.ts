/**
 * The cluster's scheduling in one process: the pipeline workflow on @effect/workflow's in-memory
 * engine, the job queue in memory (src/cluster/memory-storage.ts, the PostgreSQL queue's
 * contract) and several workers, each a runner with its own budget, running real exec jobs. Fast
 * checks of placement by memory, dependencies, refusal, lapsed locks and given-up jobs; the
 * same workflow and workers on PostgreSQL across processes are in cluster.test.ts.
 */
import * as WorkflowEngine from "@effect/workflow/WorkflowEngine"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { makeMemoryJobQueue, makeMemoryPipelineRecords } from "../../src/cluster/memory-storage.js"
import { PipelineLive, SlicewisePipeline } from "../../src/cluster/pipeline.js"
import { PipelineRecordsService } from "../../src/cluster/pipelines.js"
import { pipelineId, type JobReport, type PipelinePayload } from "../../src/cluster/protocol.js"
import { JobQueueService, type JobQueue } from "../../src/cluster/queue.js"
import { runWorker, type WorkerOptions } from "../../src/cluster/worker.js"

const MiB = 2 ** 20
let dir: string

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "slicewise-scheduler-"))
  fs.writeFileSync(path.join(dir, "in.txt"), "voxels")
})
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

/** An exec job predicting `mib` MiB that sleeps and copies; its output is named after it. */
const sleepy = (name: string, mib: number, after: ReadonlyArray<string> = [], seconds = 0.3) => ({
  name,
  after,
  definition: {
    kind: "exec",
    name,
    command: ["sh", "-c", `sleep ${seconds} && cp "$0" "$1"`, "{input0}", "{output0}"],
    inputs: [after.length > 0 ? path.join(dir, `${after[0]}.txt`) : path.join(dir, "in.txt")],
    outputs: [path.join(dir, `${name}.txt`)],
    memory: `${mib}MiB`
  }
})

const payloadOf = (jobs: PipelinePayload["jobs"]): PipelinePayload => ({ id: pipelineId(jobs), jobs })

/** What each runner was running, over time: its running predictions at every start. */
interface Trace {
  readonly starts: Array<{ runner: string; name: string; runningBytes: number }>
}

/** Forks one worker per entry of `budgets` (MiB); what they start is traced. */
const startWorkers = (budgets: Readonly<Record<string, number>>, own?: WorkerOptions["own"]) =>
  Effect.gen(function* () {
    const trace: Trace = { starts: [] }
    const running = new Map<string, Map<string, number>>()
    for (const [runner, mib] of Object.entries(budgets)) {
      running.set(runner, new Map())
      yield* Effect.forkScoped(
        runWorker({
          runner,
          budgetBytes: mib * MiB,
          pollMillis: 20,
          ...(own === undefined ? {} : { own }),
          onStart: (job) => {
            const mine = running.get(runner)!
            mine.set(job.name, job.predictedBytes)
            trace.starts.push({ runner, name: job.name, runningBytes: [...mine.values()].reduce((a, b) => a + b, 0) })
          },
          onFinish: (r) => void running.get(runner)!.delete(r.name)
        })
      )
    }
    return trace
  })

/** `body` with the pipeline workflow on the in-memory engine and `queue`. */
const inCluster = <A, E, R>(body: Effect.Effect<A, E, R>, queue: JobQueue = makeMemoryJobQueue()) =>
  body.pipe(
    Effect.scoped,
    Effect.provide(
      PipelineLive.pipe(
        Layer.provideMerge(
          Layer.mergeAll(WorkflowEngine.layerMemory, Layer.succeed(JobQueueService, queue), Layer.sync(PipelineRecordsService, makeMemoryPipelineRecords))
        )
      )
    )
  )

/** Runs `payload` on one worker per entry of `budgets` (MiB): the reports and the trace. */
const runCluster = (payload: PipelinePayload, budgets: Readonly<Record<string, number>>) =>
  inCluster(
    Effect.gen(function* () {
      const trace = yield* startWorkers(budgets)
      return { reports: yield* SlicewisePipeline.execute(payload), trace }
    })
  )

const byName = (reports: ReadonlyArray<JobReport>) => new Map(reports.map((r) => [r.name, r]))

describe("cluster scheduling (in memory)", () => {
  it("places jobs by memory: a runner never exceeds its budget, a bigger runner takes more, both are used", async () => {
    // 8 jobs of 40 MiB; runner big holds 3 at once (130 MiB), small holds 1 (50 MiB).
    const jobs = Array.from({ length: 8 }, (_, i) => sleepy(`j${i}`, 40))
    const { reports, trace } = await Effect.runPromise(runCluster(payloadOf(jobs), { big: 130, small: 50 }))
    expect(reports.map((r) => r.state)).toEqual(Array(8).fill("done"))
    const budget = { big: 130 * MiB, small: 50 * MiB } as Record<string, number>
    for (const s of trace.starts) expect(s.runningBytes).toBeLessThanOrEqual(budget[s.runner]!)
    expect(Math.max(...trace.starts.filter((s) => s.runner === "big").map((s) => s.runningBytes))).toBe(120 * MiB)
    const counts = reports.reduce((m, r) => m.set(r.runner!, (m.get(r.runner!) ?? 0) + 1), new Map<string, number>())
    expect(counts.get("small")).toBeGreaterThanOrEqual(1)
    expect(counts.get("big")).toBeGreaterThan(counts.get("small")!)
    for (const j of jobs) expect(fs.readFileSync(path.join(dir, `${j.name}.txt`), "utf8")).toBe("voxels")
  })

  it("queues every job whose dependencies are done at once: independent jobs overlap on runners with room", async () => {
    const jobs = [sleepy("p1", 10, [], 1), sleepy("p2", 10, [], 1), sleepy("p3", 10, [], 1), sleepy("q1", 10, ["p1"], 1), sleepy("q2", 10, ["p2"], 1)]
    const { reports } = await Effect.runPromise(runCluster(payloadOf(jobs), { r1: 100, r2: 100 }))
    const by = byName(reports)
    const overlap = (a: string, b: string) => by.get(a)!.startedAt! < by.get(b)!.finishedAt! && by.get(b)!.startedAt! < by.get(a)!.finishedAt!
    expect(overlap("p1", "p2") && overlap("p2", "p3") && overlap("p1", "p3")).toBe(true)
    expect(overlap("q1", "q2")).toBe(true)
  })

  it("takes the largest job that fits first, and a small job fills the room a large one leaves", async () => {
    const payload = payloadOf([sleepy("s1", 10), sleepy("l1", 60), sleepy("s2", 10), sleepy("l2", 60)])
    const trace = await Effect.runPromise(
      inCluster(
        Effect.gen(function* () {
          // Every job queued before the runner looks: its first take sees them all.
          yield* SlicewisePipeline.execute(payload, { discard: true })
          yield* Effect.sleep(300)
          const trace = yield* startWorkers({ only: 80 })
          yield* SlicewisePipeline.execute(payload)
          return trace
        })
      )
    )
    // A large one first, then both small ones beside it (80 MiB); the second large one when the first is done.
    expect(trace.starts.map((s) => s.name)).toEqual(["l1", "s1", "s2", "l2"])
    expect(trace.starts.slice(0, 3).map((s) => s.runningBytes / MiB)).toEqual([60, 70, 80])
    expect(trace.starts[3]!.runningBytes).toBeLessThanOrEqual(80 * MiB)
  })

  it("takes what the runner itself has grown since its budget was set out of that budget", async () => {
    const jobs = [sleepy("g1", 40), sleepy("g2", 40), sleepy("g3", 40)]
    const run = (grownMiB: number) =>
      Effect.runPromise(
        inCluster(
          Effect.gen(function* () {
            const trace = yield* startWorkers({ only: 100 }, { rss: () => (200 + grownMiB) * MiB, baselineBytes: 200 * MiB })
            yield* SlicewisePipeline.execute(payloadOf(jobs))
            return trace
          })
        )
      )
    // 100 MiB holds two 40 MiB jobs; after 30 MiB of growth, one.
    expect(Math.max(...(await run(0)).starts.map((s) => s.runningBytes))).toBeGreaterThan(40 * MiB)
    expect(Math.max(...(await run(30)).starts.map((s) => s.runningBytes))).toBe(40 * MiB)
  })

  it("runs each job after those it comes after, and reports jobs after a failed one as not run", async () => {
    const fail = { name: "bad", after: [], definition: { kind: "exec", name: "bad", command: ["sh", "-c", "exit 3", "{output0}"], outputs: [path.join(dir, "bad.txt")], memory: "1MiB" } }
    const jobs = [sleepy("a", 10), sleepy("b", 10, ["a"]), sleepy("c", 10, ["b"]), fail, sleepy("d", 10, ["bad"])]
    const { reports } = await Effect.runPromise(runCluster(payloadOf(jobs), { r1: 100, r2: 100 }))
    const by = byName(reports)
    expect(by.get("b")!.startedAt!).toBeGreaterThanOrEqual(by.get("a")!.finishedAt!)
    expect(by.get("c")!.startedAt!).toBeGreaterThanOrEqual(by.get("b")!.finishedAt!)
    expect(by.get("bad")!.state).toBe("failed")
    expect(by.get("d")!.state).toBe("not-run")
    expect(by.get("d")!.error).toContain("comes after bad")
  })

  it("a pipeline submitted twice runs once: the second submission gets the first one's reports", async () => {
    const payload = payloadOf([sleepy("once", 10)])
    const { first, second, trace } = await Effect.runPromise(
      inCluster(
        Effect.gen(function* () {
          const trace = yield* startWorkers({ r1: 100 })
          const first = yield* SlicewisePipeline.execute(payload)
          const second = yield* SlicewisePipeline.execute(payload)
          return { first, second, trace }
        })
      )
    )
    expect(second).toEqual(first)
    expect(trace.starts.map((s) => s.name)).toEqual(["once"])
  })

  it("refuses a job larger than every runner, naming what it needs and the largest runner", async () => {
    const { reports } = await Effect.runPromise(runCluster(payloadOf([sleepy("huge", 4096), sleepy("fine", 10)]), { r1: 100, r2: 200 }))
    const by = byName(reports)
    expect(by.get("huge")!.state).toBe("refused")
    expect(by.get("huge")!.error).toBe("needs 4.00 GiB; the largest runner, r2, has 200 MiB for jobs")
    expect(by.get("fine")!.state).toBe("done")
  })

  it("a job whose runner stopped refreshing its lock is taken again; one taken too often is given up", async () => {
    let skew = 0
    const queue = makeMemoryJobQueue({ lockSeconds: 1, now: () => Date.now() + skew })
    // A runner that takes the job and dies, three times (each time its lock lapses).
    const ghost = Effect.gen(function* () {
      for (let takes = 0; takes < 3; ) {
        if (Option.isSome(yield* queue.take("ghost", 2 ** 40))) {
          takes++
          skew += 2000
        } else yield* Effect.sleep(10)
      }
    })
    const payload = payloadOf([sleepy("x", 10)])
    const program = Effect.gen(function* () {
      yield* SlicewisePipeline.execute(payload, { discard: true })
      yield* ghost
      // The live runner starts after the ghost's third take: its take is the fourth.
      yield* startWorkers({ live: 100 })
      return yield* SlicewisePipeline.execute(payload)
    })
    const reports = await Effect.runPromise(inCluster(program, queue))
    expect(reports[0]!.state).toBe("failed")
    expect(reports[0]!.error).toContain("given up: taken 3 times")
  })
})
