/**
 * A process that appends COUNT samples, one at a time, to a tool-model store: started several at
 * once by tool-model-store.test.ts to check that concurrent appends lose nothing.
 *
 *     node --import tsx test/jobs/append-samples-child.ts STORE KEY ID COUNT
 */
import * as Effect from "effect/Effect"
import { appendSamples } from "../../src/jobs/exec/tool-model-store.js"

const [store, key, id, count] = process.argv.slice(2) as [string, string, string, string]
for (let i = 0; i < Number(count); i++) {
  await Effect.runPromise(appendSamples(store, { key, tool: "elastix", params: "test" }, [{ voxels: Number(id) * 1000 + i, threads: 1, peakBytes: 1, source: "job" }]))
}
