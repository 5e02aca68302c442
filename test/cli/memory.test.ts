/**
 * `--memory` as the process's peak RSS: the bundled CLI (bin/slicewise.js with its node flags, as
 * `slicewise` runs; `npm ci` builds it) fits a run that would hold more into the budget, with the
 * same output, on one thread and on two.
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { xorshift32 } from "../support/voxels.js"

const root = path.resolve(__dirname, "../..")
const bin = path.join(root, "bin/slicewise.js")
const MiB = 2 ** 20

let dir: string
const input = () => path.join(dir, "in.nrrd")
const steps = ["gaussian:sigma=2", "median:radius=1"]

const slicewise = (...args: Array<string>) => {
  const r = spawnSync(bin, args, { encoding: "utf8", env: { ...process.env, SLICEWISE_DEBUG: "" } })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

const json = (...args: Array<string>) => {
  const r = slicewise(...args, "--json")
  expect(r.stderr.split("\n").filter((l) => l.startsWith("slicewise:"))).toEqual([])
  expect(r.code).toBe(0)
  return JSON.parse(r.stdout)
}

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "slicewise-memory-"))
  // 1024² uint16 slices: the gaussian's and median's rings take tens of MiB, more than the budgets below leave.
  const [z, y, x] = [12, 1024, 1024]
  const random = xorshift32(5)
  const voxels = new Uint16Array(z * y * x)
  for (let i = 0; i < voxels.length; i++) voxels[i] = (i % 4099) * 7 + (random() % 512)
  const header = `NRRD0004\ntype: uint16\ndimension: 3\nsizes: ${x} ${y} ${z}\nendian: little\nencoding: raw\n\n`
  fs.writeFileSync(input(), Buffer.concat([Buffer.from(header), Buffer.from(voxels.buffer)]))
})
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

describe("slicewise run --memory (the bundled CLI)", () => {
  for (const threads of ["1", "2"]) {
    it(`keeps the peak RSS within the budget on ${threads} thread(s), in bands, with the output of a run without one`, () => {
      const free = json("run", input(), path.join(dir, `free-${threads}.nrrd`), ...steps, "--threads", threads)
      // What the runtime, the headroom and the workers take, from a budget with room to spare.
      const split = json("plan", input(), path.join(dir, "x.nrrd"), ...steps, "--threads", threads, "--memory", "2GiB").memory
      const overhead = split.totalBytes - split.bufferBytes
      const budget = Math.ceil((overhead + free.plan.peakBufferBytes / 4) / MiB) + 1
      expect(budget * MiB).toBeLessThan(free.metrics.peakRssBytes)
      const out = path.join(dir, `tight-${threads}.nrrd`)
      const tight = json("run", input(), out, ...steps, "--threads", threads, "--memory", `${budget}MiB`)
      expect(tight.memory.totalBytes).toBe(budget * MiB)
      expect(tight.plan.peakBufferBytes).toBeLessThanOrEqual(tight.memory.bufferBytes)
      expect(tight.plan.passes.some((p: { bands?: unknown }) => p.bands !== undefined)).toBe(true)
      expect(tight.metrics.peakRssBytes).toBeLessThanOrEqual(budget * MiB)
      expect(fs.readFileSync(out).equals(fs.readFileSync(path.join(dir, `free-${threads}.nrrd`)))).toBe(true)
    })
  }
})
