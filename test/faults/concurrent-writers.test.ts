/**
 * Two runs writing the same output: one wins, the other is refused at once with a FileError naming
 * the output and the run that holds it (src/io/output-lock.ts); the output is never a mix of the
 * two. A lock whose process is gone, or whose pid now belongs to another process, is taken over.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { acquireOutputLock, lockName, processStart } from "../../src/io/output-lock.js"
import { FileError } from "../../src/algebra/io-errors.js"
import { rawNrrd, runCli, startCli, tempDir } from "./cli.js"

let dir: string
let input: string
let reference: Buffer
const steps = ["gaussian:sigma=1"]

beforeAll(async () => {
  dir = tempDir("writers")
  // 50 MiB: a gaussian over it takes a few seconds here, so two runs started together overlap.
  input = rawNrrd(path.join(dir, "in.nrrd"), [200, 512, 512], 5)
  const single = path.join(dir, "single.nrrd")
  const r = await runCli(["run", input, single, ...steps])
  expect(r.code, r.stderr).toBe(0)
  reference = fs.readFileSync(single)
}, 120_000)

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

const busyLine = (output: string) =>
  new RegExp(`^slicewise: cannot create ${output.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: another slicewise run \\(pid \\d+\\) is writing it; wait for it to finish, or choose another output\\n$`)

describe("two runs writing one output", () => {
  it("started together: exactly one succeeds, the other is refused naming the output, and the output is a single run's", async () => {
    const output = path.join(dir, "both.nrrd")
    const [a, b] = await Promise.all([runCli(["run", input, output, ...steps]), runCli(["run", input, output, ...steps])])
    const codes = [a.code, b.code].sort()
    expect(codes, `${a.stderr}\n${b.stderr}`).toEqual([0, 1])
    const loser = a.code === 1 ? a : b
    expect(loser.stderr).toMatch(busyLine(output))
    expect(fs.readFileSync(output).equals(reference)).toBe(true)
    expect(fs.readdirSync(dir).sort()).toEqual(["both.nrrd", "in.nrrd", "single.nrrd"])
  }, 120_000)

  it("a second run started while the first writes is refused, and does not disturb the first", async () => {
    const output = path.join(dir, "second.tif")
    const first = startCli(["run", input, output, ...steps])
    const deadline = Date.now() + 60_000
    while (!fs.existsSync(lockName(output)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10))
    expect(fs.existsSync(lockName(output))).toBe(true)
    // The first is held still while the second starts (a loaded machine may start a process more
    // slowly than the first finishes), then let go.
    first.child.kill("SIGSTOP")
    const second = await runCli(["run", input, output, "copy"])
    first.child.kill("SIGCONT")
    expect(second.code).toBe(1)
    expect(second.stderr).toMatch(busyLine(output))
    const done = await first.done
    expect(done.code, done.stderr).toBe(0)
    expect(fs.existsSync(lockName(output))).toBe(false)
    const again = path.join(dir, "again.tif")
    expect((await runCli(["run", input, again, ...steps])).code).toBe(0)
    expect(fs.readFileSync(output).equals(fs.readFileSync(again))).toBe(true)
  }, 120_000)
})

describe("a stale lock", () => {
  const small = () => rawNrrd(path.join(dir, "small.nrrd"), [4, 16, 16], 9)

  it("left by a process that is gone is taken over", async () => {
    const output = path.join(dir, "stale.nrrd")
    const gone = await deadPid()
    fs.writeFileSync(lockName(output), JSON.stringify({ pid: gone, start: 12345, host: os.hostname() }))
    const r = await runCli(["run", small(), output, "copy"])
    expect(r.code, r.stderr).toBe(0)
    expect(fs.existsSync(lockName(output))).toBe(false)
  })

  it("whose pid now belongs to another process (another start time) is taken over", async () => {
    const output = path.join(dir, "reused.nrrd")
    const start = processStart(process.pid)!
    fs.writeFileSync(lockName(output), JSON.stringify({ pid: process.pid, start: start + 1, host: os.hostname() }))
    const r = await runCli(["run", small(), output, "copy"])
    expect(r.code, r.stderr).toBe(0)
    expect(fs.existsSync(lockName(output))).toBe(false)
  })

  it("held by a live process is respected, and left in place", async () => {
    const output = path.join(dir, "held.nrrd")
    const lock = JSON.stringify({ pid: process.pid, start: processStart(process.pid), host: os.hostname() })
    fs.writeFileSync(lockName(output), lock)
    const r = await runCli(["run", small(), output, "copy"])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(busyLine(output))
    expect(r.stderr).toContain(`(pid ${process.pid})`)
    expect(fs.readFileSync(lockName(output), "utf8")).toBe(lock)
    expect(fs.existsSync(output)).toBe(false)
    fs.rmSync(lockName(output))
  })

  it("from another host cannot be checked, and is respected with a hint to remove it", async () => {
    const output = path.join(dir, "remote.nrrd")
    fs.writeFileSync(lockName(output), JSON.stringify({ pid: 1, start: 1, host: "elsewhere.invalid" }))
    const r = await runCli(["run", small(), output, "copy"])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain("(pid 1 on elsewhere.invalid) is writing it")
    expect(r.stderr).toContain(`remove ${lockName(output)}`)
    fs.rmSync(lockName(output))
  })
})

describe("the lock within one process", () => {
  it("a second writer of the same output is refused; the lock goes when the first's scope closes", async () => {
    const output = path.join(dir, "inproc.raw")
    const exit = await Effect.runPromiseExit(
      Effect.scoped(Effect.zipRight(acquireOutputLock(output), Effect.scoped(acquireOutputLock(output))))
    )
    expect(Exit.isFailure(exit)).toBe(true)
    const error = Exit.isFailure(exit) ? (exit.cause as { error?: unknown }).error : undefined
    expect(error).toBeInstanceOf(FileError)
    expect((error as FileError).code).toBe("EBUSY")
    expect((error as FileError).message).toBe(
      `cannot create ${output}: this process is already writing it (two outputs of one run, or two jobs, name the same path)`
    )
    expect(fs.existsSync(lockName(output))).toBe(false)
    await Effect.runPromise(Effect.scoped(acquireOutputLock(output)))
    expect(fs.existsSync(lockName(output))).toBe(false)
  })
})

/** The pid of a process that has exited. */
const deadPid = async (): Promise<number> => {
  const { spawn } = await import("node:child_process")
  const child = spawn(process.execPath, ["-e", ""])
  await new Promise((r) => child.on("exit", r))
  return child.pid!
}
