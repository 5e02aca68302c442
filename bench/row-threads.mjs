/**
 * What a row thread costs: the resident memory a worker adds, and the round trip of one split step
 * (hand a worker its rows through shared memory, compute ours, wait for its answer) on a step so
 * small that the handing over is all there is. Uses the compiled library (npm run build first),
 * whose worker loads no TypeScript loader, as an installed package runs it.
 *
 *   node --expose-gc bench/row-threads.mjs [--jobs 20000]
 */
import * as Effect from "effect/Effect"
import { allocShared } from "../dist/algebra/dtype.js"
import * as E from "../dist/algebra/expr.js"
import { pointwiseFromSource, pointwiseSource } from "../dist/interpreters/run/compile.js"
import { acquireRowThreads } from "../dist/interpreters/run/threads/pool.js"

const arg = process.argv.indexOf("--jobs")
const jobs = arg > 0 ? Number(process.argv[arg + 1]) : 20000
const rssMiB = () => process.memoryUsage().rss / 2 ** 20

await Effect.runPromise(
  Effect.scoped(
    Effect.gen(function* () {
      globalThis.gc?.()
      const before = rssMiB()
      const threads = yield* acquireRowThreads(2)
      // Let the worker settle before measuring it.
      yield* Effect.promise(() => new Promise((r) => setTimeout(r, 500)))
      const after = rssMiB()
      const source = pointwiseSource(E.add(E.input(0), E.constant(1)), ["uint8"], "uint8")
      const loop = pointwiseFromSource(source)
      const step = threads.definePointwise(source, [], 8)
      const input = allocShared("uint8", 16)
      const out = allocShared("uint8", 16)
      const arrays = [out, input]
      const local = (start, end) => loop(out.subarray(start * 8, end * 8), [input.subarray(start * 8, end * 8)], (end - start) * 8, [])
      for (let i = 0; i < 1000; i++) threads.run(step, 0, 2, arrays, local)
      const t0 = performance.now()
      for (let i = 0; i < jobs; i++) threads.run(step, 0, 2, arrays, local)
      const us = ((performance.now() - t0) * 1000) / jobs
      console.log(`one worker: +${(after - before).toFixed(1)} MiB RSS (${before.toFixed(1)} → ${after.toFixed(1)} MiB)`)
      console.log(`split step round trip: ${us.toFixed(1)} µs (mean of ${jobs})`)
    })
  )
)
