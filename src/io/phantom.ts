/**
 * A deterministic synthetic volume, made slice by slice on demand: a few bright balls of different
 * sizes and intensities on a dim background with seeded noise. It reads no file, so a demo or a
 * benchmark needs nothing on disk, and any depth costs one slice of memory.
 *
 * @example
 * ```ts
 * const src = phantomSource({ shape: [64, 128, 128] })   // uint8, seed 1
 * ```
 */
import * as Effect from "effect/Effect"
import { castValue, type ArrayOf, type DType } from "../algebra/dtype.js"
import { volumeInfo, type Shape } from "../algebra/volume.js"
import { FormatError } from "../algebra/io-errors.js"
import type { RowRange, SliceSource } from "../algebra/slices.js"

export interface PhantomOptions<D extends DType> {
  readonly shape: Shape
  readonly dtype?: D
  /** Seed of the ball layout and the noise. */
  readonly seed?: number
  /** Number of balls. */
  readonly balls?: number
}

/** A small, fast, seedable generator (mulberry32). */
const random = (seed: number) => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Integer hash of a voxel position and seed, for noise that does not depend on read order. */
const hash = (z: number, i: number, seed: number): number => {
  let h = Math.imul(z ^ seed, 0x9e3779b1) ^ Math.imul(i, 0x85ebca77)
  h ^= h >>> 15
  h = Math.imul(h, 0x2c1b3c6d)
  h ^= h >>> 12
  return (h >>> 0) / 4294967296
}

export const phantomSource = <D extends DType = "uint8">(options: PhantomOptions<D>): SliceSource<D> => {
  const dtype = (options.dtype ?? "uint8") as D
  const [depth, height, width] = options.shape
  const seed = options.seed ?? 1
  const rng = random(seed)
  const balls = Array.from({ length: options.balls ?? 12 }, () => ({
    z: rng() * depth,
    y: rng() * height,
    x: rng() * width,
    r: (0.06 + rng() * 0.14) * Math.min(height, width, Math.max(depth, 8)),
    v: 120 + rng() * 120
  }))
  const info = volumeInfo(dtype, options.shape)
  const path = `phantom(${depth}x${height}x${width},seed=${seed})`
  return {
    format: "phantom",
    path,
    info,
    details: { balls: balls.length, seed },
    sliceReadBytes: () => 0,
    rowReadBytes: () => 0,
    open: Effect.sync(() => {
      // Rows `first` … `first + into.length / width - 1` of slice z into `into`.
      const fill = (z: number, first: number, into: ArrayOf<D>): Effect.Effect<void, FormatError> => {
        if (z < 0 || z >= depth) {
          return Effect.fail(new FormatError({ path, position: `slice ${z}`, detail: `no such slice (depth ${depth})` }))
        }
        const base = first * width
        const last = first + into.length / width - 1
        // Background 20 with ±10 noise; inside a ball its intensity with ±10 noise.
        for (let i = 0; i < into.length; i++) into[i] = castValue(dtype, 20 + (hash(z, base + i, seed) - 0.5) * 20)
        for (const b of balls) {
          const dz = z - b.z
          const rr = b.r * b.r - dz * dz
          if (rr <= 0) continue
          const ry = Math.sqrt(rr)
          const y0 = Math.max(first, Math.ceil(b.y - ry))
          const y1 = Math.min(last, Math.floor(b.y + ry))
          for (let y = y0; y <= y1; y++) {
            const rx = Math.sqrt(rr - (y - b.y) * (y - b.y))
            const x0 = Math.max(0, Math.ceil(b.x - rx))
            const x1 = Math.min(width - 1, Math.floor(b.x + rx))
            for (let x = x0, i = y * width + x0; x <= x1; x++, i++) {
              into[i - base] = castValue(dtype, b.v + (hash(z, i, seed + 1) - 0.5) * 20)
            }
          }
        }
        return Effect.void
      }
      return {
        read: (z: number, into: ArrayOf<D>) => Effect.suspend(() => fill(z, 0, into)),
        readRows: (z: number, rows: RowRange, into: ArrayOf<D>) => Effect.suspend(() => fill(z, rows.start, into)),
        // Generated, not read: no storage bytes.
        bytesRead: () => 0
      }
    })
  }
}
