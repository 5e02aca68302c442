/**
 * The checkpoint state (`CheckpointableState`, algebra/kernel.ts) of a kernel or accumulator whose
 * state is typed arrays of a fixed size: the arrays themselves, put back in place.
 *
 * @example
 * ```ts
 * const last = new Int32Array(n).fill(-1)
 * return { ...arraysState({ last }), compute: … }
 * ```
 */
import type { CheckpointableState } from "../../algebra/kernel.js"

type Fixed = Int32Array | Uint32Array | Float64Array | Float32Array | Uint8Array

export const arraysState = (arrays: Readonly<Record<string, Fixed>>): CheckpointableState => ({
  snapshot: () => arrays,
  restore: (state) => {
    const saved = state as Record<string, Fixed>
    for (const [name, array] of Object.entries(arrays)) {
      const s = saved[name]
      if (s === undefined || s.length !== array.length) throw new Error(`internal: checkpoint state ${name} does not fit (${s?.length} for ${array.length})`)
      array.set(s)
    }
  }
})
