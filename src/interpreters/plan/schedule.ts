/**
 * The tick schedule of one pass, shared by the planner (which sizes buffers from it) and the run
 * interpreter (which follows it), so that predicted and measured buffers agree by construction.
 *
 * A pass visits slices in `steps` s = 0, 1, …, n-1: z = s forward, z = n-1-s backward. Every stage
 * v has a latency L(v): it emits step s at tick s + L(v). At a tick, sources read first, then every
 * stage computes in topological order, then sinks write. A stage keeps its recent outputs in a ring
 * of `capacity` slices: enough for every consumer's oldest still-needed step plus the new one.
 *
 * @example
 * ```ts
 * const w = windowSteps(node.kernel.halo.z, node.kernel.mode, 5, "forward")
 * w.lo[0], w.hi[0]   // input steps that output step 0 needs: 0 and 1 for a reflect window of ±1
 * ```
 */
import { boundaryIndex, type BoundaryMode } from "../../algebra/boundary.js"
import type { Direction, Reach } from "../../algebra/kernel.js"

/** z of step s in a volume of depth n. */
export const zOfStep = (direction: Direction, n: number, s: number): number => (direction === "forward" ? s : n - 1 - s)

/** For each output step of a z-window: the lowest and highest input step it reads. */
export interface WindowSteps {
  readonly lo: Int32Array
  readonly hi: Int32Array
  /** How many steps ahead of its output the window reads, at most. */
  readonly lookahead: number
  /** suffixMin[s]: the lowest input step any output step ≥ s still reads (n past the end). */
  readonly suffixMin: Int32Array
}

export const windowSteps = (reachZ: Reach, mode: BoundaryMode, n: number, direction: Direction): WindowSteps => {
  const lo = new Int32Array(n)
  const hi = new Int32Array(n)
  let lookahead = 0
  for (let s = 0; s < n; s++) {
    const z = zOfStep(direction, n, s)
    let min = n
    let max = -1
    for (let k = -reachZ.before; k <= reachZ.after; k++) {
      const zi = boundaryIndex(mode, z + k, n)
      if (zi < 0) continue
      const si = zOfStep(direction, n, zi)
      if (si < min) min = si
      if (si > max) max = si
    }
    // A window that reads only cval (constant mode on a thin volume) still waits for its own step.
    if (max < 0) {
      min = s
      max = s
    }
    lo[s] = min
    hi[s] = max
    if (max - s > lookahead) lookahead = max - s
  }
  const suffixMin = new Int32Array(n + 1)
  suffixMin[n] = n
  for (let s = n - 1; s >= 0; s--) suffixMin[s] = Math.min(lo[s]!, suffixMin[s + 1]!)
  return { lo, hi, lookahead, suffixMin }
}

/** One consumer's hold on a producer's outputs. */
export interface Hold {
  /** The consumer's latency. */
  readonly latency: number
  /** The lowest input step the consumer's outputs ≥ s read; `undefined` means s itself (pointwise). */
  readonly suffixMin: Int32Array | undefined
}

/**
 * The lowest step of a producer (depth n) that some consumer still needs after tick t, or n when
 * none does.
 */
export const lowestHeld = (holds: ReadonlyArray<Hold>, n: number, t: number): number => {
  let keep = n
  for (const h of holds) {
    const next = Math.max(0, t - h.latency + 1)
    if (next >= n) continue
    const need = h.suffixMin === undefined ? next : h.suffixMin[next]!
    if (need < keep) keep = need
  }
  return keep
}

/**
 * Ring capacity, in slices, of a producer of depth n and latency L: the most outputs alive at once
 * (those still held after the previous tick, and the one being made).
 */
export const ringCapacity = (holds: ReadonlyArray<Hold>, n: number, latency: number): number => {
  let capacity = 1
  for (let s = 1; s < n; s++) {
    const t = s + latency
    const newest = s - 1
    const keep = lowestHeld(holds, n, t - 1)
    const alive = keep <= newest ? newest - keep + 1 : 0
    if (alive + 1 > capacity) capacity = alive + 1
  }
  return capacity
}

/**
 * Bytes between the slots of a ring block whose slices are a multiple of 4 KiB. Slots exactly 4 KiB
 * apart map the same voxel of every slot to the same set of the L1 cache, so a window kernel
 * reading that voxel from 17 slots (a 17-tap z sum) evicts its own lines at every step; a few cache
 * lines between slots spread them over different sets, and 256 bytes cost nothing next to a slice.
 */
export const RING_SLOT_PAD_BYTES = 256

/** Bytes between the starts of consecutive slots of a ring of `sliceBytes` slices. */
export const slotStrideBytes = (sliceBytes: number): number => sliceBytes + (sliceBytes % 4096 === 0 ? RING_SLOT_PAD_BYTES : 0)

/**
 * The bytes of a ring of `slices` slices of `sliceBytes` each, as one block (slots padded apart
 * where they would alias in the cache): what the planner counts and the run allocates.
 *
 * @example
 * ```ts
 * ringBlockBytes(3, 1000)      // 3000
 * ringBlockBytes(3, 65536)     // 197120: two pads of 256 bytes
 * ```
 */
export const ringBlockBytes = (slices: number, sliceBytes: number): number =>
  slices <= 0 ? 0 : (slices - 1) * slotStrideBytes(sliceBytes) + sliceBytes
