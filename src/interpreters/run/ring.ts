/**
 * A stage's output ring: `capacity` slice buffers reused in turn, step s living in slot
 * s mod capacity. The slots are views into one block allocated on first use, so `allocatedBytes`
 * is what the stage really held; one block lets a kernel that reads several slices of a window
 * address them as one array at offsets (see `SharedLines` in ops/internal/loops.ts), which V8
 * runs much faster than the same loads from separate arrays (docs/BENCHMARKS.md, "Kernel loops").
 * Reading a step that is no longer there is a planning bug and throws instead of returning another
 * slice's voxels.
 *
 * @example
 * ```ts
 * const ring = new RingBuffer("uint16", 512 * 512, 3)
 * reader.read(z, ring.slot(s))     // fill step s
 * kernel(ring.get(s - 1))          // still held: s-1, s-2
 * ```
 */
import { allocSlice, bytesPerVoxel, type ArrayOf, type DType } from "../../algebra/dtype.js"
import { ringBlockBytes, slotStrideBytes } from "../plan/schedule.js"


export class RingBuffer<D extends DType = DType> {
  private readonly slots: Array<ArrayOf<D> | undefined>
  private readonly steps: Int32Array

  /** `alloc` makes the block (allocShared where row threads read the ring). */
  constructor(
    readonly dtype: D,
    readonly sliceLength: number,
    readonly capacity: number,
    private readonly alloc: <E extends DType>(d: E, length: number) => ArrayOf<E> = allocSlice
  ) {
    this.slots = new Array(capacity).fill(undefined)
    this.steps = new Int32Array(capacity).fill(-1)
  }

  /** The buffer step `step` is to be written into (it replaces step - capacity). */
  slot(step: number): ArrayOf<D> {
    const i = step % this.capacity
    if (this.slots[0] === undefined) {
      const size = bytesPerVoxel(this.dtype)
      const block = this.alloc(this.dtype, ringBlockBytes(this.capacity, this.sliceLength * size) / size)
      const stride = slotStrideBytes(this.sliceLength * size) / size
      for (let k = 0; k < this.capacity; k++) {
        this.slots[k] = block.subarray(k * stride, k * stride + this.sliceLength) as ArrayOf<D>
      }
    }
    this.steps[i] = step
    return this.slots[i]!
  }

  /** The buffer holding step `step`, which must still be in the ring. */
  get(step: number): ArrayOf<D> {
    const i = step % this.capacity
    if (this.steps[i] !== step) {
      throw new Error(`internal: ring of ${this.capacity} no longer holds step ${step} (holds ${this.steps[i]})`)
    }
    return this.slots[i]!
  }

  /** The steps the ring holds, ascending (what a checkpoint of a held stage saves). */
  heldSteps(): Array<number> {
    return [...this.steps].filter((s) => s >= 0).sort((a, b) => a - b)
  }

  /** Bytes of the buffers allocated so far. */
  get allocatedBytes(): number {
    return this.slots[0] === undefined ? 0 : ringBlockBytes(this.capacity, this.sliceLength * bytesPerVoxel(this.dtype))
  }
}
