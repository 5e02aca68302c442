/**
 * What a cluster runner costs in resident memory, for deployment (docs/CLUSTER.md): a runner of
 * the installed CLI (bin/slicewise.js, the bundle; run `npm run build` first) joins a PostgreSQL of
 * its own; its RSS is sampled from /proc while idle, while it runs a pipeline of small slicewise
 * jobs (one at a time and several at once) and after. Prints one table.
 *
 *   npx tsx bench/cluster/runner-memory.ts [--jobs 12] [--memory 2GiB]
 */
import { execFile, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { promisify } from "node:util"
import * as Effect from "effect/Effect"
import { Memory } from "../../src/interpreters/index.js"
import { phantomSource, sinkFor } from "../../src/io/index.js"
import { freePort, startPostgres } from "../../test/support/postgres.js"

const root = path.resolve(import.meta.dirname, "../..")
const bin = path.join(root, "bin/slicewise.js")
const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? process.argv[i + 1]! : fallback
}
const jobCount = Number(arg("jobs", "12"))
const memory = arg("memory", "2GiB")
const MiB = 2 ** 20

const rssOf = (pid: number): number => {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))
  return m === null ? 0 : Number(m[1]) * 1024
}

/** Samples `pid`'s RSS every 50 ms until `until` resolves: the peak and the last sample. */
const sampleWhile = async (pid: number, until: Promise<unknown>) => {
  let peak = rssOf(pid)
  let done = false
  void until.finally(() => (done = true))
  while (!done) {
    peak = Math.max(peak, rssOf(pid))
    await new Promise((r) => setTimeout(r, 50))
  }
  return { peak, last: rssOf(pid) }
}

const run = promisify(execFile)
const slicewise = (...args: Array<string>) => run(process.execPath, [bin, ...args], { cwd: root, maxBuffer: 1 << 26 })

const main = async () => {
  if (!fs.existsSync(path.join(root, "dist/bundle/slicewise.mjs"))) throw new Error("build the CLI first: npm run build")
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "slicewise-runner-memory-"))
  const pg = await startPostgres()
  const port = await freePort()
  const runner = spawn(process.execPath, [bin, "runner", "--cluster", pg.url, "--memory", memory, "--listen", `127.0.0.1:${port}`, "--name", "bench"], {
    cwd: root,
    stdio: ["ignore", "ignore", "pipe"]
  })
  const log: Array<string> = []
  runner.stderr!.setEncoding("utf8").on("data", (s: string) => log.push(s))
  try {
    const started = Date.now()
    while (!log.join("").includes("runner on")) {
      if (Date.now() - started > 60_000) throw new Error(`the runner did not start: ${log.join("")}`)
      await new Promise((r) => setTimeout(r, 100))
    }
    const ready = log.join("").match(/the runner takes ([\d.]+ \w+)/)?.[1] ?? "?"
    const idle = await sampleWhile(runner.pid!, new Promise((r) => setTimeout(r, 5000)))

    await Effect.runPromise(
      Effect.gen(function* () {
        const volume = yield* Memory.loadSource(phantomSource({ shape: [64, 256, 256], dtype: "uint16", seed: 1 }))
        yield* Memory.storeVolume(volume, yield* sinkFor(path.join(dir, "in.nrrd")))
      })
    )
    const jobs = Array.from({ length: jobCount }, (_, i) => ({
      kind: "run",
      name: `median-${i}`,
      input: path.join(dir, "in.nrrd"),
      output: path.join(dir, `out-${i}.nrrd`),
      steps: ["median:radius=1"]
    }))
    fs.writeFileSync(path.join(dir, "pipeline.json"), JSON.stringify({ jobs }))
    const submitted = slicewise("submit", path.join(dir, "pipeline.json"), "--cluster", pg.url, "--wait", "--json")
    const busy = await sampleWhile(runner.pid!, submitted)
    const reports = JSON.parse((await submitted).stdout).jobs as Array<{ state: string; predictedBytes: number; startedAt: number; finishedAt: number }>
    const most = Math.max(...reports.map((r) => reports.filter((o) => o.startedAt < r.finishedAt && r.startedAt < o.finishedAt).length))
    const after = await sampleWhile(runner.pid!, new Promise((r) => setTimeout(r, 5000)))

    const f = (b: number) => `${(b / MiB).toFixed(1)} MiB`
    console.log(`machine: ${os.cpus()[0]?.model} × ${os.cpus().length}, ${f(os.totalmem())}, node ${process.version}`)
    console.log(`runner: bin/slicewise.js runner --memory ${memory}; it reported its own RSS at start as ${ready}`)
    console.log(`| phase | RSS (peak) | RSS (last) |`)
    console.log(`| --- | --- | --- |`)
    console.log(`| idle, 5 s after start | ${f(idle.peak)} | ${f(idle.last)} |`)
    console.log(`| ${jobCount} median jobs (64×256×256 uint16, predicted ${f(reports[0]!.predictedBytes)} each; at most ${most} at once) | ${f(busy.peak)} | ${f(busy.last)} |`)
    console.log(`| idle, 5 s after | ${f(after.peak)} | ${f(after.last)} |`)
    console.log(`jobs done: ${reports.filter((r) => r.state === "done").length} of ${reports.length}`)
  } finally {
    runner.kill("SIGKILL")
    await pg.stop()
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

await main()
