/**
 * A read error mid-volume (issue 22, item 2b): reading an input fails with EIO at one byte, as a
 * bad sector or a network file system that lost its server makes it. The run must fail in one line
 * naming the file and the byte (and the slice or page where the reader knows it), exit 1, and leave
 * no output, temporary, lock or spill.
 *
 * The fault is injected below slicewise, in node:fs itself, by a test-only preload
 * (read-fault-preload.mjs): this container's kernel has no device-mapper driver for an `error`
 * target over a loop device (/dev/mapper/control: "No such device"). The read that reaches the bad byte gets the bytes before it, then EIO, as from
 * the kernel.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { pathToFileURL } from "node:url"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { leftovers, rawNrrd, root, runCli, tempDir } from "./cli.js"

const preload = pathToFileURL(path.join(root, "test/faults/read-fault-preload.mjs")).href
const [Z, Y, X] = [120, 256, 256] as const
const sliceBytes = Y * X

let dir: string

beforeAll(async () => {
  dir = fs.realpathSync(tempDir("read-error"))
  const nrrd = rawNrrd(path.join(dir, "in.nrrd"), [Z, Y, X], 23) // 7.5 MiB
  // The other formats, converted from it by slicewise itself.
  const conversions: Array<[string, Array<string>]> = [
    ["in-gzip.nrrd", ["--codec", "gzip:1"]],
    ["in.nii", []],
    ["in.tif", []],
    ["stack/", []],
    ["in.zarr", ["--codec", "raw", "--chunks", "16,128,128"]]
  ]
  for (const [name, flags] of conversions) {
    const r = await runCli(["run", nrrd, path.join(dir, name), "copy", ...flags])
    expect(r.code, r.stderr).toBe(0)
  }
}, 120_000)

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")

/** Where the data of a raw file holding the whole volume at its end begins. */
const dataStart = (file: string) => fs.statSync(file).size - Z * sliceBytes

interface Case {
  readonly name: string
  readonly input: () => string
  /** The file whose byte `offset` cannot be read. */
  readonly bad: () => string
  readonly offset: (bad: string) => number
  /** What the one line says between the file and "input/output error". */
  readonly where: (offset: number) => string
}

const cases: ReadonlyArray<Case> = [
  {
    name: "NRRD raw",
    input: () => path.join(dir, "in.nrrd"),
    bad: () => path.join(dir, "in.nrrd"),
    offset: (bad) => dataStart(bad) + 70 * sliceBytes + 1000,
    where: (offset) => `slice 70, byte ${offset}`
  },
  {
    // A gzip NRRD is scanned whole when it is opened (where each slice's data begins), so the
    // fault is met there: the byte is one of the compressed file's.
    name: "NRRD gzip",
    input: () => path.join(dir, "in-gzip.nrrd"),
    bad: () => path.join(dir, "in-gzip.nrrd"),
    offset: (bad) => Math.floor(fs.statSync(bad).size * 0.6),
    where: (offset) => `byte ${offset}`
  },
  {
    name: "NIfTI",
    input: () => path.join(dir, "in.nii"),
    bad: () => path.join(dir, "in.nii"),
    offset: (bad) => dataStart(bad) + 70 * sliceBytes + 1000,
    where: (offset) => `slice 70, byte ${offset}`
  },
  {
    name: "TIFF file",
    input: () => path.join(dir, "in.tif"),
    bad: () => path.join(dir, "in.tif"),
    offset: (bad) => dataStart(bad) + 70 * sliceBytes + 1000,
    where: (offset) => `page 70 \\(IFD 70\\), byte ${offset}`
  },
  {
    name: "TIFF stack",
    input: () => path.join(dir, "stack/"),
    bad: () => path.join(dir, "stack", "slice_00070.tif"),
    offset: (bad) => fs.statSync(bad).size - 20_000,
    where: (offset) => `page 0 \\(IFD 0\\), byte ${offset}`
  }
]

/** Runs `gaussian:sigma=1` from `input` with reads of `bad` failing at `offset`. */
const runWithFault = async (input: string, bad: string, offset: number) => {
  const out = tempDir("read-error-out")
  const spill = tempDir("read-error-spill")
  try {
    const r = await runCli(["run", input, path.join(out, "out.nrrd"), "gaussian:sigma=1"], {
      NODE_OPTIONS: `--import ${preload}`,
      SLICEWISE_TEST_READ_FAULT: JSON.stringify({ file: bad, offset }),
      SLICEWISE_SPILL_DIR: spill
    })
    return { ...r, outputs: fs.readdirSync(out), spills: fs.readdirSync(spill), inputLeftovers: leftovers(path.dirname(bad)) }
  } finally {
    fs.rmSync(out, { recursive: true, force: true })
    fs.rmSync(spill, { recursive: true, force: true })
  }
}

// Each case is its own process and most of its time is Node's start-up: run them side by side.
describe.concurrent("an input whose read fails with EIO mid-volume", () => {
  for (const c of cases) {
    it(`${c.name}: one line naming the file and the byte; exit 1; no output, temporary, lock or spill`, async () => {
      const bad = c.bad()
      const offset = c.offset(bad)
      const r = await runWithFault(c.input(), bad, offset)
      expect(r.code, r.stderr).toBe(1)
      expect(r.stderr.trim().split("\n")).toHaveLength(1)
      expect(r.stderr.trim()).toMatch(new RegExp(`^slicewise: cannot read ${escape(bad)}: ${c.where(offset)}: input/output error$`))
      expect(r.outputs).toEqual([])
      expect(r.spills).toEqual([])
      expect(r.inputLeftovers).toEqual([])
    }, 60_000)
  }

  it("Zarr (local store): one line naming the chunk and its slices; exit 1; no output, temporary, lock or spill", async () => {
    // A chunk of the chunk-row holding slices 64…79. A Zarr object is read whole, so there is no
    // byte to name.
    const bad = path.join(dir, "in.zarr", "4.1.0")
    expect(fs.existsSync(bad), "the chunk to fail exists").toBe(true)
    const r = await runWithFault(path.join(dir, "in.zarr"), bad, 0)
    expect(r.code, r.stderr).toBe(1)
    expect(r.stderr.trim().split("\n")).toHaveLength(1)
    expect(r.stderr.trim()).toBe(`slicewise: cannot read ${bad}: slices 64…79: input/output error`)
    expect(r.outputs).toEqual([])
    expect(r.spills).toEqual([])
  }, 60_000)

  it("a fault in another file leaves the run unharmed (the preload itself breaks nothing)", async () => {
    const r = await runWithFault(path.join(dir, "in.nrrd"), path.join(dir, "elsewhere"), 0)
    expect(r.code, r.stderr).toBe(0)
    expect(r.spills).toEqual([])
  }, 60_000)
})

