/**
 * Output options per format: `--codec` names the codecs of the output's own format (Zarr raw |
 * gzip | zstd | blosc[:LEVEL], NIfTI .nii.gz gzip:LEVEL, NRRD raw | gzip[:LEVEL], TIFF raw |
 * deflate[:LEVEL] | lzw), and an option the output does not take (a codec, --chunks,
 * --zarr-version, --levels, --labels) is refused with a UsageError naming it and the output, not
 * ignored. `sinkFor` refuses such sink options too, and hands the right ones to the sinks.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as nodePath from "node:path"
import { afterAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { volumeInfo } from "../../src/algebra/volume.js"
import { arraySource } from "../../src/io/memory.js"
import { outputKindOf, sinkFor } from "../../src/io/index.js"
import { sinkOptions, type OutputFormat } from "../../src/jobs/formats.js"

const dir = fs.mkdtempSync(nodePath.join(os.tmpdir(), "slicewise-options-"))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

const source = arraySource(volumeInfo("uint8", [2, 2, 2]), new Uint8Array(8))
const options = (output: string, f: OutputFormat) => sinkOptions({ ...f, output }, source)
const refusal = (output: string, f: OutputFormat) => Effect.map(Effect.flip(options(output, f)), (e) => e.detail)

describe("--codec per output format", () => {
  it.effect("TIFF takes raw, deflate[:LEVEL] and lzw", () =>
    Effect.gen(function* () {
      expect(yield* options("out.tif", { codec: "lzw" })).toMatchObject({ tiffCodec: "lzw" })
      expect(yield* options("out.tiff", { codec: "deflate:9" })).toMatchObject({ tiffCodec: "deflate", compressionLevel: 9 })
      expect(yield* options("stack/", { codec: "raw" })).toMatchObject({ tiffCodec: "raw" })
      expect((yield* options("out.tif", { codec: "deflate" })).compressionLevel).toBeUndefined()
    })
  )

  it.effect("a Zarr codec on a TIFF output is refused, naming the option, the output and what it takes", () =>
    Effect.gen(function* () {
      expect(yield* refusal("out.tif", { codec: "gzip" })).toBe(
        "--codec gzip does not apply to TIFF output out.tif (use raw, deflate, deflate:LEVEL (1…9) or lzw)"
      )
      expect(yield* refusal("out.tif", { codec: "zstd:3" })).toContain("--codec zstd:3 does not apply to TIFF output out.tif")
      expect(yield* refusal("out.tif", { codec: "lzw:5" })).toContain("does not apply to TIFF output")
      expect(yield* refusal("slices/", { codec: "gzip" })).toContain("TIFF stack output slices/")
    })
  )

  it.effect("NRRD takes raw and gzip[:LEVEL]", () =>
    Effect.gen(function* () {
      expect(yield* options("out.nrrd", { codec: "gzip" })).toMatchObject({ nrrdEncoding: "gzip" })
      expect(yield* options("out.nhdr", { codec: "gzip:1" })).toMatchObject({ nrrdEncoding: "gzip", compressionLevel: 1 })
      expect(yield* refusal("out.nrrd", { codec: "zstd" })).toBe("--codec zstd does not apply to NRRD output out.nrrd (use raw, gzip or gzip:LEVEL (1…9))")
      expect(yield* refusal("out.nrrd", { codec: "deflate" })).toContain("NRRD output")
    })
  )

  it.effect("NIfTI .nii.gz takes gzip:LEVEL; .nii takes no codec", () =>
    Effect.gen(function* () {
      expect(yield* options("out.nii.gz", { codec: "gzip:9" })).toMatchObject({ compressionLevel: 9 })
      expect(yield* refusal("out.nii.gz", { codec: "zstd:5" })).toContain("NIfTI .nii.gz output out.nii.gz")
      expect(yield* refusal("out.nii", { codec: "gzip" })).toContain("name the output .nii.gz for gzip")
    })
  )

  it.effect("Zarr keeps its codecs and levels", () =>
    Effect.gen(function* () {
      expect(yield* options("out.zarr", { codec: "blosc:5" })).toMatchObject({ codec: "blosc", compressionLevel: 5 })
      expect(yield* options("out.ome.zarr", { codec: "none" })).toMatchObject({ codec: "raw" })
      expect(yield* refusal("out.zarr", { codec: "lzw" })).toContain("Zarr output out.zarr (use raw, gzip, zstd or blosc")
    })
  )
})

describe("Zarr-only options on other outputs", () => {
  it.effect("--chunks, --zarr-version, --levels and --labels are refused for TIFF, NRRD and NIfTI", () =>
    Effect.gen(function* () {
      expect(yield* refusal("out.tif", { chunks: "8,8,8" })).toBe("--chunks does not apply to TIFF output out.tif (it is a Zarr option)")
      expect(yield* refusal("out.nrrd", { zarrVersion: "3" })).toContain("--zarr-version does not apply to NRRD output out.nrrd")
      expect(yield* refusal("out.nii.gz", { levels: 3 })).toContain("--levels does not apply to NIfTI .nii.gz output out.nii.gz (it is a Zarr / OME-Zarr option)")
      expect(yield* refusal("stack/", { labels: true })).toContain("--labels does not apply to TIFF stack output stack/")
    })
  )

  it.effect("they still apply to Zarr and OME-Zarr", () =>
    Effect.gen(function* () {
      expect(yield* options("out.zarr", { chunks: "8,8,8", zarrVersion: "3" })).toMatchObject({ chunks: [8, 8, 8], zarrVersion: 3 })
      expect(yield* options("out.ome.zarr", { levels: 2, labels: true })).toMatchObject({ levels: 2, labels: true })
    })
  )

  it.effect("without an output path (a caller that does not say), nothing is refused", () =>
    Effect.gen(function* () {
      expect(yield* sinkOptions({ chunks: "4,4,4", codec: "zstd" }, source)).toMatchObject({ chunks: [4, 4, 4], codec: "zstd" })
    })
  )
})

describe("sinkFor", () => {
  it("knows each output's format from its path", () => {
    expect(["a.tif", "a.TIFF", "a.nrrd", "a.nhdr", "a.nii", "a.nii.gz", "a.zarr", "a.ome.zarr", "a/", "noext"].map(outputKindOf)).toEqual([
      "tiff",
      "tiff",
      "nrrd",
      "nrrd",
      "nifti",
      "nifti-gz",
      "zarr",
      "ome-zarr",
      "tiff-stack",
      "tiff-stack"
    ])
    expect(outputKindOf("http://x/a.zarr")).toBeUndefined()
    expect(outputKindOf("a.png")).toBeUndefined()
  })

  it.effect("refuses a sink option the format does not take", () =>
    Effect.gen(function* () {
      const e = yield* Effect.flip(sinkFor(nodePath.join(dir, "x.tif"), { codec: "gzip" }))
      expect(e._tag).toBe("UnsupportedError")
      expect(e.message).toContain("codec")
      expect(e.message).toContain("TIFF")
      const n = yield* Effect.flip(sinkFor(nodePath.join(dir, "x.nrrd"), { chunks: [1, 1, 1] }))
      expect(n.message).toContain("chunks")
      const t = yield* Effect.flip(sinkFor(nodePath.join(dir, "x.nii.gz"), { tiffCodec: "lzw" }))
      expect(t.message).toContain("tiffCodec")
    })
  )

  it.effect("hands compression to the TIFF and NRRD sinks", () =>
    Effect.gen(function* () {
      const tiff = yield* sinkFor(nodePath.join(dir, "x.tif"), { tiffCodec: "lzw", like: source })
      expect(tiff.format).toBe("tiff-lzw")
      expect(tiff.outputBytesExact).toBe(false)
      const stack = yield* sinkFor(nodePath.join(dir, "st") + "/", { tiffCodec: "deflate", compressionLevel: 3 })
      expect(stack.format).toBe("tiff-stack-deflate")
      const nrrd = yield* sinkFor(nodePath.join(dir, "x.nhdr"), { nrrdEncoding: "gzip" })
      expect(nrrd.format).toBe("nrrd-gz")
      const raw = yield* sinkFor(nodePath.join(dir, "y.tif"))
      expect(raw.format).toBe("tiff")
      expect(raw.outputBytesExact ?? true).toBe(true)
    })
  )
})
