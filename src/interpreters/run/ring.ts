/**
 * A stage's output ring: `capacity` slice buffers reused in turn, step s living in slot
 * s mod capacity. Buffers are allocated on first use, so `allocatedBytes` is what the stage really
 * held. Reading a step that is no longer there is a planning bug and throws instead of returning
 * another slice's voxels.
 *
 * @example
 * ```ts
 * const ring = new RingBuffer("uint16", 512 * 512, 3)
 * reader.read(z, ring.slot(s))     // fill step s
 * kernel(ring.get(s - 1))          // still held: s-1, s-2
 * ```
 */
import { allocSlice, bytesPerVoxel, type ArrayOf, type DType } from "../../algebra/dtype.js"

export class RingBuffer<D extends DType = DType> {
  private readonly slots: Array<ArrayOf<D> | undefined>
  private readonly steps: Int32Array

  constructor(
    readonly dtype: D,
    readonly sliceLength: number,
    readonly capacity: number
  ) {
    this.slots = new Array(capacity).fill(undefined)
    this.steps = new Int32Array(capacity).fill(-1)
  }

  /** The buffer step `step` is to be written into (it replaces step - capacity). */
  slot(step: number): ArrayOf<D> {
    const i = step % this.capacity
    let buffer = this.slots[i]
    if (buffer === undefined) {
      buffer = allocSlice(this.dtype, this.sliceLength)
      this.slots[i] = buffer
    }
    this.steps[i] = step
    return buffer
  }

  /** The buffer holding step `step`, which must still be in the ring. */
  get(step: number): ArrayOf<D> {
    const i = step % this.capacity
    if (this.steps[i] !== step) {
      throw new Error(`internal: ring of ${this.capacity} no longer holds step ${step} (holds ${this.steps[i]})`)
    }
    return this.slots[i]!
  }

  /** Bytes of the buffers allocated so far. */
  get allocatedBytes(): number {
    let n = 0
    for (const s of this.slots) if (s !== undefined) n++
    return n * this.sliceLength * bytesPerVoxel(this.dtype)
  }
}
