/**
 * CPU time of a run that can be attributed to it: the sum over its compute stages. Those are timed
 * around synchronous work (one slice), so the figure is exact even when other jobs share the
 * thread. Read and write stages are timed across their waits for I/O, during which read-ahead or
 * other jobs compute; their figures include that work, so they are left out here.
 *
 * @example
 * ```ts
 * const cpu = computeCpuMs(result.stages)   // ms
 * ```
 */
export const computeCpuMs = (stages: ReadonlyArray<{ readonly kind: string; readonly cpuMs: number }>): number =>
  stages.reduce((a, s) => (s.kind === "source" || s.kind === "write" ? a : a + s.cpuMs), 0)
