/**
 * `slicewise runner`, `submit` and `status`: a cluster of runners on PostgreSQL (src/cluster/).
 * The cluster modules (@effect/cluster, the PostgreSQL client) load only when these run.
 *
 * @example
 * ```sh
 * slicewise runner --cluster postgres://db/slicewise --memory 16GiB --listen 10.0.0.5:34431 --name node-5
 * slicewise submit seg/pipeline.json --cluster postgres://db/slicewise --wait
 * ```
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as os from "node:os"
import { UsageError } from "../jobs/errors.js"
import { parseMemory } from "../jobs/memory.js"
import { formatBytes, formatMs } from "../util/units.js"
import type { JobReport } from "../cluster/protocol.js"

const cluster = Options.text("cluster").pipe(Options.withDescription("the cluster's PostgreSQL: postgres://user@host:port/database"))
const lock = Options.integer("lock-seconds").pipe(
  Options.optional,
  Options.withDescription("how long a dead runner's jobs stay locked before another takes them (default 10)")
)

const parseListen = (text: string): Effect.Effect<{ host: string; port: number }, UsageError> => {
  const m = /^(.+):(\d+)$/.exec(text)
  const port = m === null ? NaN : Number(m[2])
  return m !== null && port > 0 && port < 65536
    ? Effect.succeed({ host: m[1]!, port })
    : Effect.fail(new UsageError({ detail: `--listen ${text}: give HOST:PORT (e.g. 10.0.0.5:34431)` }))
}

export const runnerCommand = Command.make(
  "runner",
  {
    cluster,
    memory: Options.text("memory").pipe(Options.withDescription("this runner's memory (its own RSS and its jobs'): jobs are taken while their predicted peaks fit")),
    listen: Options.text("listen").pipe(Options.withDefault("127.0.0.1:34431"), Options.withDescription("HOST:PORT where other runners reach this one")),
    name: Options.text("name").pipe(Options.optional, Options.withDescription("this runner's name in reports (default: host name and port)")),
    lock
  },
  (a) =>
    Effect.gen(function* () {
      const memoryBytes = yield* parseMemory(a.memory, "--memory")
      const listen = yield* parseListen(a.listen)
      const name = Option.getOrElse(a.name, () => `${os.hostname()}:${listen.port}`)
      const { runRunner } = yield* Effect.promise(() => import("../cluster/runner.js"))
      const log = (line: string) => process.stderr.write(`${new Date().toISOString()} ${name} ${line}\n`)
      yield* runRunner({
        url: a.cluster,
        listen,
        name,
        memoryBytes,
        ...(Option.isSome(a.lock) ? { lockSeconds: a.lock.value } : {}),
        onReady: (budget, baseline) =>
          log(
            `runner on ${listen.host}:${listen.port}, memory ${formatBytes(memoryBytes)}: jobs may use ${formatBytes(budget)} (${budget} bytes; ` +
              `the runner takes ${formatBytes(baseline)} and ${formatBytes(memoryBytes - budget - baseline)} of headroom)`
          ),
        onReaped: (n) => log(`reaped ${n} process group(s) a runner that died here left running`),
        onStart: (j) => log(`start ${j.name} (predicted ${formatBytes(j.predictedBytes)})`),
        onFinish: (r) => log(`${r.state} ${r.name}${r.error ? `: ${r.error}` : ""}`)
      })
    })
).pipe(Command.withDescription("join a cluster and run its jobs while their predicted peaks fit this runner's memory"))

/** Some jobs of a submitted pipeline did not finish: the one line the CLI prints. */
export class PipelineFailedError extends Data.TaggedError("PipelineFailedError")<{ readonly id: string; readonly unfinished: number; readonly total: number }> {
  override get message(): string {
    return `pipeline ${this.id}: ${this.unfinished} of ${this.total} jobs did not finish`
  }
}

const reportLine = (r: JobReport): string =>
  [
    r.name.padEnd(16),
    r.state.padEnd(8),
    (r.runner ?? "—").padEnd(16),
    String(r.attempts).padStart(3),
    (r.predictedBytes === undefined ? "—" : formatBytes(r.predictedBytes)).padStart(10),
    (r.measuredBytes === undefined ? "—" : formatBytes(r.measuredBytes)).padStart(10),
    (r.cpuMs === undefined ? "—" : formatMs(r.cpuMs)).padStart(9),
    (r.wallMs === undefined ? "—" : formatMs(r.wallMs)).padStart(9),
    (r.bytesRead === undefined ? "—" : formatBytes(r.bytesRead)).padStart(10),
    (r.bytesWritten === undefined ? "—" : formatBytes(r.bytesWritten)).padStart(10),
    r.error ? `  ${r.error}` : ""
  ].join(" ")

export const submitCommand = Command.make(
  "submit",
  {
    pipeline: Args.text({ name: "pipeline.json" }).pipe(Args.withDescription("a pipeline (jobs) file, as batch takes it")),
    cluster,
    wait: Options.boolean("wait").pipe(Options.withDescription("follow the pipeline to its end and print every job's report")),
    json: Options.boolean("json").pipe(Options.withDescription("print the reports as JSON"))
  },
  (a) =>
    Effect.gen(function* () {
      const { submitPipeline } = yield* Effect.promise(() => import("../cluster/runner.js"))
      const { id, reports } = yield* submitPipeline(a.pipeline, { url: a.cluster, wait: a.wait })
      if (reports === undefined) return console.log(a.json ? JSON.stringify({ id }) : `submitted pipeline ${id}`)
      if (a.json) console.log(JSON.stringify({ id, jobs: reports }, null, 2))
      else {
        const head = ["job".padEnd(16), "state".padEnd(8), "runner".padEnd(16), "att", "predicted".padStart(10), "measured".padStart(10), "cpu".padStart(9), "wall".padStart(9), "read".padStart(10), "written".padStart(10)]
        console.log([`pipeline ${id}`, head.join(" "), ...reports.map(reportLine)].join("\n"))
      }
      const unfinished = reports.filter((r) => r.state !== "done").length
      if (unfinished > 0) return yield* new PipelineFailedError({ id, unfinished, total: reports.length })
    })
).pipe(Command.withDescription("submit a pipeline to a cluster (the same pipeline twice runs once); --wait follows it to the end"))

export const statusCommand = Command.make(
  "status",
  {
    pipeline: Args.text({ name: "ID" }).pipe(Args.optional, Args.withDescription("a pipeline's id (as submit prints it): its jobs")),
    cluster,
    json: Options.boolean("json").pipe(Options.withDescription("print the status as JSON"))
  },
  (a) =>
    Effect.gen(function* () {
      const m = yield* Effect.promise(() => import("../cluster/runner.js"))
      if (Option.isSome(a.pipeline)) {
        const jobs = yield* m.pipelineStatusOf(a.cluster, a.pipeline.value)
        if (a.json) return console.log(JSON.stringify({ pipeline: a.pipeline.value, jobs }, null, 2))
        if (jobs.length === 0) return console.log(`pipeline ${a.pipeline.value}: no job queued (unknown id, or none of its jobs ready yet)`)
        const line = (j: (typeof jobs)[number]) =>
          [j.name.padEnd(16), j.state.padEnd(8), (j.runner ?? "—").padEnd(16), formatBytes(j.predictedBytes).padStart(10), String(j.takes).padStart(5)].join(" ")
        return console.log([`pipeline ${a.pipeline.value}`, `${"job".padEnd(16)} ${"state".padEnd(8)} ${"runner".padEnd(16)} ${"predicted".padStart(10)} takes`, ...jobs.map(line)].join("\n"))
      }
      const s = yield* m.clusterStatusOf(a.cluster)
      if (a.json) return console.log(JSON.stringify(s, null, 2))
      const runners = s.runners.map(
        (r) => `  ${r.name.padEnd(20)} ${formatBytes(r.runningBytes)} of ${formatBytes(r.budgetBytes)} in ${r.runningJobs} job(s), seen ${r.seenSecondsAgo.toFixed(0)} s ago`
      )
      const pipelines = s.pipelines.map(
        (p) => `  ${p.pipeline}  queued ${p.queued}, running ${p.running}${Object.entries(p.finished).map(([k, n]) => `, ${k} ${n}`).join("")}`
      )
      console.log([`runners (${s.runners.length})`, ...runners, `pipelines (${s.pipelines.length})`, ...pipelines].join("\n"))
    })
).pipe(Command.withDescription("the runners of a cluster and its pipelines, or the jobs of one pipeline"))
