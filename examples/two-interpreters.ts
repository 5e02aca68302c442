/**
 * One pipeline, written once against the algebra, given to two interpreters: the plan interpreter
 * prints what a run will do, the run interpreter streams it slice by slice, and the memory
 * interpreter (the definitional semantics) must agree with it voxel for voxel.
 *
 *   npx tsx examples/two-interpreters.ts
 */
import * as Effect from "effect/Effect"
import { dilate, Expr as E, gaussian, median, Memory, phantomSource, Plan, Run } from "slicewise"
import type { Algebra, DType, Reducer, Repr } from "slicewise"

const image = phantomSource({ shape: [48, 96, 96], seed: 3 })

/** A reducer: the sum and the count of the voxels, folded slice by slice. */
const sumAndCount: Reducer<DType, { total: number; count: number }> = {
  name: "sum",
  params: {},
  opsPerVoxel: 1,
  start: () => {
    let total = 0
    let count = 0
    return {
      add: (slice) => {
        for (let i = 0; i < slice.length; i++) total += slice[i]!
        count += slice.length
      },
      result: () => ({ total, count })
    }
  }
}

/** Denoise, smooth, keep what is brighter than the volume's mean, and grow it a little. */
const program = <F extends Repr>(alg: Algebra<F>) => {
  const denoised = median(alg, alg.source(image), { radius: 1 })
  const smooth = gaussian(alg, denoised, { sigma: 1.5 })
  // A reduction: its scalar is known only after a pass over `smooth`, so the planner makes two passes.
  const mean = alg.derive(alg.reduce(smooth, sumAndCount), (s) => s.total / s.count, "mean")
  const bright = alg.map(smooth, (x) => E.gt(x, alg.scalar(mean)), { dtype: "uint8" })
  return { mask: dilate(alg, bright, { radius: 1, footprint: "ball" }), mean }
}

const main = Effect.gen(function* () {
  console.log(Plan.planText(yield* Plan.make(program)))
  const streamed = yield* Run.run(program)
  const reference = yield* Memory.evaluate(program)
  const a = streamed.volumes.mask!.data
  const b = reference.volumes.mask!.data
  let differ = 0
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) differ++
  console.log(`mean ${Number(streamed.scalars.mean).toFixed(3)} (memory: ${Number(reference.scalars.mean).toFixed(3)})`)
  let set = 0
  for (let i = 0; i < a.length; i++) set += a[i]!
  console.log(`mask voxels set: ${set}; voxels differing between run and memory: ${differ}`)
  console.log(`run: ${streamed.wallMs.toFixed(0)} ms, peak buffers ${streamed.peakBufferBytes} bytes`)
})

Effect.runPromise(main).catch((e) => {
  console.error(String(e))
  process.exitCode = 1
})
