/**
 * Compressed inputs and outputs through the interpreters: a gzip NRRD source read by copy, median
 * radius 1 and the Euclidean distance transform (passes in both directions), written to gzip NRRD
 * and LZW / deflate TIFF. The cost model's predicted bytes read equal the run's measured bytes,
 * which for a single pass equal the compressed data's size; outputs read back equal to the same
 * program's raw NRRD output.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as nodePath from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import * as Effect from "effect/Effect"
import type { Algebra, Repr } from "../../src/algebra/algebra.js"
import { volumeBytes, volumeInfo } from "../../src/algebra/volume.js"
import type { SliceSink, SliceSource } from "../../src/algebra/slices.js"
import * as Cost from "../../src/interpreters/cost/index.js"
import * as Run from "../../src/interpreters/run/index.js"
import { openSource } from "../../src/io/index.js"
import { nrrdSink } from "../../src/io/nrrd.js"
import { tiffFileSink } from "../../src/io/tiff/writer.js"
import { edt } from "../../src/ops/edt.js"
import { median } from "../../src/ops/median.js"
import { readAll } from "../support/volume-io.js"
import { pseudoRandomBytes, writeVolume } from "./nrrd-helpers.js"

const dir = fs.mkdtempSync(nodePath.join(os.tmpdir(), "slicewise-compressed-run-"))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

/** Every voxel of a source, as bytes. */
const readAllBytes = (src: SliceSource) => Effect.map(readAll(src), (r) => r.bytes)

describe("gzip NRRD input, compressed outputs, through the run interpreter", () => {
  const info = volumeInfo("uint8", [9, 40, 70])
  const raw = pseudoRandomBytes(volumeBytes(info), 5).map((v) => (v > 200 ? 1 : 0))
  const input = nodePath.join(dir, "in.nrrd")
  const sinks: Array<[string, (name: string) => SliceSink]> = [
    ["gzip NRRD", (n) => nrrdSink(nodePath.join(dir, `${n}.nhdr`), { encoding: "gzip" })],
    ["LZW TIFF", (n) => tiffFileSink(nodePath.join(dir, `${n}.tif`), { compression: "lzw" })],
    ["deflate TIFF", (n) => tiffFileSink(nodePath.join(dir, `${n}.tif`), { compression: "deflate" })]
  ]
  let k = 0
  for (const [sinkName, makeSink] of sinks)
    for (const op of ["copy", "median", "edt"] as const)
      it(`${op} → ${sinkName}: predicted bytes read = measured; the output equals a raw NRRD run's`, async () => {
        if (!fs.existsSync(input)) await Effect.runPromise(writeVolume(nrrdSink(input, { encoding: "gzip", level: 1 }), info, raw))
        const src = await Effect.runPromise(openSource(input))
        expect(src.format).toBe("nrrd-gz")
        const programFor = (source: SliceSource, out: SliceSink) => <F extends Repr>(alg: Algebra<F>) => {
          const v = alg.source(source)
          if (op === "edt") return { o: alg.write(edt(alg, v), out) }
          return { o: alg.write(op === "median" ? median(alg, v, { radius: 1 }) : v, out) }
        }
        const name = `out${k++}`
        const sink = makeSink(name)
        const program = programFor(src, sink)
        const predicted = await Effect.runPromise(Cost.estimate(program))
        const result = await Effect.runPromise(Run.run(program))
        expect(result.bytesRead).toBe(predicted.bytesRead)
        let stored = 0
        for (let z = 0; z < info.shape[0]; z++) stored += src.sliceReadBytes(z)
        // A single pass reads the compressed data once (edt's later passes read its spills too).
        if (op !== "edt") expect(result.bytesRead).toBe(stored)
        else expect(result.bytesRead).toBeGreaterThan(stored)
        const out = await Effect.runPromise(openSource(sink.path))
        const written = await Effect.runPromise(readAllBytes(out))
        const reference = await Effect.runPromise(
          Run.run(programFor(src, nrrdSink(nodePath.join(dir, `${name}-ref.nrrd`))))
        )
        expect(reference.bytesRead).toBe(result.bytesRead)
        const ref = await Effect.runPromise(Effect.flatMap(openSource(nodePath.join(dir, `${name}-ref.nrrd`)), readAllBytes))
        expect(Buffer.from(written).equals(Buffer.from(ref))).toBe(true)
      }, 60_000)
})
