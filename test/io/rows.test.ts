/**
 * Reading and writing bands of rows (for in-plane tiling under a memory budget), on every TIFF and
 * NRRD fixture that can be read and on each writer: a band read gives exactly the rows of a whole
 * read and costs exactly `rowReadBytes`; bands written in any order make the same file as whole
 * slices, and commit refuses a slice with rows missing.
 */
import * as fs from "node:fs"
import * as nodePath from "node:path"
import * as Effect from "effect/Effect"
import { afterAll, describe, expect, it } from "vitest"
import { allocSlice, type DType } from "../../src/algebra/dtype.js"
import { sliceLength } from "../../src/algebra/volume.js"
import { FormatError } from "../../src/algebra/io-errors.js"
import { openSource } from "../../src/io/index.js"
import { nrrdSink } from "../../src/io/nrrd.js"
import type { RowRange, SliceSink } from "../../src/algebra/slices.js"
import { tiffFileSink, tiffStackSink } from "../../src/io/tiff/writer.js"
import { failure, makeSlices, removeTempDirs, run, tempDir } from "./tiff-helpers.js"

afterAll(removeTempDirs)

const FIXTURES = nodePath.join(import.meta.dirname, "../fixtures")

/** Every readable fixture: TIFF files and stacks (all layouts and compressions), NRRD. */
const inputs = (): string[] => {
  const out: string[] = []
  for (const sub of ["classic", "bigtiff", "be", "compressed", "tiled", "special"]) {
    const dir = nodePath.join(FIXTURES, "tiff", sub)
    if (fs.existsSync(dir)) for (const f of fs.readdirSync(dir).sort()) if (/\.tiff?$/.test(f)) out.push(nodePath.join(dir, f))
  }
  out.push(nodePath.join(FIXTURES, "tiff", "stack_uint16"), nodePath.join(FIXTURES, "tiff", "stack_be_zlib_float32"))
  for (const f of fs.readdirSync(nodePath.join(FIXTURES, "nrrd")).sort()) {
    if (/\.(nrrd|nhdr)$/.test(f)) out.push(nodePath.join(FIXTURES, "nrrd", f))
  }
  return out
}

/** Bands covering every row: single rows, a middle band, and the whole slice. */
const bandsOf = (height: number): RowRange[] => {
  const bands: RowRange[] = [{ start: 0, end: height }, { start: height - 1, end: height }, { start: 0, end: 1 }]
  if (height > 2) bands.push({ start: 1, end: height - 1 }, { start: Math.floor(height / 3), end: Math.floor((2 * height) / 3) + 1 })
  return bands
}

describe("reading bands of rows", () => {
  for (const path of inputs()) {
    const name = nodePath.relative(FIXTURES, path)
    it(`${name}: rows equal those of a whole read, bytes as predicted`, async () => {
      const opened = await Effect.runPromise(Effect.either(openSource(path)))
      if (opened._tag === "Left") return // fixtures of unsupported variants (tested elsewhere)
      const src = opened.right
      // A gzip or bzip2 stream (NRRD encoding: gzip, bzip2) has no positions to read rows at: whole slices only.
      if (/-(gz|bz2)$/.test(src.format)) return expect(src.rowReadBytes).toBeUndefined()
      expect(src.rowReadBytes).toBeDefined()
      const [depth, height, width] = src.info.shape
      await run(
        Effect.scoped(
          Effect.gen(function* () {
            const reader = yield* src.open
            const whole = allocSlice(src.info.dtype, sliceLength(src.info))
            for (const z of [0, depth - 1]) {
              yield* reader.read(z, whole)
              for (const rows of bandsOf(height)) {
                const band = allocSlice(src.info.dtype, (rows.end - rows.start) * width)
                const before = reader.bytesRead()
                yield* reader.readRows!(z, rows, band)
                expect(reader.bytesRead() - before, `${name} z=${z} rows ${rows.start}…${rows.end}`).toBe(src.rowReadBytes!(z, rows))
                expect(Array.from(band)).toEqual(Array.from(whole.subarray(rows.start * width, rows.end * width)))
              }
            }
          })
        )
      )
    })
  }

  it("a band outside the slice is a FormatError naming the file", async () => {
    const src = await run(openSource(nodePath.join(FIXTURES, "tiff", "classic", "uint8.tif")))
    const [, height, width] = src.info.shape
    const e = await failure(
      Effect.scoped(Effect.flatMap(src.open, (r) => r.readRows!(0, { start: height - 1, end: height + 1 }, allocSlice("uint8", 2 * width))))
    )
    expect(e).toBeInstanceOf(FormatError)
    expect(String((e as FormatError).message)).toContain("uint8.tif")
  })
})

const sinks: ReadonlyArray<{ name: string; make: (dir: string) => SliceSink }> = [
  { name: "tiff file", make: (dir) => tiffFileSink(nodePath.join(dir, "v.tif")) },
  { name: "tiff stack", make: (dir) => tiffStackSink(nodePath.join(dir, "stack")) },
  { name: "nrrd", make: (dir) => nrrdSink(nodePath.join(dir, "v.nrrd")) },
  { name: "nrrd big-endian", make: (dir) => nrrdSink(nodePath.join(dir, "v.nhdr"), { endian: "big" }) }
]

describe("writing bands of rows", () => {
  for (const { name, make } of sinks) {
    for (const dtype of ["uint8", "int16", "float32"] as const satisfies ReadonlyArray<DType>) {
      it(`${name} ${dtype}: bands in any order make the volume, bytes as predicted`, async () => {
        const shape = [3, 7, 5] as const
        const slices = makeSlices(dtype, [...shape], 4)
        const info = { dtype, shape: [...shape] as [number, number, number], spacing: [1, 1, 1] as [number, number, number] }
        const sink = make(tempDir())
        expect(sink.writesRows).toBe(true)
        const bands: RowRange[] = [{ start: 4, end: 7 }, { start: 0, end: 2 }, { start: 2, end: 4 }]
        const written = await run(
          Effect.scoped(
            Effect.gen(function* () {
              const writer = yield* sink.create(info)
              for (const rows of bands) {
                for (let z = shape[0] - 1; z >= 0; z--) {
                  yield* writer.writeRows!(z, rows, slices[z]!.subarray(rows.start * shape[2], rows.end * shape[2]) as never)
                }
              }
              yield* writer.commit
              return writer.bytesWritten()
            })
          )
        )
        expect(written).toBe(sink.outputBytes(info))
        const back = await run(openSource(sink.path))
        const slice = allocSlice(dtype, shape[1] * shape[2])
        await run(
          Effect.scoped(
            Effect.gen(function* () {
              const r = yield* back.open
              for (let z = 0; z < shape[0]; z++) {
                yield* r.read(z, slice)
                expect(Array.from(slice)).toEqual(Array.from(slices[z]!))
              }
            })
          )
        )
      })
    }

    it(`${name}: commit with rows missing fails and leaves no output`, async () => {
      const dir = tempDir()
      const sink = make(dir)
      const info = { dtype: "uint8" as const, shape: [2, 4, 3] as [number, number, number], spacing: [1, 1, 1] as [number, number, number] }
      const e = await failure(
        Effect.scoped(
          Effect.gen(function* () {
            const writer = yield* sink.create(info)
            for (let z = 0; z < 2; z++) yield* writer.writeRows!(z, { start: 0, end: 3 }, new Uint8Array(9))
            yield* writer.commit
          })
        )
      )
      expect(e).toBeInstanceOf(FormatError)
      expect(fs.readdirSync(dir)).toEqual([])
    })
  }
})
