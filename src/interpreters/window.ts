/**
 * The window a kernel sees, built the same way by every interpreter: input slice z + dz with the
 * kernel's boundary mode applied along z, a constant slice of cval where the mode is `constant`, and
 * a loud failure if a kernel reads outside the halo it declared (the planner sized buffers from it).
 *
 * @example
 * ```ts
 * const w = kernelWindow(kernel, input.info, (z) => sliceOf(input, z))
 * w.moveTo(5)
 * prepared.compute(w.window, out)   // the kernel reads w.window.at(-1) … at(+1)
 * ```
 */
import { boundaryIndex } from "../algebra/boundary.js"
import { allocSlice, castValue, type ArrayOf, type DType } from "../algebra/dtype.js"
import type { SliceWindow, WindowKernel } from "../algebra/kernel.js"
import { sliceLength, type VolumeInfo } from "../algebra/volume.js"

export interface KernelWindow<D extends DType> {
  readonly window: SliceWindow<D>
  /** Makes the window the one of output slice z. */
  readonly moveTo: (z: number) => void
}

/**
 * A window over `input` whose slice z (0 ≤ z < depth) is `fetch(z)`; `alloc` makes the constant
 * slice (allocShared where threads read the window).
 */
export const kernelWindow = <D extends DType>(
  kernel: Pick<WindowKernel<D, DType>, "name" | "halo" | "mode" | "cval">,
  input: VolumeInfo<D>,
  fetch: (z: number) => ArrayOf<D>,
  alloc: <E extends DType>(d: E, length: number) => ArrayOf<E> = allocSlice
): KernelWindow<D> => {
  const depth = input.shape[0]
  const constantSlice = alloc(input.dtype, kernel.mode === "constant" ? sliceLength(input) : 0)
  constantSlice.fill(castValue(input.dtype, kernel.cval))
  const { before, after } = kernel.halo.z
  let current = 0
  return {
    window: {
      get z() {
        return current
      },
      at: (dz) => {
        if (dz < -before || dz > after) {
          throw new RangeError(`kernel ${kernel.name} read slice offset ${dz}, outside its declared halo -${before}…+${after}`)
        }
        const zi = boundaryIndex(kernel.mode, current + dz, depth)
        return zi < 0 ? constantSlice : fetch(zi)
      }
    },
    moveTo: (z) => {
      current = z
    }
  }
}
