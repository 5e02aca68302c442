/**
 * A job taken again after its runner stopped: runners on several hosts share the file system, so
 * the runner killed mid-job may have left its output's lock with its own host's name, which no
 * other host can check. The first take respects such a lock (another host may be writing); a
 * later take removes it, since the queue gave the job up on that runner. A job with `resume`
 * taken again goes on from the journal the first take left.
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { executeJob } from "../../src/cluster/execute.js"
import { Memory, Run } from "../../src/interpreters/index.js"
import { runJobSetUp } from "../../src/jobs/run-job.js"
import { lockName, phantomSource, sinkFor } from "../../src/io/index.js"

let dir: string
beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "slicewise-execute-"))
  await Effect.runPromise(
    Effect.gen(function* () {
      const volume = yield* Memory.loadSource(phantomSource({ shape: [4, 16, 16], seed: 3 }))
      yield* Memory.storeVolume(volume, yield* sinkFor(path.join(dir, "in.tif")))
    })
  )
})
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

const job = (output: string) => ({
  name: "smooth",
  definition: { kind: "run", input: path.join(dir, "in.tif"), output, steps: ["median:radius=1"] },
  predictedBytes: 1 << 20
})

/** The lock a runner on another host left when it was killed. */
const foreignLock = (output: string) => {
  const content = JSON.stringify({ pid: 4242, start: 1, host: "other-host.invalid" })
  fs.writeFileSync(lockName(output), content)
  return content
}

describe("a cluster job and its output's lock", () => {
  it("on its first take, a lock from another host is respected: the job fails naming that host", async () => {
    const output = path.join(dir, "first.nrrd")
    const content = foreignLock(output)
    const report = await Effect.runPromise(executeJob(job(output), "B", 0))
    expect(report.state).toBe("failed")
    expect(report.error).toMatch(/other-host\.invalid/)
    expect(fs.readFileSync(lockName(output), "utf8")).toBe(content)
    expect(fs.existsSync(output)).toBe(false)
  })

  it("taken again, the job removes it and runs: its output written, no lock left", async () => {
    const output = path.join(dir, "again.nrrd")
    foreignLock(output)
    const report = await Effect.runPromise(executeJob(job(output), "B", 1))
    expect(report.state, report.error).toBe("done")
    expect(report.attempts).toBe(2)
    expect(fs.existsSync(output)).toBe(true)
    expect(fs.existsSync(lockName(output))).toBe(false)
  })

  it("taken again, a lock of this host held by a live process is still respected", async () => {
    const output = path.join(dir, "live.nrrd")
    const start = Number(fs.readFileSync(`/proc/${process.ppid}/stat`, "latin1").split(") ")[1]!.split(" ")[19])
    fs.writeFileSync(lockName(output), JSON.stringify({ pid: process.ppid, start, host: os.hostname() }))
    const report = await Effect.runPromise(executeJob(job(output), "B", 1))
    expect(report.state).toBe("failed")
    expect(report.error).toMatch(/is writing it/)
    fs.rmSync(lockName(output))
  })
})

describe("a cluster job with resume", () => {
  it("taken again after its runner died mid-job, it goes on from the journal: less read, the uninterrupted bytes", async () => {
    const input = path.join(dir, "deep.nrrd")
    await Effect.runPromise(
      Effect.gen(function* () {
        const volume = yield* Memory.loadSource(phantomSource({ shape: [40, 32, 32], seed: 5 }))
        yield* Memory.storeVolume(volume, yield* sinkFor(input))
      })
    )
    const definition = (output: string) => ({ kind: "run" as const, input, output, steps: ["gaussian:sigma=1", "otsu", "edt"], resume: true })
    const reference = path.join(dir, "deep-reference.nrrd")
    const whole = await Effect.runPromise(executeJob({ name: "whole", definition: definition(reference), predictedBytes: 1 << 20 }, "A", 0))
    expect(whole.state, whole.error).toBe("done")
    // The first take, stopped in its last pass (its runner gone; the journal and temporaries stay).
    const output = path.join(dir, "deep.nrrd.out.nrrd")
    const setUp = await Effect.runPromise(runJobSetUp(definition(output)))
    let ticks = 0
    const first = await Effect.runPromise(
      Effect.gen(function* () {
        const fiber = yield* Effect.fork(
          Run.run(setUp.program, { resume: setUp.resume, onProgress: (p) => void (p.pass === 2 && ++ticks === 20 && Effect.runFork(Fiber.interrupt(fiber))) })
        )
        return yield* Fiber.await(fiber)
      })
    )
    expect(Exit.isInterrupted(first)).toBe(true)
    expect(fs.existsSync(`${output}.slicewise-journal`)).toBe(true)
    const again = await Effect.runPromise(executeJob({ name: "again", definition: definition(output), predictedBytes: 1 << 20 }, "B", 1))
    expect(again.state, again.error).toBe("done")
    expect(fs.readFileSync(output).equals(fs.readFileSync(reference))).toBe(true)
    expect(again.bytesRead!).toBeLessThan(whole.bytesRead! / 2)
    expect(fs.readdirSync(dir).filter((n) => n.startsWith("deep.nrrd.out.nrrd."))).toEqual([])
  })
})
