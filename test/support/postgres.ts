/**
 * A throwaway PostgreSQL for tests: Debian's server binaries, a cluster initialised in a temporary
 * directory, listening on a free loopback port, trust authentication, fsync off. As root it runs
 * as the `postgres` user (initdb refuses root). Without PostgreSQL installed it throws, naming the
 * package: the cluster tests fail rather than skip (CI installs it).
 */
import { execFile } from "node:child_process"
import { promisify } from "node:util"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as nodePath from "node:path"

export interface Postgres {
  readonly url: string
  readonly stop: () => Promise<void>
}

// Asynchronous: initdb and pg_ctl take seconds, more on a busy machine, and a synchronous call would
// stop the test worker from answering vitest meanwhile.
const run = promisify(execFile)

const binDir = (): string => {
  const root = "/usr/lib/postgresql"
  const versions = fs.existsSync(root) ? fs.readdirSync(root).filter((v) => fs.existsSync(nodePath.join(root, v, "bin", "initdb"))) : []
  if (versions.length === 0) throw new Error("PostgreSQL is not installed: apt-get install postgresql (the cluster tests need its server)")
  return nodePath.join(root, versions.sort((a, b) => Number(b) - Number(a))[0]!, "bin")
}

export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as net.AddressInfo).port
      server.close(() => resolve(port))
    })
  })

export const startPostgres = async (): Promise<Postgres> => {
  const bin = binDir()
  const dir = fs.mkdtempSync(nodePath.join(os.tmpdir(), "slicewise-pg-"))
  const asRoot = process.getuid?.() === 0
  if (asRoot) await run("chown", ["postgres", dir])
  const tool = (name: string, args: ReadonlyArray<string>) =>
    asRoot ? run("runuser", ["-u", "postgres", "--", nodePath.join(bin, name), ...args]) : run(nodePath.join(bin, name), [...args])
  const data = nodePath.join(dir, "data")
  await tool("initdb", ["-D", data, "-A", "trust", "-U", "postgres", "--no-sync"])
  const port = await freePort()
  const settings = `-k ${dir} -p ${port} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`
  await tool("pg_ctl", ["-D", data, "-o", settings, "-l", nodePath.join(dir, "log"), "-w", "start"])
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop: async () => {
      try {
        await tool("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"])
      } finally {
        fs.rmSync(dir, { recursive: true, force: true })
      }
    }
  }
}
