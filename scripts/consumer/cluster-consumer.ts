/**
 * A program that uses `slicewise/cluster` as an installed package, with its optional peer
 * dependencies (@effect/cluster, @effect/workflow …) installed beside it: a cluster in one
 * process — the pipeline workflow on @effect/workflow's in-memory engine, the in-memory job queue
 * and pipeline records, two workers with their own budgets — runs a pipeline of two jobs read
 * from a pipeline file: an exec job that copies a volume the library wrote, then a run job that
 * smooths the copy. scripts/consumer/check.mjs type-checks it under moduleResolution node16 and
 * bundler and runs it with node. It exits non-zero on any mismatch.
 *
 *   node cluster-consumer.js DIR          writes its files under DIR, checks everything
 */
import * as WorkflowEngine from "@effect/workflow/WorkflowEngine"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as fs from "node:fs"
import * as path from "node:path"
import { Memory, openSource, phantomSource, Run, sinkFor, type VoxelArray } from "slicewise"
import {
  clientLayer,
  JobReport,
  memoryStorageLayer,
  pipelineId,
  PipelineLive,
  pipelineOf,
  PipelinePayload,
  PipelineRecordsService,
  runWorker,
  SlicewisePipeline,
  type JobState,
  type QueuedJob,
  type WorkerOptions
} from "slicewise/cluster"
import { parseSteps, pipeline } from "slicewise/jobs"

const STEPS = ["gaussian:sigma=1"]
const MiB = 2 ** 20

const fail = (what: string): never => {
  throw new Error(`cluster consumer: ${what}`)
}

const differing = (a: VoxelArray, b: VoxelArray): number => {
  if (a.length !== b.length) return Math.max(a.length, b.length)
  let n = 0
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) n++
  return n
}

/** The cluster in this process: the workflow on the in-memory engine, storage in memory. */
const oneProcess = PipelineLive.pipe(Layer.provideMerge(Layer.merge(WorkflowEngine.layerMemory, memoryStorageLayer({ lockSeconds: 10 }))))

const check = (dir: string) =>
  Effect.gen(function* () {
    fs.mkdirSync(dir, { recursive: true })
    // The entry point's other exports are there (the PostgreSQL layers are not started here).
    if (typeof clientLayer !== "function" || typeof JobReport.fields.state === "undefined") fail("slicewise/cluster lacks an export")

    // The input, written by the library: a small uint16 phantom as TIFF.
    const input = path.join(dir, "phantom.tif")
    const phantom = yield* Memory.loadSource(phantomSource({ shape: [6, 40, 48], dtype: "uint16", seed: 5 }))
    yield* Memory.storeVolume(phantom, yield* sinkFor(input))

    // The pipeline file: an exec job copies the input, a run job smooths the copy after it.
    const file = path.join(dir, "pipeline.json")
    const jobs = [
      { kind: "exec", name: "copy", command: ["cp", "{input0}", "{output0}"], inputs: ["phantom.tif"], outputs: ["copy.tif"], memory: "16MiB" },
      { kind: "run", name: "smooth", after: ["copy"], input: "copy.tif", output: "smooth.tif", steps: STEPS }
    ]
    fs.writeFileSync(file, JSON.stringify({ jobs }, null, 2))
    const payload: PipelinePayload = yield* pipelineOf(file)
    if (payload.id !== pipelineId(payload.jobs)) fail(`the payload's id ${payload.id} is not pipelineId(jobs)`)
    if (payload.jobs.map((j) => j.name).join() !== "copy,smooth") fail(`the payload's jobs are ${payload.jobs.map((j) => j.name).join()}`)

    const started: Array<string> = []
    const worker = (runner: string, budgetBytes: number): WorkerOptions => ({
      runner,
      budgetBytes,
      pollMillis: 20,
      onStart: (job: QueuedJob) => void started.push(`${job.name}@${runner}`)
    })
    const { reports, again, record } = yield* Effect.gen(function* () {
      yield* Effect.forkScoped(runWorker(worker("w1", 256 * MiB)))
      yield* Effect.forkScoped(runWorker(worker("w2", 128 * MiB)))
      const reports = yield* SlicewisePipeline.execute(payload)
      // The same pipeline again is the same workflow: its reports, nothing run twice.
      const again = yield* SlicewisePipeline.execute(payload)
      const records = yield* PipelineRecordsService
      const record = yield* records.get(payload.id)
      return { reports, again, record }
    }).pipe(Effect.scoped, Effect.provide(oneProcess))

    const states = reports.map((r) => `${r.name}:${r.state}`).join(", ")
    const done: JobState = "done"
    if (reports.length !== 2 || reports.some((r) => r.state !== done)) fail(`reports ${states}${reports.map((r) => (r.error ? ` (${r.name}: ${r.error})` : "")).join("")}`)
    const byName = new Map(reports.map((r) => [r.name, r]))
    if (byName.get("copy")?.kind !== "exec" || byName.get("smooth")?.kind !== "run") fail(`kinds ${reports.map((r) => `${r.name}:${r.kind}`).join(", ")}`)
    for (const r of reports) if (r.runner !== "w1" && r.runner !== "w2") fail(`${r.name} ran on ${r.runner ?? "no runner"}`)
    if (!(byName.get("smooth")!.startedAt! >= byName.get("copy")!.finishedAt!)) fail("smooth started before copy finished")
    if (started.length !== 2) fail(`jobs started ${started.join(", ")}: each once, also after the second execute`)
    if (again.map((r) => `${r.name}:${r.state}:${r.runner}`).join() !== reports.map((r) => `${r.name}:${r.state}:${r.runner}`).join()) fail("the second execute gave other reports")
    if (Option.isNone(record) || record.value.finishedAt === undefined || record.value.reports?.length !== 2) fail("the pipeline's record is missing or unfinished")

    // The outputs: the copy is the input's bytes; the smoothed copy is what the library's own run gives.
    if (!fs.readFileSync(path.join(dir, "copy.tif")).equals(fs.readFileSync(input))) fail("copy.tif is not a copy of phantom.tif")
    const reference = path.join(dir, "reference.tif")
    yield* Run.run(pipeline(yield* openSource(input), yield* parseSteps(STEPS), yield* sinkFor(reference)))
    const smooth = yield* Memory.loadSource(yield* openSource(path.join(dir, "smooth.tif")))
    const expected = yield* Memory.loadSource(yield* openSource(reference))
    const n = differing(smooth.data, expected.data)
    if (n !== 0 || smooth.info.dtype !== "uint16") fail(`smooth.tif (${smooth.info.dtype}) differs from the library's run in ${n} voxels`)
    console.log(`cluster: ${states}; ran ${started.join(", ")}; smooth.tif = the library's run (${smooth.info.shape.join("×")} ${smooth.info.dtype})`)
    console.log("cluster consumer: every check passed")
  })

// No process.exit: once the workers' scope is closed nothing may keep the process alive (check.mjs
// would time out).
Effect.runPromise(check(path.resolve(process.argv[2] ?? "cluster-data"))).catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e))
  process.exitCode = 1
})
