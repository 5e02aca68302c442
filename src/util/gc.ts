/**
 * A full garbage collection where node runs with --expose-gc (bin/slicewise.js sets it); nothing
 * elsewhere. For the points where much has just become garbage and V8 would otherwise keep it
 * resident for a while: before a pass or band of a run (src/interpreters/run) and in its row workers, after a batch job
 * ends (src/batch).
 *
 * @example
 * ```ts
 * collectGarbage()
 * const rss = process.memoryUsage.rss()   // without what the last job left
 * ```
 */
export const collectGarbage = (): void => (globalThis as { gc?: () => void }).gc?.()
