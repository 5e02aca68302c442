/**
 * External commands as jobs, with real processes: atomic outputs through {output0}, the log and its
 * last lines in the error, retries, the process group killed on interruption and timeout (no
 * orphan survives), and the peak RSS measured from /proc.
 */
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { runBatch } from "../../src/batch/index.js"
import { execSetUp, type ExecJob } from "../../src/jobs/exec/exec-job.js"
import { TOOL_OOM_SCORE_ADJ } from "../../src/jobs/exec/process-group.js"
import { ExecError, runExternal } from "../../src/jobs/exec/run-external.js"
import { decodeJobs, jobSetUp } from "../../src/jobs/file.js"

const MiB = 2 ** 20
let dir: string
const at = (p: string) => path.join(dir, p)

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "slicewise-exec-"))
  fs.writeFileSync(at("in.txt"), "hello\n")
})
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

/** Files in the test directory that a command's temporaries would leave. */
const leftovers = () => fs.readdirSync(dir, { recursive: true }).map(String).filter((f) => f.includes(".slicewise-"))

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

describe("runExternal", () => {
  it("writes the outputs through their temporary names, then renames them; logs stdout and stderr", async () => {
    const r = await Effect.runPromise(
      runExternal({
        job: "copy",
        argv: ["sh", "-c", 'echo to-stdout; echo to-stderr >&2; cat "$1" > "$2"; mkdir -p "$3/sub"; echo x > "$3/sub/f"', "sh", "{input0}", "{output0}", "{output1}"],
        inputs: [at("in.txt")],
        outputs: [{ path: at("out/copy.txt") }, { path: at("out/tree"), directory: true }],
        logFile: at("out/copy.log")
      })
    )
    expect(fs.readFileSync(at("out/copy.txt"), "utf8")).toBe("hello\n")
    expect(fs.readFileSync(at("out/tree/sub/f"), "utf8")).toBe("x\n")
    expect(r.attempts).toBe(1)
    const log = fs.readFileSync(at("out/copy.log"), "utf8")
    expect(log).toMatch(/^== slicewise: copy, attempt 1, .*: sh -c /)
    expect(log).toContain("to-stdout\nto-stderr\n")
    // The command saw a temporary name beside the output, with the output's suffix.
    expect(log).toMatch(/\/out\/\.slicewise-[\w-]+\.copy\.txt/)
    expect(leftovers()).toEqual([])
  })

  it("starts the command with a raised oom_score_adj, so that the OOM killer takes it before its runner", async () => {
    await Effect.runPromise(
      runExternal({
        job: "oom",
        argv: ["sh", "-c", 'cat /proc/self/oom_score_adj > "$1"', "sh", "{output0}"],
        inputs: [],
        outputs: [{ path: at("oom.txt") }],
        logFile: at("oom.log")
      })
    )
    expect(fs.readFileSync(at("oom.txt"), "utf8").trim()).toBe(String(TOOL_OOM_SCORE_ADJ))
    expect(fs.readFileSync("/proc/self/oom_score_adj", "utf8").trim()).not.toBe(String(TOOL_OOM_SCORE_ADJ))
  })

  it("leaves no declared output and no temporary file when the command fails, and says why with its last lines", async () => {
    fs.writeFileSync(at("stale.txt"), "from an earlier run")
    const e = await Effect.runPromise(
      Effect.flip(
        runExternal({
          job: "broken",
          argv: ["sh", "-c", 'echo partial > "$1"; echo "something went wrong" >&2; exit 3', "sh", "{output0}"],
          inputs: [],
          outputs: [{ path: at("stale.txt") }],
          logFile: at("broken.log")
        })
      )
    )
    expect(e).toBeInstanceOf(ExecError)
    expect(e.message).toBe(`sh exited with code 3 (attempt 1; log ${at("broken.log")}); last lines: something went wrong`)
    expect(fs.existsSync(at("stale.txt"))).toBe(false)
    expect(leftovers()).toEqual([])
  })

  it("says so when the command exits 0 without writing an output", async () => {
    const e = await Effect.runPromise(
      Effect.flip(runExternal({ job: "lazy", argv: ["true", "{output0}"], inputs: [], outputs: [{ path: at("lazy.txt") }], logFile: at("lazy.log") }))
    )
    expect(e.message).toMatch(/^true exited 0 but did not write .*lazy\.txt \(as \{output0\}\)/)
  })

  it("retries a failed attempt, up to the bound", async () => {
    const counter = at("tries")
    const flaky = (retries: number, file: string) =>
      runExternal({
        job: "flaky",
        // Fails until it has been started three times.
        argv: ["sh", "-c", `echo >> ${counter}; [ $(wc -l < ${counter}) -ge 3 ] && echo ok > "$1"`, "sh", "{output0}"],
        inputs: [],
        outputs: [{ path: at(file) }],
        logFile: at(`${file}.log`),
        retries
      })
    const short = await Effect.runPromise(Effect.flip(flaky(1, "flaky-1.txt")))
    expect(short.attempts).toBe(2)
    fs.rmSync(counter)
    const r = await Effect.runPromise(flaky(2, "flaky-2.txt"))
    expect(r.attempts).toBe(3)
    expect(fs.readFileSync(at("flaky-2.txt"), "utf8")).toBe("ok\n")
    expect(fs.readFileSync(at("flaky-2.txt.log"), "utf8").match(/^== slicewise: flaky, attempt \d/gm)).toHaveLength(3)
  })

  it("kills the whole process group, background children included, when interrupted", async () => {
    const pids = at("pids")
    const fiber = Effect.runFork(
      runExternal({
        job: "sleepy",
        argv: ["sh", "-c", `sleep 60 & echo $! > ${pids}; echo $$ >> ${pids}; echo partial > "$1"; wait`, "sh", "{output0}"],
        inputs: [],
        outputs: [{ path: at("sleepy.txt") }],
        logFile: at("sleepy.log")
      })
    )
    for (let i = 0; i < 100 && !(fs.existsSync(pids) && fs.readFileSync(pids, "utf8").trim().split("\n").length === 2); i++) await new Promise((r) => setTimeout(r, 20))
    const started = fs.readFileSync(pids, "utf8").trim().split("\n").map(Number)
    expect(started.every(isAlive)).toBe(true)
    await Effect.runPromise(Fiber.interrupt(fiber))
    expect(started.filter(isAlive)).toEqual([])
    expect(fs.existsSync(at("sleepy.txt"))).toBe(false)
    expect(leftovers()).toEqual([])
  })

  it("kills the group when an attempt runs out of time", async () => {
    const t0 = Date.now()
    const e = await Effect.runPromise(
      Effect.flip(runExternal({ job: "slow", argv: ["sh", "-c", 'sleep 30; touch "$1"', "sh", "{output0}"], inputs: [], outputs: [{ path: at("slow.txt") }], logFile: at("slow.log"), timeoutMs: 300 }))
    )
    expect(e.message).toMatch(/^sh ran out of its 0\.3 s and was killed/)
    expect(Date.now() - t0).toBeLessThan(5000)
  })

  it("measures the peak resident memory of the command", async () => {
    const r = await Effect.runPromise(
      runExternal({
        job: "big",
        argv: ["python3", "-c", "import sys, time; b = bytearray(200 * 2**20); time.sleep(0.4); open(sys.argv[1], 'w').write('x')", "{output0}"],
        inputs: [],
        outputs: [{ path: at("big.txt") }],
        logFile: at("big.log")
      })
    )
    expect(r.peakRssBytes).toBeGreaterThan(200 * MiB)
    expect(r.peakRssBytes).toBeLessThan(260 * MiB)
  })
})

describe("exec jobs", () => {
  const job = (fields: Partial<ExecJob>): ExecJob => ({ kind: "exec", command: ["cp", "{input0}", "{output0}"], inputs: [at("in.txt")], outputs: [at("e.txt")], memory: "64MiB", ...fields })

  it("are refused at decode when an output is not written through its placeholder", () => {
    const text = JSON.stringify({ jobs: [{ kind: "exec", name: "x", command: ["touch", "fixed.txt"], outputs: ["fixed.txt"], memory: "1GiB" }] })
    const r = decodeJobs("/p/pipeline.json", text)
    expect(r._tag === "Left" && r.left.message).toBe(
      "/p/pipeline.json: jobs[0].outputs[0]: fixed.txt is not in the command as {output0}: the command must write it through that placeholder (atomic outputs)"
    )
    const noMemory = decodeJobs("/p/pipeline.json", JSON.stringify({ jobs: [{ kind: "exec", command: ["cp", "{output0}"], outputs: ["a"] }] }))
    expect(noMemory._tag === "Left" && noMemory.left.message).toMatch(/jobs\[0\]\.memory: is missing/)
  })

  it("run in a batch after the jobs they depend on, with their declared memory as the predicted peak and the measured RSS beside it", async () => {
    const jobs = [
      { name: "first", kind: "exec", setUp: execSetUp(job({ outputs: [at("chain/1.txt")] }), "first") },
      { name: "second", kind: "exec", after: ["first"], setUp: execSetUp(job({ inputs: [at("chain/1.txt")], outputs: [at("chain/2.txt")] }), "second") },
      { name: "fails", kind: "exec", setUp: execSetUp(job({ command: ["false", "{output0}"], outputs: [at("chain/f.txt")], retries: 1 }), "fails") },
      { name: "after-fails", kind: "exec", after: ["fails"], setUp: jobSetUp(job({ inputs: [at("chain/f.txt")], outputs: [at("chain/g.txt")] })) }
    ]
    const r = await Effect.runPromise(runBatch(jobs, { memoryBytes: 1024 * MiB, baselineBytes: 0, headroomBytes: 0 }))
    expect(r.jobs.map((j) => [j.name, j.status, j.attempts])).toEqual([
      ["first", "done", 1],
      ["second", "done", 1],
      ["fails", "failed", 2],
      ["after-fails", "not-run", undefined]
    ])
    expect(r.jobs[0]!.predictedPeakBytes).toBe(64 * MiB)
    // cp may end before the first sample of /proc: measured, but perhaps 0.
    expect(r.jobs[0]!.measuredPeakRssBytes).toBeGreaterThanOrEqual(0)
    expect(fs.readFileSync(at("chain/2.txt"), "utf8")).toBe("hello\n")
    expect(fs.existsSync(at("chain/g.txt"))).toBe(false)
  })

  it("refuses one whose declared memory exceeds the budget's share", async () => {
    const r = await Effect.runPromise(
      runBatch([{ name: "huge", kind: "exec", setUp: execSetUp(job({ memory: "4GiB", outputs: [at("huge.txt")] }), "huge") }], {
        memoryBytes: 1024 * MiB,
        baselineBytes: 0,
        headroomBytes: 0
      })
    )
    expect(r.jobs[0]).toMatchObject({ status: "refused" })
    expect(r.jobs[0]!.detail).toMatch(/^needs 4\.00 GiB \(its predicted peak\), but the budget leaves 1\.00 GiB for jobs/)
  })
})
