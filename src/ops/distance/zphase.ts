/**
 * The z phases of the distance transforms, as sweeps (stateful kernels that see slices in order):
 *
 * - `edtForwardKernel` (forward sweep): per column, the distance in slices to the previous zero
 *   voxel at or before z, or −1 when there is none yet. State: one int32 slice.
 * - `edtBackwardKernel` (backward sweep over the forward result): min with the distance to the next
 *   zero at or after z: the distance in slices to the nearest zero voxel of the column, or −1 when
 *   the column has no zero voxel at all. State: one int32 slice. A zero voxel is where the forward
 *   result is 0, so this pass needs nothing else.
 * - `ballZKernel` (one forward sweep with a lookahead of R slices): per column, the distance in
 *   slices to the nearest target voxel within ±R (foreground for dilation; background for erosion,
 *   where the slices −1 and depth count as background), capped at R + 1. O(1) amortised per voxel
 *   whatever R: the previous target is carried as state; the next one is remembered per column and
 *   looked for again only once z has passed it, from the last slice already examined, so that each
 *   column examines each slice at most once. Dilation of a uint8 mask with R ≤ 16 runs as WebAssembly
 *   SIMD instead (ball-z.ts): R + 1 reads a voxel, sixteen voxels a step, no branch.
 *
 * @example
 * ```ts
 * const before = alg.sweep(mask, edtForwardKernel(), "forward")
 * const dz = alg.sweep(before, edtBackwardKernel(), "backward")   // int32 |Δz| or −1
 * ```
 */
import type { DType } from "../../algebra/dtype.js"
import { reach, type Halo, type WindowKernel } from "../../algebra/kernel.js"
import { sliceLength, type VolumeInfo } from "../../algebra/volume.js"
import { arraysState } from "../internal/checkpoint-state.js"
import { WASM_PAGE } from "../internal/wasm.js"
import { WasmBallZ, wasmBallZBytes } from "./ball-z.js"

const HALO0: Halo = { z: reach(0), y: reach(0), x: reach(0) }

/** Forward z phase of the EDT: slices since the last zero voxel of the column (−1: none yet). */
export const edtForwardKernel = <D extends DType>(): WindowKernel<D, "int32"> => ({
  name: "edt-z-forward",
  params: {},
  halo: HALO0,
  mode: "nearest",
  cval: 0,
  output: "int32",
  opsPerVoxel: 3,
  scratchBytes: (info) => 4 * sliceLength(info),
  stateBytes: (info) => 4 * sliceLength(info),
  prepare: (info) => {
    const n = sliceLength(info)
    const last = new Int32Array(n).fill(-1)
    return {
      ...arraysState({ last }),
      compute: (w, out) => {
        const s = w.at(0)
        for (let i = 0; i < n; i++) {
          let d: number
          if (s[i] === 0) d = 0
          else {
            const p = last[i]!
            d = p < 0 ? -1 : p + 1
          }
          last[i] = d
          out[i] = d
        }
      }
    }
  }
})

/** Backward z phase of the EDT: |Δz| to the nearest zero voxel of the column (−1: the column has none). */
export const edtBackwardKernel = (): WindowKernel<"int32", "int32"> => ({
  name: "edt-z-backward",
  params: {},
  halo: HALO0,
  mode: "nearest",
  cval: 0,
  output: "int32",
  opsPerVoxel: 4,
  scratchBytes: (info) => 4 * sliceLength(info),
  stateBytes: (info) => 4 * sliceLength(info),
  prepare: (info) => {
    const n = sliceLength(info)
    const next = new Int32Array(n).fill(-1)
    return {
      ...arraysState({ next }),
      compute: (w, out) => {
        const f = w.at(0)
        for (let i = 0; i < n; i++) {
          const before = f[i]!
          if (before === 0) {
            next[i] = 0
            out[i] = 0
            continue
          }
          const q = next[i]!
          const after = q < 0 ? -1 : q + 1
          next[i] = after
          out[i] = before < 0 ? after : after < 0 || before < after ? before : after
        }
      }
    }
  }
})

export type BallOperation = "dilate" | "erode"

/** The smallest unsigned dtype that holds a distance capped at R + 1. */
export const cappedType = (radius: number): "uint8" | "uint16" | "int32" =>
  radius < 255 ? "uint8" : radius < 65535 ? "uint16" : "int32"

/**
 * Whether ball dilation's z phase runs as WebAssembly SIMD (ball-z.ts): uint8 masks, radii up to
 * 16 (it reads R + 1 slices a step, and holds them as well as the window does), slices of at least
 * 2¹² voxels (its memory comes in 64 KiB pages).
 */
const simdDilation = (op: BallOperation, radius: number, info: VolumeInfo): boolean =>
  op === "dilate" && info.dtype === "uint8" && radius >= 1 && radius <= 16 && sliceLength(info) >= 2 ** 12

/** Position meaning "no next target known": below every z, so that it is always looked for. */
const NONE = -1

/**
 * z phase of ball morphology: per column, |Δz| to the nearest target within ±R, capped at R + 1.
 * Targets are foreground voxels (dilate) or background voxels and the slices outside (erode).
 * A forward sweep reading slices z … z + R (mode constant, cval 0: past the end is background).
 */
export const ballZKernel = <D extends DType, O extends "uint8" | "uint16" | "int32">(
  op: BallOperation,
  radius: number,
  output: O
): WindowKernel<D, O> => ({
  name: `${op}-ball-z`,
  params: { radius, to: op === "dilate" ? "foreground" : "background" },
  halo: { z: reach(0, radius), y: reach(0), x: reach(0) },
  mode: "constant",
  cval: 0,
  output,
  opsPerVoxel: 6,
  scratchBytes: (info) => Math.max(3 * 4 * sliceLength(info), simdDilation(op, radius, info) ? wasmBallZBytes(sliceLength(info), radius) + WASM_PAGE : 0),
  stateBytes: (info) => 3 * 4 * sliceLength(info),
  prepare: (info) => {
    const n = sliceLength(info)
    const simd = simdDilation(op, radius, info) ? WasmBallZ.make(n, radius) : undefined
    if (simd !== undefined) {
      const previous = simd.previous
      return {
        ...arraysState({ previous }),
        restore: (state) => simd.restore((state as { previous: Uint8Array }).previous),
        compute: (w, out) => simd.step(w.z, (k) => w.at(k) as Uint8Array, out as Uint8Array)
      }
    }
    const cap = radius + 1
    const dilate = op === "dilate"
    // The last target at or before z: none for dilation (far away); slice −1 for erosion.
    const prev = new Int32Array(n).fill(dilate ? -(cap + 1) : -1)
    // The first target at or after z once found (NONE otherwise), and the last slice examined.
    const next = new Int32Array(n).fill(NONE)
    const seen = new Int32Array(n).fill(-1)
    const slices = new Array<ArrayLike<number>>(radius + 1)
    return {
      ...arraysState({ prev, next, seen }),
      compute: (w, out) => {
        const z = w.z
        for (let k = 0; k <= radius; k++) slices[k] = w.at(k)
        const here = slices[0]!
        const end = z + radius
        for (let i = 0; i < n; i++) {
          if ((here[i] !== 0) === dilate) {
            prev[i] = z
            next[i] = z
            if (seen[i]! < z) seen[i] = z
            out[i] = 0
            continue
          }
          let nx = next[i]!
          if (nx < z) {
            // Look on from the last slice examined (never z itself: it is not a target).
            nx = NONE
            let p = seen[i]! + 1
            if (p <= z) p = z + 1
            for (; p <= end; p++) {
              if ((slices[p - z]![i] !== 0) === dilate) {
                nx = p
                break
              }
            }
            seen[i] = nx === NONE ? end : nx
            next[i] = nx
          }
          let d = z - prev[i]!
          if (nx !== NONE && nx - z < d) d = nx - z
          out[i] = d < cap ? d : cap
        }
      }
    }
  }
})
