/**
 * `slicewise calibrate`: measures this machine's throughputs with real runs and stores them for the
 * dry run's time estimate (see ../interpreters/cost/calibration.ts):
 *
 * - write: a phantom volume written as a TIFF file (bytes written ÷ the write stage's wall time);
 * - read: that file read back and folded to its min and max (bytes read ÷ the read stage's time);
 * - compute: gaussian, median and threshold over it (the cost model's voxel-ops ÷ those stages'
 *   CPU time).
 *
 * The file is read right after it was written, so "read" is usually the page cache's speed; give
 * a `--size` larger than the free memory to measure the disk.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as nodePath from "node:path"
import * as Effect from "effect/Effect"
import type { Program } from "../algebra/algebra.js"
import { costOf, type Throughput } from "../interpreters/cost/index.js"
import { calibrationPath, saveCalibration } from "../interpreters/cost/calibration.js"
import * as Run from "../interpreters/run/index.js"
import { fileError } from "../algebra/io-errors.js"
import { openSource, sinkFor } from "../io/index.js"
import { phantomSource } from "../io/phantom.js"
import { minMax } from "../ops/reducers.js"
import { applyStep, parseStep } from "../jobs/steps.js"
import { formatBytes } from "../util/units.js"

const SLICE: readonly [number, number] = [512, 512]
const COMPUTE_STEPS = ["gaussian:sigma=1", "median:radius=1", "threshold:min=100"] as const

/** Sums the figures of the stages `pick` selects. */
const total = (r: Run.RunResult, pick: (s: Run.StageMetrics) => boolean, field: "wallMs" | "cpuMs" | "bytesRead" | "bytesWritten") =>
  r.stages.filter(pick).reduce((a, s) => a + s[field], 0)

/** Measures the throughputs on a uint16 volume of about `bytes` bytes in a temporary folder. */
export const measureThroughput = (bytes: number): Effect.Effect<Throughput, Run.RunError> =>
  Effect.acquireUseRelease(
    Effect.try({ try: () => fs.mkdtempSync(nodePath.join(os.tmpdir(), "slicewise-calibrate-")), catch: (e) => fileError(os.tmpdir(), "create", e) }),
    (dir) =>
      Effect.gen(function* () {
        const depth = Math.max(8, Math.round(bytes / (SLICE[0] * SLICE[1] * 2)))
        const file = nodePath.join(dir, "volume.tif")
        const phantom = phantomSource({ shape: [depth, SLICE[0], SLICE[1]], dtype: "uint16", seed: 3 })
        const sink = yield* sinkFor(file)
        const written = yield* Run.run((alg) => ({ out: alg.write(alg.source(phantom), sink) }))

        const source = yield* openSource(file)
        const read = yield* Run.run((alg) => ({ range: alg.reduce(alg.source(source), minMax()) }))

        const steps = COMPUTE_STEPS.map((s) => parseStep(s))
        const computeProgram: Program = (alg) => {
          let v = alg.source(source)
          for (const step of steps) v = applyStep(alg, v, step)
          return { out: alg.reduce(v, minMax()) }
        }
        const computed = yield* Run.run(computeProgram)
        const cost = costOf(computed.plan)
        const ops = cost.passes.flatMap((p) => p.stages).reduce((a, s) => a + s.voxelOps, 0)
        const computeMs = total(computed, (s) => s.kind === "pointwise" || s.kind === "window", "cpuMs")

        return {
          writeBytesPerSecond: total(written, (s) => s.kind === "write", "bytesWritten") / (total(written, (s) => s.kind === "write", "wallMs") / 1000),
          readBytesPerSecond: total(read, (s) => s.kind === "source", "bytesRead") / (total(read, (s) => s.kind === "source", "wallMs") / 1000),
          voxelOpsPerSecond: ops / (computeMs / 1000)
        }
      }),
    (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
  )

/** Measures, stores and prints the calibration. */
export const runCalibrate = (bytes: number, json: boolean) =>
  Effect.gen(function* () {
    const t = yield* measureThroughput(bytes)
    const path = calibrationPath()
    const calibration = {
      version: 1 as const,
      measuredAt: new Date().toISOString(),
      machine: `${os.cpus().length} × ${os.cpus()[0]?.model ?? "cpu"}, ${formatBytes(os.totalmem())}, Node ${process.versions.node}`,
      ...t
    }
    yield* saveCalibration(calibration, path)
    process.stdout.write(
      json
        ? `${JSON.stringify({ path, ...calibration }, null, 2)}\n`
        : [
            `read     ${formatBytes(t.readBytesPerSecond)}/s (a file just written: usually the page cache)`,
            `write    ${formatBytes(t.writeBytesPerSecond)}/s`,
            `compute  ${(t.voxelOpsPerSecond / 1e6).toFixed(0)} M voxel-ops/s (${COMPUTE_STEPS.join(" → ")})`,
            `saved to ${path}; slicewise cost uses it from now on`,
            ""
          ].join("\n")
    )
  })
