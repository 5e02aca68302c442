/**
 * A progress bar on stderr, drawn only when stderr is a terminal, at most ten times a second.
 *
 * @example
 * ```ts
 * const bar = progressBar("median")
 * yield* Run.run(program, { onProgress: bar.update })
 * bar.done()
 * ```
 */
import type { Progress } from "../interpreters/run/index.js"

export interface ProgressBar {
  readonly update: (p: Progress) => void
  readonly done: () => void
}

const WIDTH = 30

export const progressBar = (label: string, stream: NodeJS.WriteStream = process.stderr): ProgressBar => {
  if (!stream.isTTY) return { update: () => {}, done: () => {} }
  let last = 0
  let drawn = false
  return {
    update: (p) => {
      const now = Date.now()
      if (now - last < 100 && p.tick < p.ticks) return
      last = now
      const fraction = (p.pass + p.tick / p.ticks) / p.passes
      const filled = Math.round(fraction * WIDTH)
      stream.write(
        `\r${label} [${"#".repeat(filled)}${"-".repeat(WIDTH - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}%  pass ${p.pass + 1}/${p.passes}`
      )
      drawn = true
    },
    done: () => {
      if (drawn) stream.write("\r\x1b[K")
    }
  }
}
