/**
 * Small window kernels the interpreter tests share.
 */
import { haloZ, type WindowKernel } from "../../src/algebra/kernel.js"

/** A z window of reach (1 before, 2 after): output steps read up to two steps ahead. */
export const zsum: WindowKernel<"float32", "float32"> = {
  name: "zsum",
  params: {},
  halo: haloZ(1, 2),
  mode: "reflect",
  cval: 0,
  output: "float32",
  opsPerVoxel: 4,
  scratchBytes: () => 0,
  prepare: () => ({
    compute: (w, out) => {
      const a = w.at(-1), b = w.at(0), c = w.at(1), d = w.at(2)
      for (let i = 0; i < out.length; i++) out[i] = a[i]! + 2 * b[i]! + 3 * c[i]! + 4 * d[i]!
    }
  })
}
