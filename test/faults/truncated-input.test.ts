/**
 * A read fault mid-volume: another process truncates the input while a run reads it (a file
 * replaced or cut short under the run, a network share that loses the tail). The run must fail with
 * one line naming the file and the byte offset where its data ended, exit 1, and leave no output,
 * temporary or lock.
 *
 * To make the point deterministic, the run is stopped (SIGSTOP) once it has written part of its
 * output, the input is cut to 60 % of its size, and the run continued (SIGCONT).
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { rawNrrd, runCli, sleep, startCli, tempDir } from "./cli.js"

let dir: string
let nrrd: string

beforeAll(async () => {
  dir = tempDir("truncated")
  nrrd = rawNrrd(path.join(dir, "in.nrrd"), [200, 256, 256], 11) // 12.5 MiB
  // The other formats, converted from it by slicewise itself.
  for (const name of ["in.tif", "in.nii", "stack/"]) {
    const r = await runCli(["run", nrrd, path.join(dir, name), "copy"])
    expect(r.code, r.stderr).toBe(0)
  }
}, 120_000)

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

/** The file `cut` is truncated to 60 % (or, for a stack, one slice's file to 1000 bytes). */
const inputs = () => [
  { input: path.join(dir, "in.nrrd"), cut: path.join(dir, "in.nrrd") },
  { input: path.join(dir, "in.nii"), cut: path.join(dir, "in.nii") },
  { input: path.join(dir, "in.tif"), cut: path.join(dir, "in.tif") },
  { input: path.join(dir, "stack/"), cut: path.join(dir, "stack", "slice_00150.tif") }
]

describe("an input truncated while a run reads it", () => {
  for (const [i, name] of ["NRRD", "NIfTI", "TIFF", "TIFF stack"].entries()) {
    it(`${name}: one line naming the file and the byte where its data ended; no output, temporary or lock`, async () => {
      const { input, cut } = inputs()[i]!
      const original = path.join(dir, `original-${i}`)
      fs.copyFileSync(cut, original)
      const out = tempDir("truncated-out")
      try {
        const output = path.join(out, "out.nrrd")
        const run = startCli(["run", input, output, "gaussian:sigma=1"])
        // Until the run has written part of its output (so it is reading mid-volume)…
        // (A temporary may be renamed between the listing and its stat: the lock's draft is.)
        const written = () =>
          fs
            .readdirSync(out)
            .filter((n) => n.includes(".partial-"))
            .reduce((a, n) => a + (fs.statSync(path.join(out, n), { throwIfNoEntry: false })?.size ?? 0), 0)
        const deadline = Date.now() + 60_000
        while (written() < 2 * 256 * 256 && Date.now() < deadline) await sleep(5)
        run.child.kill("SIGSTOP")
        const size = fs.statSync(cut).size
        fs.truncateSync(cut, cut === input ? Math.floor(size * 0.6) : 1000)
        run.child.kill("SIGCONT")
        const r = await run.done
        expect(r.code, r.stderr).toBe(1)
        expect(r.stderr.trim().split("\n")).toHaveLength(1)
        expect(r.stderr).toMatch(new RegExp(`^slicewise: ${cut.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: .*byte \\d+.* (ends|ended) \\d+ bytes early`))
        expect(fs.readdirSync(out)).toEqual([])
      } finally {
        fs.copyFileSync(original, cut)
        fs.rmSync(out, { recursive: true, force: true })
      }
    }, 120_000)
  }
})
