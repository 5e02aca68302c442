/**
 * Our TIFF output read by a peer: tifffile (through scripts/peers/check_tiff_output.py) must see
 * the same voxels, shape, dtype, BigTIFF flag and spacing. Skipped when /usr/bin/python3 with
 * tifffile is not available, so CI without Python still passes.
 */
import { execFileSync, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as nodePath from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, describe, expect, it } from "vitest"
import { DTYPES, type DType } from "../../src/algebra/dtype.js"
import type { Shape, Spacing } from "../../src/algebra/volume.js"
import { tiffFileSink, tiffStackSink } from "../../src/io/tiff/index.js"
import { concatSlices, info, makeSlices, removeTempDirs, tempDir, writeVolume } from "./tiff-helpers.js"

const PYTHON = "/usr/bin/python3"
const SCRIPT = fileURLToPath(new URL("../../scripts/peers/check_tiff_output.py", import.meta.url))

const hasTifffile = (() => {
  try {
    return spawnSync(PYTHON, ["-c", "import tifffile"], { stdio: "ignore" }).status === 0
  } catch {
    return false
  }
})()

interface Case {
  readonly name: string
  readonly kind: "file" | "stack"
  readonly dtype: DType
  readonly shape: Shape
  readonly spacing: Spacing
  readonly bigtiff: boolean
  readonly stripBytes?: number
}

const cases: Case[] = [
  ...DTYPES.map((dtype): Case => ({ name: `classic-${dtype}`, kind: "file", dtype, shape: [3, 5, 7], spacing: [2.5, 0.5, 0.25], bigtiff: false })),
  ...DTYPES.map((dtype): Case => ({ name: `bigtiff-${dtype}`, kind: "file", dtype, shape: [3, 5, 7], spacing: [1, 0.3, 0.7], bigtiff: true })),
  { name: "strips-int16", kind: "file", dtype: "int16", shape: [2, 13, 11], spacing: [1, 1, 1], bigtiff: false, stripBytes: 50 },
  { name: "depth1-float32", kind: "file", dtype: "float32", shape: [1, 4, 6], spacing: [4, 2, 2], bigtiff: false },
  { name: "aligned-uint16", kind: "file", dtype: "uint16", shape: [3, 256, 160], spacing: [1, 1, 1], bigtiff: false },
  { name: "stack-uint8", kind: "stack", dtype: "uint8", shape: [4, 5, 7], spacing: [3, 0.5, 0.5], bigtiff: false },
  { name: "stack-bigtiff-float64", kind: "stack", dtype: "float64", shape: [2, 3, 3], spacing: [1, 1, 1], bigtiff: true }
]

afterAll(removeTempDirs)

describe.skipIf(!hasTifffile)("TIFF output checked by tifffile", () => {
  it("tifffile reads every file and stack we write, BigTIFF included", async () => {
    const dir = tempDir()
    const paths: string[] = []
    for (const c of cases) {
      const path = nodePath.join(dir, c.kind === "file" ? `${c.name}.tif` : c.name)
      const vol = info(c.dtype, c.shape, c.spacing)
      const slices = makeSlices(c.dtype, c.shape)
      const sink = c.kind === "file" ? tiffFileSink(path, { bigtiff: c.bigtiff, stripBytes: c.stripBytes }) : tiffStackSink(path, { bigtiff: c.bigtiff })
      await writeVolume(sink, vol, slices)
      fs.writeFileSync(`${path}.expected.bin`, concatSlices(slices))
      fs.writeFileSync(`${path}.expected.json`, JSON.stringify({ dtype: c.dtype, shape: c.shape, spacing: c.spacing, bigtiff: c.bigtiff }))
      paths.push(path)
    }
    let output: string
    try {
      output = execFileSync(PYTHON, [SCRIPT, ...paths], { encoding: "utf8" })
    } catch (e) {
      const err = e as { stdout?: string; stderr?: string }
      throw new Error(`check_tiff_output.py failed:\n${err.stdout ?? ""}${err.stderr ?? ""}`)
    }
    const lines = output.trim().split("\n")
    expect(lines).toHaveLength(cases.length)
    for (const line of lines) expect(line).toMatch(/^ok /)
  })
})
