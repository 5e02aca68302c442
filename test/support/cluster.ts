/**
 * A cluster for tests: a PostgreSQL of its own (./postgres.ts), a temporary directory, `slicewise
 * runner` processes started from the sources (tsx) with their stderr kept, and the CLI run against
 * it without blocking the test worker. Each test file makes one and stops it in afterAll.
 *
 * @example
 * ```ts
 * const cluster = clusterFixture()
 * beforeAll(async () => { await cluster.start(); await cluster.startRunners(["A", "B"]) }, 90_000)
 * afterAll(() => cluster.stop())
 * const r = await cluster.submit(cluster.writePipeline("p", jobs), "--wait", "--json")
 * ```
 */
import { execFile, spawn, type ChildProcess } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { freePort, startPostgres, type Postgres } from "./postgres.js"

export const root = path.resolve(__dirname, "../..")
export const cliArgs = ["--import", "tsx", path.join(root, "src/cli/main.ts")]

export interface Runner {
  readonly name: string
  readonly child: ChildProcess
  readonly log: Array<string>
}

export interface CliResult {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Waits until `what` holds; past `ms`, fails naming `label` (a function: what to say then, e.g. the runners' logs). */
export const waitFor = async (what: () => boolean, ms: number, label: string | (() => string)) => {
  const end = Date.now() + ms
  while (!what()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${typeof label === "string" ? label : label()}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

/**
 * Runs the CLI to its end without blocking this worker's event loop (a spawnSync of a minute
 * starves vitest's own messages: "Timeout calling onTaskUpdate").
 */
export const cli = (...args: Array<string>) =>
  new Promise<CliResult>((resolve) =>
    execFile(process.execPath, [...cliArgs, ...args], { cwd: root, encoding: "utf8", timeout: 120_000 }, (error, stdout, stderr) =>
      resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : null, stdout, stderr })
    )
  )

export const clusterFixture = () => {
  let pg: Postgres | undefined
  let dir: string | undefined
  const runners: Array<Runner> = []
  const url = () => pg!.url
  const tmp = () => {
    const t = path.join(dir!, "tmp")
    fs.mkdirSync(t, { recursive: true })
    return t
  }

  const startRunner = async (name: string, memory = "1GiB"): Promise<Runner> => {
    const port = await freePort()
    const child = spawn(
      process.execPath,
      [...cliArgs, "runner", "--cluster", url(), "--memory", memory, "--listen", `127.0.0.1:${port}`, "--name", name, "--lock-seconds", "4"],
      // A temporary directory of this fixture's own: its runners record their commands' process groups
      // there (orphans.ts), so that the runners of another test file do not reap this one's orphans.
      { cwd: root, stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, TMPDIR: tmp() } }
    )
    const runner = { name, child, log: [] as Array<string> }
    child.stderr!.setEncoding("utf8").on("data", (s: string) => runner.log.push(...s.split("\n").filter((l) => l !== "")))
    runners.push(runner)
    return runner
  }

  return {
    runners,
    startRunner,
    get url() {
      return url()
    },
    get dir() {
      return dir!
    },
    /** PostgreSQL and the directory. */
    start: async (prefix = "slicewise-cluster-") => {
      pg = await startPostgres()
      dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix))
    },
    /** Runners of 1 GiB, until each says it runs. */
    startRunners: async (names: ReadonlyArray<string>) => {
      const started = await Promise.all(names.map((n) => startRunner(n)))
      await waitFor(() => started.every((r) => r.log.some((l) => l.includes("runner on"))), 60_000, () =>
        `the runners to start; their logs:\n${started.map((r) => `${r.name} (exit ${r.child.exitCode ?? r.child.signalCode ?? "-"}): ${r.log.join("\n  ")}`).join("\n")}`)
    },
    stop: async () => {
      for (const r of runners) r.child.kill("SIGKILL")
      await pg?.stop()
      if (dir) fs.rmSync(dir, { recursive: true, force: true })
    },
    cli,
    submit: (file: string, ...flags: Array<string>) => cli("submit", file, "--cluster", url(), ...flags),
    writePipeline: (name: string, jobs: ReadonlyArray<object>) => {
      const file = path.join(dir!, `${name}.json`)
      fs.writeFileSync(file, JSON.stringify({ jobs }))
      return file
    },
    /** Where this fixture's runners record the process groups of their commands (orphans.ts). */
    get groupsDirectory() {
      return path.join(tmp(), "slicewise-groups")
    },
    /** What each runner said its jobs may use, bytes. */
    budgets: () => runners.map((r) => Number(/jobs may use .* \((\d+) bytes/.exec(r.log.join("\n"))?.[1]))
  }
}
