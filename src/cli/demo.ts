/**
 * `slicewise demo`: writes a deterministic phantom to a TIFF file, runs a short pipeline over it with
 * the streaming interpreter, checks the result against the memory interpreter, and prints the plan,
 * the metrics and where the files are.
 */
import * as Effect from "effect/Effect"
import * as os from "node:os"
import * as path from "node:path"
import * as fs from "node:fs"
import * as Memory from "../interpreters/memory/index.js"
import * as Plan from "../interpreters/plan/index.js"
import * as Run from "../interpreters/run/index.js"
import { openSource, sinkFor } from "../io/index.js"
import { phantomSource } from "../io/phantom.js"
import { parseSteps } from "../jobs/steps.js"
import { pipeline } from "../jobs/pipeline.js"
import { metricsJson, metricsText } from "./report.js"
import { fileError } from "../algebra/io-errors.js"
import { arraySink } from "../io/memory.js"

export const DEMO_STEPS = ["median:radius=1", "threshold:min=100", "dilate:radius=2,footprint=ball"] as const

export const runDemo = (json: boolean) =>
  Effect.gen(function* () {
    const dir = path.join(os.tmpdir(), "slicewise-demo")
    yield* Effect.try({ try: () => fs.mkdirSync(dir, { recursive: true }), catch: (e) => fileError(dir, "create", e) })
    const phantomPath = path.join(dir, "phantom.tif")
    const outputPath = path.join(dir, "mask.tif")

    const phantom = phantomSource({ shape: [64, 256, 256], seed: 7 })
    const phantomSink = yield* sinkFor(phantomPath)
    yield* Run.run((alg) => ({ phantom: alg.write(alg.source(phantom), phantomSink) }))

    const steps = yield* parseSteps(DEMO_STEPS)
    const source = yield* openSource(phantomPath)
    const sink = yield* sinkFor(outputPath)
    const program = pipeline(source, steps, sink)
    // As `run` does by default: every CPU computes each slice (the median and the ball are split).
    const options = { threads: os.availableParallelism() }
    const plan = yield* Plan.make(program, options)
    const result = yield* Run.run(program, options)

    // The same pipeline, evaluated whole by the definitional memory interpreter, must give the
    // voxels the streaming run wrote to the file.
    const reference = yield* Memory.evaluate(pipeline(source, steps, arraySink("reference")))
    const written = yield* Effect.flatMap(openSource(outputPath), Memory.loadSource)
    const expected = reference.volumes.output!.data
    let differing = 0
    for (let i = 0; i < expected.length; i++) if (expected[i] !== written.data[i]) differing++
    const agreement = differing === 0 ? "yes, voxel for voxel" : `NO: ${differing} voxels differ`

    if (differing > 0) return yield* Effect.die(new Error(`demo: streaming and memory results differ in ${differing} voxels`))
    if (json) {
      process.stdout.write(
        `${JSON.stringify({ input: phantomPath, output: outputPath, steps: DEMO_STEPS, plan: Plan.planJson(plan), metrics: metricsJson(result), memoryAgrees: differing === 0 }, null, 2)}\n`
      )
      return
    }
    process.stdout.write(
      [
        `slicewise demo: ${DEMO_STEPS.join(" → ")} over a 64×256×256 uint8 phantom`,
        "",
        Plan.planText(plan),
        "",
        metricsText(result),
        `memory interpreter agrees: ${agreement}`,
        "",
        `input:  ${phantomPath}`,
        `output: ${outputPath}`,
        `try:    npx slicewise info ${outputPath}`,
        ""
      ].join("\n")
    )
  })
