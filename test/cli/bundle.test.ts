/**
 * The bundled CLI (dist/bundle, made by `npm run build`; `npm ci` builds it) as `slicewise` runs:
 * what it loads. Each Node module a run loads is resident memory that no plan accounts for, so the
 * ones a run seldom needs are loaded on first use (docs/BENCHMARKS.md, "Peak RSS: every run within a third of scipy's").
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { writeUint8Nrrd } from "../support/volume-io.js"

const root = path.resolve(__dirname, "../..")
const bundle = path.join(root, "dist/bundle/slicewise.mjs")

let dir: string
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "slicewise-bundle-"))
  // Writes the Node built-in modules the process loaded, at exit.
  fs.writeFileSync(
    path.join(dir, "modules.mjs"),
    'import fs from "node:fs"\nprocess.on("exit", () => fs.writeFileSync(process.env.MODULES_OUT, process.moduleLoadList.join("\\n")))\n'
  )
  // Slices large enough for uniform to be split across threads (plan/threads.ts, DEFAULT_MIN_SPLIT_OPS).
  writeUint8Nrrd(path.join(dir, "in.nrrd"), [4, 512, 512])
})
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

/**
 * The built-in modules (`node:x` as "x") loaded by a bundled `slicewise run` of `steps`. Its stdin
 * is a pipe and its stdout and stderr are files: only reading stdin would load node:net.
 */
const modulesOfRun = (name: string, ...args: Array<string>): Set<string> => {
  const out = path.join(dir, `${name}.modules`)
  const stdout = fs.openSync(path.join(dir, `${name}.stdout`), "w")
  const stderr = fs.openSync(path.join(dir, `${name}.stderr`), "w+")
  try {
    const r = spawnSync(process.execPath, ["--import", path.join(dir, "modules.mjs"), bundle, "run", path.join(dir, "in.nrrd"), path.join(dir, `${name}.nrrd`), ...args], {
      stdio: ["pipe", stdout, stderr],
      env: { ...process.env, MODULES_OUT: out, SLICEWISE_DEBUG: "" }
    })
    expect(fs.readFileSync(path.join(dir, `${name}.stderr`), "utf8")).toBe("")
    expect(r.status).toBe(0)
  } finally {
    fs.closeSync(stdout)
    fs.closeSync(stderr)
  }
  return new Set(fs.readFileSync(out, "utf8").split("\n").filter((m) => m.startsWith("NativeModule ")).map((m) => m.slice("NativeModule ".length)))
}

describe("the bundled CLI", () => {
  it("exists (npm run build)", () => {
    expect(fs.existsSync(bundle)).toBe(true)
  })

  it("loads neither node:crypto nor node:worker_threads for a run with nothing to split", () => {
    const loaded = modulesOfRun("copy", "copy", "--threads", "2")
    expect(loaded.has("fs")).toBe(true)
    expect(loaded.has("crypto")).toBe(false)
    expect(loaded.has("worker_threads")).toBe(false)
  })

  it("leaves standard input alone and loads no terminal or promise-based fs for a run", () => {
    const loaded = modulesOfRun("stdin", "copy")
    expect(loaded.has("net")).toBe(false)
    expect(loaded.has("readline")).toBe(false)
    expect(loaded.has("fs/promises")).toBe(false)
  })

  it("loads node:worker_threads when a run starts row threads", () => {
    const loaded = modulesOfRun("uniform", "uniform:size=3", "--threads", "2")
    expect(loaded.has("worker_threads")).toBe(true)
    expect(loaded.has("crypto")).toBe(false)
  })

  it("its row workers rebuild the built-in kernels from slicewise-kernels.mjs: the voxels of one thread", () => {
    expect(fs.existsSync(path.join(root, "dist/bundle/slicewise-kernels.mjs"))).toBe(true)
    expect(modulesOfRun("median-2", "median:radius=1", "--threads", "2").has("worker_threads")).toBe(true)
    expect(modulesOfRun("median-1", "median:radius=1", "--threads", "1").has("worker_threads")).toBe(false)
    const [one, two] = ["median-1", "median-2"].map((name) => fs.readFileSync(path.join(dir, `${name}.nrrd`)))
    expect(Buffer.compare(one!, two!)).toBe(0)
  })
})
