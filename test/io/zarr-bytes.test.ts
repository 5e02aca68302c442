/**
 * Property: a Zarr source reads every stored chunk exactly once per pass. For random shapes, chunk
 * shapes, dtypes, codecs and Zarr versions: bytes read (forward and backward) = Σ sliceReadBytes =
 * the sum of the chunk files' sizes; and through the run interpreter (copy, and a median window)
 * the run's bytes read are the same, amplification 1.00.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as nodePath from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Effect from "effect/Effect"
import fc from "fast-check"
import type { Algebra, Repr } from "../../src/algebra/algebra.js"
import { DTYPES, type DType } from "../../src/algebra/dtype.js"
import { volumeInfo } from "../../src/algebra/volume.js"
import * as Run from "../../src/interpreters/run/index.js"
import { nrrdSink } from "../../src/io/nrrd.js"
import { openZarr, zarrSink, type CodecName } from "../../src/io/zarr.js"
import { median } from "../../src/ops/median.js"
import { chunkFileBytes, predicted, readAll, up, volumeBytesOf, writeAll } from "./zarr-helpers.js"

let dir = ""
beforeAll(() => {
  dir = fs.mkdtempSync(nodePath.join(os.tmpdir(), "slicewise-zarr-bytes-"))
})
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

const case_ = fc.record({
  shape: fc.tuple(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 8 })),
  chunks: fc.tuple(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 5 })),
  dtype: fc.constantFrom(...DTYPES),
  codec: fc.constantFrom<CodecName>("raw", "gzip", "zstd", "blosc"),
  version: fc.constantFrom<2 | 3>(2, 3),
  seed: fc.integer({ min: 1, max: 1 << 30 })
})

let n = 0
describe("zarr bytes read = stored chunk bytes", () => {
  it("direct reads, forward and backward", async () => {
    await fc.assert(
      fc.asyncProperty(case_, async (c) => {
        const info = volumeInfo(c.dtype as DType, c.shape)
        const bytes = volumeBytesOf(info, c.seed)
        const path = nodePath.join(dir, `p${n++}.zarr`)
        await Effect.runPromise(writeAll(zarrSink(path, { version: c.version, chunks: c.chunks, codec: { codec: c.codec } }), info, bytes))
        const src = await Effect.runPromise(openZarr(path))
        const stored = chunkFileBytes(path)
        expect(predicted(src)).toBe(stored)
        const fwd = await Effect.runPromise(readAll(src, undefined, true))
        expect(fwd.bytesRead).toBe(stored)
        expect(Buffer.from(fwd.bytes).equals(Buffer.from(bytes))).toBe(true)
        const back = await Effect.runPromise(readAll(src, up(c.shape[0]).reverse()))
        expect(back.bytesRead).toBe(stored)
        expect(Buffer.from(back.bytes).equals(Buffer.from(bytes))).toBe(true)
      }),
      { numRuns: 40 }
    )
  }, 120_000)

  it("through the run interpreter: copy and median radius 1 read each chunk once", async () => {
    await fc.assert(
      fc.asyncProperty(case_, fc.boolean(), async (c, windowed) => {
        const info = volumeInfo(c.dtype as DType, c.shape)
        const path = nodePath.join(dir, `r${n++}.zarr`)
        await Effect.runPromise(writeAll(zarrSink(path, { version: c.version, chunks: c.chunks, codec: { codec: c.codec } }), info, volumeBytesOf(info, c.seed)))
        const src = await Effect.runPromise(openZarr(path))
        const out = nodePath.join(dir, `r${n++}.nrrd`)
        const program = <F extends Repr>(alg: Algebra<F>) => {
          const v = alg.source(src)
          return { o: alg.write(windowed ? median(alg, v, { radius: 1 }) : v, nrrdSink(out)) }
        }
        const result = await Effect.runPromise(Run.run(program))
        expect(result.bytesRead).toBe(chunkFileBytes(path))
      }),
      { numRuns: 15 }
    )
  }, 120_000)
})
