/**
 * `slicewise batch`, `slicewise report` and `run --profile` as a user runs them: a real process,
 * real files, exit codes, stderr and stdout.
 */
import { spawn, spawnSync } from "node:child_process"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { BatchResultJson } from "../../src/batch/results.js"
import { HEADROOM_BYTES } from "../../src/jobs/memory.js"
import { JOB_KINDS } from "../../src/jobs/file.js"
import { readProfile } from "../../src/profile/index.js"
import { writeUint8Nrrd } from "../support/volume-io.js"

const root = path.resolve(__dirname, "../..")
// --expose-gc as bin/slicewise.js: the batch measures its baseline after a full collection.
const cliArgs = ["--expose-gc", "--import", "tsx", path.join(root, "src/cli/main.ts")]

const slicewise = (...args: Array<string>) => {
  const r = spawnSync(process.execPath, [...cliArgs, ...args], { cwd: root, encoding: "utf8", env: { ...process.env, SLICEWISE_DEBUG: "" } })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

let dir: string
const at = (p: string) => path.join(dir, p)

const writeJobs = (name: string, jobs: unknown) => {
  fs.writeFileSync(at(name), JSON.stringify({ jobs }))
  return at(name)
}

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "slicewise-cli-batch-"))
  fs.mkdirSync(at("in"))
  writeUint8Nrrd(at("in/a.nrrd"), [10, 30, 40])
  writeUint8Nrrd(at("in/wide.nrrd"), [4, 2, 1 << 22])
  fs.writeFileSync(at("in/truncated.nrrd"), fs.readFileSync(at("in/a.nrrd")).subarray(0, 3000))
})
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

describe("slicewise batch", () => {
  it("runs the jobs, resolving paths against the jobs file, and prints Schema-encoded results", () => {
    const file = writeJobs("ok.json", [
      { kind: "run", name: "median", input: "in/a.nrrd", output: "out/median.nrrd", steps: ["median:radius=1"] },
      { kind: "run", input: "in/a.nrrd", output: "out/mask.tif", steps: ["gaussian:sigma=1", "threshold:min=100"] }
    ])
    fs.mkdirSync(at("out"), { recursive: true })
    const r = slicewise("batch", file, "--memory", "2GiB", "--json", "--concurrency", "2")
    expect(r.code).toBe(0)
    const result = Schema.decodeUnknownSync(BatchResultJson)(JSON.parse(r.stdout))
    expect(result.jobs.map((j) => [j.name, j.status])).toEqual([
      ["median", "done"],
      ["2:mask.tif", "done"]
    ])
    expect(result.jobs[0]!.bytesWritten).toBe(fs.statSync(at("out/median.nrrd")).size)
    expect(fs.existsSync(at("out/mask.tif"))).toBe(true)
    // One progress line per start and end.
    expect(r.stderr.split("\n").filter((l) => /^batch +[\d.]+ s +(start|finish) /.test(l))).toHaveLength(4)
  })

  it("reports a failing job in its line, runs the others, and exits non-zero", () => {
    const file = writeJobs("failing.json", [
      { kind: "run", name: "first", input: "in/a.nrrd", output: "f1.nrrd", steps: ["copy"] },
      { kind: "run", name: "broken", input: "in/truncated.nrrd", output: "f2.nrrd", steps: ["copy"] },
      { kind: "run", name: "last", input: "in/a.nrrd", output: "f3.nrrd", steps: ["uniform:size=3"] }
    ])
    const r = slicewise("batch", file, "--memory", "2GiB")
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/fail +broken: .*truncated\.nrrd/)
    expect(r.stderr.trim().split("\n").pop()).toBe("slicewise: batch: 1 failed of 3 jobs")
    expect(r.stdout).toMatch(/^first +done /m)
    expect(r.stdout).toMatch(/^broken +failed /m)
    expect(fs.existsSync(at("f1.nrrd")) && fs.existsSync(at("f3.nrrd"))).toBe(true)
    expect(fs.existsSync(at("f2.nrrd"))).toBe(false)
  })

  it("fails a run job with no steps, saying to give a step or copy, and runs the others", () => {
    const file = writeJobs("nosteps.json", [
      { kind: "run", name: "empty", input: "in/a.nrrd", output: "e1.nrrd", steps: [] },
      { kind: "run", name: "copied", input: "in/a.nrrd", output: "e2.nrrd", steps: ["copy"] },
      { kind: "run", name: "dashed", input: "in/a.nrrd", output: "e3.nrrd", steps: ["--median:radius=1"] }
    ])
    const r = slicewise("batch", file, "--memory", "2GiB")
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/fail +empty: no steps: give at least one .*, or copy to convert /)
    expect(r.stderr).toMatch(/fail +dashed: step "--median:radius=1": "--median" is an option, not a step/)
    expect(fs.existsSync(at("e1.nrrd"))).toBe(false)
    expect(fs.existsSync(at("e2.nrrd"))).toBe(true)
  })

  it("refuses a job that can never fit the budget, before starting anything, and runs the others", () => {
    // Learn a process's baseline, then leave the jobs about 40 MiB: the small ones (3 MiB of
    // overhead, a few KiB of buffers) fit, the wide one (a 4 MiB row: at least 80 MiB of buffers)
    // never does. The margins are wide because this run's baseline differs from the probe's by
    // several MiB either way (it sets up other jobs; garbage collection timing).
    const probe = slicewise("batch", writeJobs("probe.json", [{ kind: "run", input: "in/a.nrrd", output: "p.nrrd", steps: ["copy"] }]), "--memory", "2GiB", "--json")
    const baseline = JSON.parse(probe.stdout).baselineRssBytes as number
    const memory = Math.round((baseline + HEADROOM_BYTES) / 2 ** 20 + 40)
    const file = writeJobs("oversized.json", [
      { kind: "run", name: "small", input: "in/a.nrrd", output: "s1.nrrd", steps: ["median:radius=1"] },
      { kind: "run", name: "wide", input: "in/wide.nrrd", output: "wide-out.nrrd", steps: ["median:radius=1"] },
      { kind: "run", name: "small2", input: "in/a.nrrd", output: "s2.nrrd", steps: ["median:radius=1"] }
    ])
    const r = slicewise("batch", file, "--memory", `${memory}MiB`, "--json")
    expect(r.code).toBe(1)
    const result = Schema.decodeUnknownSync(BatchResultJson)(JSON.parse(r.stdout))
    expect(result.jobs.map((j) => j.status)).toEqual(["done", "refused", "done"])
    expect(result.jobs[1]!.detail).toMatch(/^needs \d+(\.\d+)? MiB \(\d+(\.\d+)? MiB of buffers at least/)
    expect(result.events[0]).toMatchObject({ kind: "refuse", job: "wide" })
    expect(fs.existsSync(at("wide-out.nrrd"))).toBe(false)
    expect(fs.existsSync(at("s1.nrrd")) && fs.existsSync(at("s2.nrrd"))).toBe(true)
    expect(r.stderr).toMatch(/refuse +wide: needs /)
    expect(r.stderr.trim().split("\n").pop()).toBe("slicewise: batch: 1 refused of 3 jobs")
  })

  it("refuses a bad jobs file in one line naming the file and the field, creating nothing", () => {
    const file = writeJobs("bad.json", [
      { kind: "run", input: "in/a.nrrd", output: "b1.nrrd", steps: ["copy"] },
      { kind: "run", input: "in/a.nrrd", output: "b2.nrrd", steps: "copy" }
    ])
    const r = slicewise("batch", file, "--memory", "1GiB")
    expect(r.code).toBe(1)
    expect(r.stderr.trim().split("\n")).toHaveLength(1)
    expect(r.stderr.trim()).toBe(`slicewise: ${file}: jobs[1].steps: Expected ReadonlyArray<NonEmptyString>, actual "copy"`)
    expect(fs.existsSync(at("b1.nrrd"))).toBe(false)
    const kind = slicewise("batch", writeJobs("kind.json", [{ kind: "segment", input: "x" }]), "--memory", "1GiB")
    expect(kind.stderr.trim()).toBe(`slicewise: ${at("kind.json")}: jobs[0].kind: unknown kind "segment" (one of ${JOB_KINDS.join(", ")})`)
    const extra = slicewise("batch", writeJobs("extra.json", [{ kind: "run", input: "a", output: "b", steps: [], memroy: "1GiB" }]), "--memory", "1GiB")
    expect(extra.stderr.trim()).toMatch(/jobs\[0\]\.memroy: is unexpected/)
    const size = slicewise("batch", file, "--memory", "lots")
    expect(size.stderr.trim()).toBe("slicewise: --memory lots is not a size (try 512MiB or 2GiB)")
  })
})

describe("slicewise batch with after", () => {
  it("runs jobs in dependency order, reports those after a failed job as not run, and shows state, attempts, predicted and measured peaks", () => {
    const file = writeJobs("after.json", [
      { kind: "run", name: "mask", after: ["smooth"], input: "dep/smooth.nrrd", output: "dep/mask.nrrd", steps: ["threshold:min=100"] },
      { kind: "run", name: "smooth", input: "in/a.nrrd", output: "dep/smooth.nrrd", steps: ["gaussian:sigma=1"] },
      { kind: "run", name: "broken", input: "in/truncated.nrrd", output: "dep/broken.nrrd", steps: ["copy"] },
      { kind: "run", name: "after-broken", after: ["broken"], input: "dep/broken.nrrd", output: "dep/never.nrrd", steps: ["copy"] }
    ])
    fs.mkdirSync(at("dep"), { recursive: true })
    const r = slicewise("batch", file, "--memory", "2GiB")
    expect(r.code).toBe(1)
    expect(r.stderr.trim().split("\n").pop()).toBe("slicewise: batch: 1 failed, 1 not run of 4 jobs")
    expect(r.stderr).toMatch(/skip +after-broken: not run: it comes after broken, which failed/)
    const lines = r.stderr.split("\n")
    const where = (re: RegExp) => lines.findIndex((l) => re.test(l))
    expect(where(/start +mask /)).toBeGreaterThan(where(/finish smooth /))
    expect(r.stdout).toMatch(/^job +state +kind +attempts +predicted +measured +wall /m)
    expect(r.stdout).toMatch(/^mask +done +run +1 +[\d.]+ [KM]iB +[\d.]+ [KM]iB buf /m)
    expect(r.stdout).toMatch(/^after-broken +not-run +run +0 /m)
    expect(fs.existsSync(at("dep/mask.nrrd"))).toBe(true)
    expect(fs.existsSync(at("dep/never.nrrd"))).toBe(false)
    const json = slicewise("batch", writeJobs("after2.json", [
      { kind: "run", name: "s2", input: "in/a.nrrd", output: "dep/s2.nrrd", steps: ["copy"] },
      { kind: "run", name: "m2", after: ["s2"], input: "dep/s2.nrrd", output: "dep/m2.nrrd", steps: ["copy"] }
    ]), "--memory", "2GiB", "--json")
    expect(json.code).toBe(0)
    const result = Schema.decodeUnknownSync(BatchResultJson)(JSON.parse(json.stdout))
    expect(result.jobs.map((j) => [j.name, j.status, j.attempts])).toEqual([["s2", "done", 1], ["m2", "done", 1]])
    for (const j of result.jobs) expect(j.wallMs).toBeGreaterThanOrEqual(0)
  })

  it("runs an exec job after a run job, on its output, and shows its measured RSS beside the prediction", () => {
    const file = writeJobs("exec.json", [
      { kind: "run", name: "make", input: "in/a.nrrd", output: "ex/a.nrrd", steps: ["copy"] },
      {
        kind: "exec",
        name: "checksum",
        after: ["make"],
        command: ["sh", "-c", 'sha256sum "$1" > "$2"', "sh", "{input0}", "{output0}"],
        inputs: ["ex/a.nrrd"],
        outputs: ["ex/a.sha256"],
        memory: "32MiB"
      }
    ])
    fs.mkdirSync(at("ex"), { recursive: true })
    const r = slicewise("batch", file, "--memory", "2GiB")
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/^checksum +done +exec +1 +32\.0 MiB +[\d.]+ [KMG]?i?B rss /m)
    expect(fs.readFileSync(at("ex/a.sha256"), "utf8")).toMatch(/^[0-9a-f]{64} /)
    expect(fs.existsSync(at("ex/a.sha256.log"))).toBe(true)
  })

  it("refuses a pipeline with a circle or a missing input before running anything", () => {
    const circle = writeJobs("circle.json", [
      { kind: "run", name: "x", after: ["y"], input: "in/a.nrrd", output: "cx.nrrd", steps: ["copy"] },
      { kind: "run", name: "y", after: ["x"], input: "in/a.nrrd", output: "cy.nrrd", steps: ["copy"] }
    ])
    const r = slicewise("batch", circle, "--memory", "1GiB")
    expect(r.code).toBe(1)
    expect(r.stderr.trim()).toBe(`slicewise: ${circle}: jobs[0].after: after makes a circle: x → y → x`)
    const missing = writeJobs("missing.json", [{ kind: "run", name: "m", input: "in/nothing.nrrd", output: "cm.nrrd", steps: ["copy"] }])
    expect(slicewise("batch", missing, "--memory", "1GiB").stderr.trim()).toBe(
      `slicewise: ${missing}: jobs[0].input: ${at("in/nothing.nrrd")}: no such file, and no job this one comes after writes it`
    )
    expect(fs.existsSync(at("cx.nrrd")) || fs.existsSync(at("cm.nrrd"))).toBe(false)
  })
})

describe("slicewise batch with a fuse job", () => {
  it("runs a label fusion next to a run job, with the same voxels as slicewise fuse", () => {
    fs.mkdirSync(at("atlas"))
    const labels = (file: string, shift: number) => {
      const header = "NRRD0004\ntype: uint8\ndimension: 3\nsizes: 20 16 6\nencoding: raw\n\n"
      fs.writeFileSync(file, Buffer.concat([Buffer.from(header), Buffer.from(Array.from({ length: 20 * 16 * 6 }, (_, i) => ((i + shift) >> 5) % 4))]))
    }
    labels(at("atlas/l1.nrrd"), 0)
    labels(at("atlas/l2.nrrd"), 7)
    labels(at("atlas/l3.nrrd"), 19)
    const file = writeJobs("fuse.json", [
      { kind: "fuse", name: "vote", target: "atlas/l1.nrrd", atlases: [{ labels: "atlas/l1.nrrd" }, { labels: "atlas/l2.nrrd" }, { labels: "atlas/l3.nrrd" }], method: "majority", output: "fused.nrrd" },
      { kind: "run", name: "copy", input: "atlas/l2.nrrd", output: "copied.nrrd", steps: ["copy"] }
    ])
    const r = slicewise("batch", file, "--memory", "2GiB", "--json")
    expect(r.code).toBe(0)
    const result = Schema.decodeUnknownSync(BatchResultJson)(JSON.parse(r.stdout))
    expect(result.jobs.map((j) => [j.kind, j.status])).toEqual([
      ["fuse", "done"],
      ["run", "done"]
    ])
    const alone = slicewise("fuse", at("alone.nrrd"), "--target", at("atlas/l1.nrrd"), "--atlas", at("atlas/l1.nrrd"), "--atlas", at("atlas/l2.nrrd"), "--atlas", at("atlas/l3.nrrd"), "--method", "majority")
    expect(alone.code).toBe(0)
    expect(fs.readFileSync(at("fused.nrrd")).equals(fs.readFileSync(at("alone.nrrd")))).toBe(true)
  })
})

describe("slicewise batch, interrupted", () => {
  it("by Ctrl-C, stops every running job and leaves no output and no temporary file", async () => {
    const big = at("in/big.nrrd")
    // Big enough that both jobs are still running when the signal comes.
    const header = "NRRD0004\ntype: uint8\ndimension: 3\nsizes: 512 512 200\nencoding: raw\n\n"
    fs.writeFileSync(big, Buffer.concat([Buffer.from(header), Buffer.alloc(512 * 512 * 200, 7)]))
    fs.mkdirSync(at("interrupted"))
    const file = writeJobs("interrupt.json", [
      { kind: "run", input: "in/big.nrrd", output: "interrupted/one.tif", steps: ["median:radius=2"] },
      { kind: "run", input: "in/big.nrrd", output: "interrupted/two.nrrd", steps: ["median:radius=2"] }
    ])
    const child = spawn(process.execPath, [...cliArgs, "batch", file, "--memory", "2GiB", "--concurrency", "2"], { cwd: root })
    let stderr = ""
    child.stderr.on("data", (d) => (stderr += d))
    // Wait until both temporary outputs exist (each beside its output's lock), then interrupt.
    const entries = () => fs.readdirSync(at("interrupted")).map((n) => n.replace(/\.partial-.*/, ".partial-…")).sort()
    const deadline = Date.now() + 30_000
    while (entries().filter((n) => /^(one\.tif|two\.nrrd)\.partial-…$/.test(n)).length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
    expect(entries()).toEqual(["one.tif.partial-…", "one.tif.slicewise-lock", "two.nrrd.partial-…", "two.nrrd.slicewise-lock"])
    child.kill("SIGINT")
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve))
    expect(code).toBe(130)
    expect(stderr.trim().split("\n").pop()).toBe("slicewise: interrupted")
    expect(fs.readdirSync(at("interrupted"))).toEqual([])
  })
})

describe("slicewise batch with exec jobs, interrupted", () => {
  it("by Ctrl-C, kills each command's process group, background children included, and leaves no output", async () => {
    fs.mkdirSync(at("ex-int"), { recursive: true })
    const pidFile = (n: number) => at(`ex-int/pids-${n}`)
    const sleeper = (n: number) => ({
      kind: "exec",
      name: `sleeper-${n}`,
      // A background child that would outlive its parent, then the parent waits on it.
      command: ["sh", "-c", `sleep 60 & echo $! > ${pidFile(n)}; echo $$ >> ${pidFile(n)}; echo partial > "$1"; wait`, "sh", "{output0}"],
      outputs: [`ex-int/out-${n}.txt`],
      memory: "16MiB"
    })
    const file = writeJobs("exec-interrupt.json", [sleeper(1), sleeper(2), { ...sleeper(3), after: ["sleeper-1"] }])
    const child = spawn(process.execPath, [...cliArgs, "batch", file, "--memory", "2GiB", "--concurrency", "2"], { cwd: root })
    let stderr = ""
    child.stderr.on("data", (d) => (stderr += d))
    const started = () => [1, 2].every((n) => fs.existsSync(pidFile(n)) && fs.readFileSync(pidFile(n), "utf8").trim().split("\n").length === 2)
    const deadline = Date.now() + 30_000
    while (!started() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
    const pids = [1, 2].flatMap((n) => fs.readFileSync(pidFile(n), "utf8").trim().split("\n").map(Number))
    const alive = (pid: number) => {
      try {
        process.kill(pid, 0)
        return true
      } catch {
        return false
      }
    }
    expect(pids.filter(alive)).toHaveLength(4)
    child.kill("SIGINT")
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve))
    expect(code).toBe(130)
    expect(stderr.trim().split("\n").pop()).toBe("slicewise: interrupted")
    expect(pids.filter(alive)).toEqual([])
    // The logs stay: they say what ran.
    expect(fs.readdirSync(at("ex-int")).filter((f) => !f.startsWith("pids-") && !f.endsWith(".log"))).toEqual([])
  })
})

describe("profiles and the report", () => {
  it("run --profile writes a profile that validates; report renders it", async () => {
    const profile = at("run.profile.json")
    const r = slicewise("run", at("in/a.nrrd"), at("run-out.nrrd"), "median:radius=1", "--profile", profile)
    expect(r.code).toBe(0)
    const p = await Effect.runPromise(readProfile(profile))
    expect(p.command).toBe("run")
    expect(p.jobs[0]!.stages.length).toBeGreaterThan(0)
    expect(p.samples.length).toBeGreaterThanOrEqual(2)
    const rep = slicewise("report", profile)
    expect(rep.code).toBe(0)
    expect(rep.stdout.trim()).toBe(`wrote ${at("run.profile.html")}`)
    const html = fs.readFileSync(at("run.profile.html"), "utf8")
    expect(html).toContain("<svg")
    expect(html).toContain("<h2>Stages</h2>")
  })

  it("batch --profile and report --out give a page with the jobs strip", () => {
    const file = writeJobs("prof.json", [
      { kind: "run", name: "one", input: "in/a.nrrd", output: "pr1.nrrd", steps: ["median:radius=1"] },
      { kind: "run", name: "two", input: "in/a.nrrd", output: "pr2.nrrd", steps: ["copy"] }
    ])
    expect(slicewise("batch", file, "--memory", "2GiB", "--profile", at("batch.json")).code).toBe(0)
    const rep = slicewise("report", at("batch.json"), "--out", at("page.html"))
    expect(rep.code).toBe(0)
    const html = fs.readFileSync(at("page.html"), "utf8")
    expect(html).toContain("budget (--memory)")
    expect(html.match(/<title>(one|two): done/g)).toHaveLength(2)
  })

  it("report refuses a file that is not a valid profile, in one line", () => {
    fs.writeFileSync(at("not.json"), JSON.stringify({ format: "slicewise-profile", version: 1, command: "run" }))
    const r = slicewise("report", at("not.json"))
    expect(r.code).toBe(1)
    expect(r.stderr.trim()).toBe(`slicewise: ${at("not.json")}: startedAt: is missing`)
  })

  it("says in plain words when a profile or a jobs file does not exist", () => {
    const report = slicewise("report", at("gone.json"))
    expect([report.code, report.stderr.trim()]).toEqual([1, `slicewise: ${at("gone.json")}: no such file or directory`])
    const batch = slicewise("batch", at("gone-jobs.json"), "--memory", "1GiB")
    expect([batch.code, batch.stderr.trim()]).toEqual([1, `slicewise: ${at("gone-jobs.json")}: no such file or directory`])
  })
})
