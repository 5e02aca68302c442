/**
 * A pipeline as a program: read a source, apply the steps in order, write the sink.
 *
 * @example
 * ```ts
 * const program = pipeline(source, [parseStep("median:radius=1")], sink)
 * ```
 */
import type { Program } from "../algebra/algebra.js"
import type { SliceSink, SliceSource } from "../algebra/slices.js"
import { applyStep, type Step } from "./steps.js"

export const pipeline = (source: SliceSource, steps: ReadonlyArray<Step>, sink: SliceSink): Program => (alg) => {
  let volume = alg.source(source)
  for (const step of steps) volume = applyStep(alg, volume, step)
  return { output: alg.write(volume, sink) }
}
