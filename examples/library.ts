/**
 * slicewise as a library, the code of the README's "Using slicewise as a library": open a volume,
 * write a program, plan it, cost it and run it; a source, a sink and a kernel of your own; typed
 * errors; progress as a callback and as a Stream.
 *
 *   npx tsx examples/library.ts
 */
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import {
  Cost,
  gaussian,
  haloZ,
  Memory,
  openSource,
  phantomSource,
  Plan,
  Run,
  sinkFor,
  sliceBytes,
  threshold,
  volumeInfo,
  type Program,
  type Progress,
  type RunError,
  type RunOptions,
  type Shape,
  type SliceSink,
  type SliceSource,
  type WindowKernel
} from "slicewise"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "slicewise-library-"))
const scanPath = path.join(dir, "scan.tif")

// ── A source, a sink and a kernel of your own ────────────────────────────────────────────────

/** A source: slice z made on demand (a reader of your own format would read it from a file). */
const rampSource = (shape: Shape): SliceSource<"float32"> => {
  const info = volumeInfo("float32", shape)
  const bytes = sliceBytes(info)
  return {
    format: "ramp",
    path: `ramp(${shape.join("x")})`,
    info,
    details: {},
    sliceReadBytes: () => bytes, // exact: the cost model's prediction is checked against bytesRead
    open: Effect.sync(() => {
      let read = 0
      return {
        read: (z, into) =>
          Effect.sync(() => {
            for (let i = 0; i < into.length; i++) into[i] = z * 10 + (i % shape[2])
            read += bytes
          }),
        bytesRead: () => read
      }
    })
  }
}

/** A sink: keeps the mean of every slice instead of the voxels. */
const sliceMeans = (): SliceSink & { readonly means: Array<number> } => {
  const means: Array<number> = []
  return {
    format: "means",
    path: "slice means",
    means,
    outputBytes: (info) => info.shape[0] * 8,
    create: () =>
      Effect.sync(() => {
        let written = 0
        return {
          write: (z, data) =>
            Effect.sync(() => {
              let sum = 0
              for (let i = 0; i < data.length; i++) sum += data[i]!
              means[z] = sum / data.length
              written += 8
            }),
          commit: Effect.void,
          bytesWritten: () => written
        }
      })
  }
}

/** A kernel: the mean of slices z − 1, z, z + 1 (the interpreter applies the border mode along z). */
const zMean3: WindowKernel<"float32", "float32"> = {
  name: "zmean3",
  params: {},
  halo: haloZ(1),
  mode: "reflect",
  cval: 0,
  output: "float32",
  opsPerVoxel: 3,
  scratchBytes: () => 0,
  prepare: () => ({
    compute: (w, out) => {
      const a = w.at(-1)
      const b = w.at(0)
      const c = w.at(1)
      for (let i = 0; i < out.length; i++) out[i] = (a[i]! + b[i]! + c[i]!) / 3
    }
  })
}

// ── Progress as a Stream ─────────────────────────────────────────────────────────────────────

/**
 * Run.run reports progress through its `onProgress` callback; this turns it into a Stream that
 * ends when the run ends and fails as it fails (the latest 16 reports are kept if you fall behind).
 */
const progressOf = (program: Program, options: RunOptions = {}): Stream.Stream<Progress, RunError> =>
  Stream.asyncPush<Progress, RunError>(
    (emit) =>
      Effect.forkScoped(
        Run.run(program, { ...options, onProgress: (p) => emit.single(p) }).pipe(
          Effect.matchCause({ onFailure: (cause) => emit.halt(cause), onSuccess: () => emit.end() })
        )
      ),
    { bufferSize: 16, strategy: "sliding" }
  )

const main = Effect.gen(function* () {
  // A file to start from: a phantom written as a TIFF.
  yield* Memory.storeVolume(yield* Memory.loadSource(phantomSource({ shape: [32, 128, 128] })), yield* sinkFor(scanPath))

  // ── open → program → plan / cost / run ──
  const scan = yield* openSource(scanPath) // format from the path: TIFF, NRRD, NIfTI, Zarr …
  const mask = yield* sinkFor(path.join(dir, "mask.tif"))
  const program: Program = (alg) => {
    const smooth = gaussian(alg, alg.source(scan), { sigma: 1 })
    return { mask: alg.write(threshold(alg, smooth, { min: 100 }), mask) }
  }
  console.log(Plan.planText(yield* Plan.make(program))) // passes, rings, buffers: nothing read yet
  console.log(Cost.costText(yield* Cost.estimate(program))) // bytes, buffers, time: nothing read yet
  const result = yield* Run.run(program, {
    threads: 2,
    memoryBytes: 64 * 2 ** 20,
    onProgress: (p) => {
      if (p.tick === p.ticks) console.log(`pass ${p.pass + 1}/${p.passes} done`)
    }
  })
  console.log(`read ${result.bytesRead} bytes, wrote ${result.bytesWritten}, peak buffers ${result.peakBufferBytes}`)

  // ── your own source, kernel and sink ──
  // Sources and sinks are made outside the program: an interpreter may call the program more than once.
  const ramp = rampSource([6, 4, 5])
  const means = sliceMeans()
  const own: Program = (alg) => ({ means: alg.write(alg.window(alg.source(ramp), zMean3), means) })
  yield* Run.run(own) // means.means: the mean of each output slice
  const streamed = means.means.map((m) => m.toFixed(2)).join(" ")
  yield* Memory.evaluate(own) // the same program over whole volumes: the same means
  console.log(`slice means: ${streamed} (memory: ${means.means.map((m) => m.toFixed(2)).join(" ")})`)

  // ── typed errors ──
  const missing = yield* openSource(path.join(dir, "missing.tif")).pipe(
    Effect.as("opened"),
    Effect.catchTag("FileError", (e) => Effect.succeed(`FileError: ${e.message}`))
  )
  console.log(missing)
  const tooSmall = yield* Plan.make(program, { memoryBytes: 4096 }).pipe(
    Effect.as("planned"),
    Effect.catchTag("BudgetError", (e) => Effect.succeed(`BudgetError: needs at least ${e.minimumBytes} bytes`))
  )
  console.log(tooSmall)

  // ── progress as a Stream ──
  yield* progressOf(program).pipe(
    Stream.filter((p) => p.tick === p.ticks),
    Stream.runForEach((p) => Effect.sync(() => console.log(`streamed: pass ${p.pass + 1}/${p.passes}, ${p.ticks} ticks`)))
  )
})

Effect.runPromise(main.pipe(Effect.ensuring(Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))))).catch((e) => {
  console.error(e instanceof Error ? e.message : String(e))
  process.exitCode = 1
})
