/**
 * A copy between two volumes through the library alone: the same pipeline and run interpreter as
 * `slicewise run IN OUT copy`, without the CLI (@effect/cli, the report). bench/runtime-floor.sh
 * bundles it as the CLI is bundled and compares the peak RSS of the two.
 *
 *   (bundled by bench/runtime-floor.sh)   node copy.mjs IN OUT
 */
import * as Effect from "effect/Effect"
import { pipeline } from "../../src/jobs/pipeline.js"
import * as Run from "../../src/interpreters/run/index.js"
import { openSource, sinkFor } from "../../src/io/index.js"

const [input, output] = process.argv.slice(2)
if (input === undefined || output === undefined) throw new Error("usage: copy.mjs IN OUT")

const program = Effect.gen(function* () {
  const source = yield* openSource(input)
  const sink = yield* sinkFor(output)
  const result = yield* Run.run(pipeline(source, [], sink), { threads: 1 })
  process.stdout.write(`read ${result.bytesRead} bytes, wrote ${result.bytesWritten}\n`)
})

Effect.runPromise(program).catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`)
  process.exitCode = 1
})
