/**
 * What the segmentation bench must undo if it is stopped by a signal: runners live in process groups
 * of their own (so Ctrl-C of the bench does not reach them), PostgreSQL servers and memory cgroups
 * outlive it. Each resource registers its undoing here while it exists; on SIGINT or SIGTERM they
 * all run, then the bench exits 130. (On a normal end or a failure, try/finally undoes them.)
 *
 *   const done = onSignal(() => pg.stop())
 *   try { … } finally { done(); await pg.stop() }
 *
 * Used by bench/segmentation/phase.ts and run.ts.
 */
const undo = new Set<() => unknown>()

/** Registers `fn` to run if the bench is stopped by a signal; call the result when it is no longer needed. */
export const onSignal = (fn: () => unknown): (() => void) => {
  undo.add(fn)
  return () => undo.delete(fn)
}

let installed = false

/** SIGINT / SIGTERM: undo everything registered (in reverse order), then exit 130. */
export const installSignalCleanup = (): void => {
  if (installed) return
  installed = true
  const handler = async (signal: NodeJS.Signals) => {
    console.error(`bench/segmentation: ${signal}: stopping runners, PostgreSQL and cgroups`)
    for (const fn of [...undo].reverse()) {
      try {
        await fn()
      } catch (e) {
        console.error(`cleanup: ${e instanceof Error ? e.message : String(e)}`)
      }
    }
    process.exit(130)
  }
  process.once("SIGINT", handler)
  process.once("SIGTERM", handler)
}
