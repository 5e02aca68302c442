/**
 * The kernels a plan splits across row threads, with their recipes: what the workers must import
 * before the run starts (pool.ts). The same rule as the run's steps (plan/threads.ts `splitMode`,
 * over each stage's head and fused tail, in every pass and band template).
 *
 * @example
 * ```ts
 * const threads = yield* acquireRowThreads(plan.passes[0]!.threads.threads, threadKernels(plan))
 * ```
 */
import type { Plan } from "../../plan/passes.js"
import { inputInfo } from "../../plan/rewrites/fuse-chain.js"
import { splitMode } from "../../plan/threads.js"
import { stageName } from "../stage.js"
import type { ThreadKernel } from "./pool.js"

export const threadKernels = (plan: Plan): ReadonlyArray<ThreadKernel> => {
  const kernels: Array<ThreadKernel> = []
  for (const whole of plan.passes) {
    for (const pass of whole.bands?.templates ?? [whole]) {
      for (const { node } of pass.stages) {
        if (node.kind === "source") continue
        ;[node, ...(node.fused?.tail ?? [])].forEach((m, j) => {
          if (m.kind !== "window" || m.kernel.recipe === undefined) return
          const info = j === 0 ? m.input.info : inputInfo(node, m)
          if (splitMode(m.kernel, info, pass.threads) === undefined) return
          kernels.push({ recipe: m.kernel.recipe, stage: stageName(node), kernel: m.kernel.name })
        })
      }
    }
  }
  return kernels
}
