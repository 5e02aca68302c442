/**
 * A program that uses slicewise as an installed package, the way a user would: every public entry
 * point but slicewise/cluster (cluster-consumer.ts: its optional peers are not installed yet when
 * this runs), a pipeline planned, costed, run with two row threads and checked against the memory
 * interpreter, a file written and read back, a typed error caught by its tag. scripts/consumer/
 * check.mjs type-checks it under moduleResolution node16 and bundler and runs it with node in a
 * fresh project where the packed tarball is installed. It exits non-zero on any mismatch.
 *
 *   node consumer.js DIR                  writes DIR/input.tif and DIR/library.tif, checks everything
 *   node consumer.js compare A B          exits non-zero unless the volumes A and B are equal
 */
import * as Effect from "effect/Effect"
import { createRequire } from "node:module"
import * as path from "node:path"
import {
  arraySource,
  Cost,
  dilate,
  Expr,
  FileError,
  gaussian,
  median,
  Memory,
  openSource,
  phantomSource,
  Plan,
  Run,
  sinkFor,
  stats,
  volumeInfo,
  type Algebra,
  type Program,
  type Repr,
  type SliceSink,
  type SliceSource,
  type VoxelArray
} from "slicewise"
import * as Algebra_ from "slicewise/algebra"
import { runBatch } from "slicewise/batch"
import * as Interpreters from "slicewise/interpreters"
import { openTiffFile, type NiftiSource } from "slicewise/io"
import { openNifti } from "slicewise/io/nifti"
import { openDicomSeries } from "slicewise/io/dicom"
import { zarrSink } from "slicewise/io/zarr"
import { parseMemory, parseSteps, pipeline } from "slicewise/jobs"
import { threshold } from "slicewise/ops"
import { PROFILE_VERSION } from "slicewise/profile"

/** The steps the CLI runs too (check.mjs passes the same ones to `slicewise run`). */
export const STEPS = ["gaussian:sigma=1", "median:radius=1", "threshold:min=900"]

const fail = (what: string): never => {
  throw new Error(`consumer: ${what}`)
}

const differing = (a: VoxelArray, b: VoxelArray): number => {
  if (a.length !== b.length) return Math.max(a.length, b.length)
  let n = 0
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) n++
  return n
}

/** A uint16 volume made here: a few bright blobs on a ramp, with seeded noise. */
const makeVolume = (): SliceSource<"uint16"> => {
  const [Z, Y, X] = [9, 80, 96]
  const data = new Uint16Array(Z * Y * X)
  let seed = 7
  const noise = () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0
    return (seed >>> 16) / 65536
  }
  for (let z = 0; z < Z; z++)
    for (let y = 0; y < Y; y++)
      for (let x = 0; x < X; x++) {
        const d1 = Math.hypot(z - 4, (y - 30) / 2, (x - 40) / 2)
        const d2 = Math.hypot(z - 6, (y - 60) / 3, (x - 70) / 3)
        const v = 200 + 4 * x + (d1 < 4 ? 1500 : 0) + (d2 < 3 ? 1100 : 0) + 300 * noise()
        data[(z * Y + y) * X + x] = Math.round(v)
      }
  return arraySource(volumeInfo("uint16", [Z, Y, X]), data, "consumer-volume")
}

/** Smooth, denoise, keep what is brighter than the mean and grow it; write the smoothed volume. */
const makeProgram = (src: SliceSource<"uint16">, sink: SliceSink): Program => {
  const program = <F extends Repr>(alg: Algebra<F>) => {
    const smooth = median(alg, gaussian(alg, alg.source(src), { sigma: 1 }), { radius: 1 })
    const mean = alg.derive(alg.reduce(smooth, stats()), (s) => s.mean, "mean")
    const bright = alg.map(smooth, (x) => Expr.gt(x, alg.scalar(mean)), { dtype: "uint8" })
    return { mask: dilate(alg, bright, { radius: 1, footprint: "ball" }), mean, smooth: alg.write(smooth, sink) }
  }
  return program
}

const check = (dir: string) =>
  Effect.gen(function* () {
    const require = createRequire(import.meta.url)
    const pkg = require("slicewise/package.json") as { name: string; version: string }
    console.log(`${pkg.name} ${pkg.version}`)
    // Every entry point is there and says what it should.
    if (Interpreters.Run.run !== Run.run || Algebra_.Expr.gt !== Expr.gt) fail("the subpaths do not export the root's namespaces")
    if (typeof runBatch !== "function" || typeof zarrSink !== "function" || typeof PROFILE_VERSION !== "number") fail("an entry point lacks an export")
    const bytes = yield* parseMemory("64MiB", "--memory")
    if (bytes !== 64 * 2 ** 20) fail(`parseMemory("64MiB") is ${bytes}`)

    const src = makeVolume()
    const runOut = path.join(dir, "run.tif")
    const program = makeProgram(src, yield* sinkFor(runOut))

    const plan = yield* Plan.make(program, { threads: 2, minSplitOps: 0 })
    console.log(Plan.planText(plan))
    if (plan.passes.length !== 2) fail(`expected 2 passes (the mean needs one first), got ${plan.passes.length}`)
    const cost = yield* Cost.estimate(program, { threads: 2, minSplitOps: 0 })
    console.log(Cost.costText(cost))

    let ticks = 0
    // minSplitOps 0: every step is split between this thread and a worker, loaded from the installed dist.
    const streamed = yield* Run.run(program, { threads: 2, minSplitOps: 0, onProgress: () => void ticks++ })
    if (ticks === 0) fail("onProgress was never called")
    if (streamed.bytesRead !== cost.bytesRead || streamed.bytesWritten !== cost.bytesWritten) {
      fail(`measured bytes ${streamed.bytesRead} read / ${streamed.bytesWritten} written, predicted ${cost.bytesRead} / ${cost.bytesWritten}`)
    }
    const reference = yield* Memory.evaluate(makeProgram(src, yield* sinkFor(path.join(dir, "memory.tif"))))

    const mask = differing(streamed.volumes.mask!.data, reference.volumes.mask!.data)
    if (mask !== 0) fail(`run and memory masks differ in ${mask} voxels`)
    if (streamed.scalars.mean !== reference.scalars.mean) fail(`mean ${streamed.scalars.mean} (run) ≠ ${reference.scalars.mean} (memory)`)
    const written = yield* Memory.loadSource(yield* openTiffFile(runOut))
    const smooth = differing(written.data, reference.volumes.smooth!.data)
    if (smooth !== 0) fail(`the written volume differs from memory's in ${smooth} voxels`)
    let set = 0
    for (const v of streamed.volumes.mask!.data) set += v
    console.log(`run = memory: mask (${set} voxels set), mean ${Number(streamed.scalars.mean).toFixed(2)}, ${runOut}`)

    // Formats loaded on demand: NIfTI through sinkFor and "slicewise/io/nifti".
    const phantom = yield* Memory.loadSource(phantomSource({ shape: [4, 32, 32], seed: 2 }))
    const nii = path.join(dir, "phantom.nii.gz")
    yield* Memory.storeVolume(phantom, yield* sinkFor(nii))
    const back: NiftiSource = yield* openNifti(nii)
    const niiDiff = differing((yield* Memory.loadSource(back)).data, phantom.data)
    if (niiDiff !== 0) fail(`the NIfTI round trip changed ${niiDiff} voxels`)

    // "slicewise/io/dicom": a directory of TIFF files is not a DICOM series, and says so by a typed error.
    const notDicom = yield* openDicomSeries(dir).pipe(
      Effect.as("opened"),
      Effect.catchTags({ FormatError: (e) => Effect.succeed(e._tag), UnsupportedError: (e) => Effect.succeed(e._tag), FileError: (e) => Effect.succeed(e._tag) })
    )
    if (notDicom === "opened") fail("a directory of TIFF files opened as a DICOM series")

    // A typed error, caught by its tag.
    const missing = yield* openSource(path.join(dir, "missing.tif")).pipe(
      Effect.as("opened"),
      Effect.catchTag("FileError", (e: FileError) => Effect.succeed(e.operation))
    )
    if (missing !== "stat") fail(`opening a missing file gave ${missing}, not a FileError from stat`)

    // The input of `slicewise run` and the same steps through the library (slicewise/jobs).
    const input = path.join(dir, "input.tif")
    yield* Memory.storeVolume(yield* Memory.loadSource(src), yield* sinkFor(input))
    const steps = yield* parseSteps(STEPS)
    const library = path.join(dir, "library.tif")
    yield* Run.run(pipeline(yield* openSource(input), steps, yield* sinkFor(library)), { threads: 2 })
    // Keep ops from "slicewise/ops" in use, typed: a threshold of the phantom.
    const small = phantomSource({ shape: [2, 8, 8] })
    const t = yield* Memory.evaluate((alg) => ({ t: threshold(alg, alg.source(small), { min: 100 }) }))
    if (t.volumes.t!.info.dtype !== "uint8") fail("threshold is not uint8")
    console.log("consumer: every check passed")
  })

const compare = (a: string, b: string) =>
  Effect.gen(function* () {
    const va = yield* Memory.loadSource(yield* openSource(a))
    const vb = yield* Memory.loadSource(yield* openSource(b))
    if (va.info.dtype !== vb.info.dtype || va.info.shape.join() !== vb.info.shape.join()) {
      fail(`${a} is ${va.info.dtype} ${va.info.shape.join("×")}, ${b} is ${vb.info.dtype} ${vb.info.shape.join("×")}`)
    }
    const n = differing(va.data, vb.data)
    if (n !== 0) fail(`${a} and ${b} differ in ${n} voxels`)
    console.log(`${a} = ${b}`)
  })

const [first, second, third] = process.argv.slice(2)
const main = first === "compare" ? compare(second!, third!) : check(path.resolve(first ?? "."))
Effect.runPromise(main).catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e))
  process.exitCode = 1
})
