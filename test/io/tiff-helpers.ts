/**
 * Shared helpers of the TIFF tests: deterministic volumes, write/read round trips, temp dirs, and
 * the open file descriptor count.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as nodePath from "node:path"
import { fileURLToPath } from "node:url"
import * as Effect from "effect/Effect"
import { allocSlice, bytesPerVoxel, type ArrayOf, type DType } from "../../src/algebra/dtype.js"
import { sliceLength, type Shape, type Spacing, type VolumeInfo, volumeInfo } from "../../src/algebra/volume.js"
import type { SliceSink, SliceSource } from "../../src/algebra/slices.js"

export const FIXTURES = fileURLToPath(new URL("../fixtures/tiff", import.meta.url))

export const run = <A, E>(effect: Effect.Effect<A, E>): Promise<A> => Effect.runPromise(effect)

/** The error of a failing effect (throws if it succeeds). */
export const failure = async <A, E>(effect: Effect.Effect<A, E>): Promise<E> => {
  const r = await Effect.runPromise(Effect.either(effect))
  if (r._tag === "Right") throw new Error("expected a failure, got a success")
  return r.left
}

const tempDirs: string[] = []

/** A fresh directory under the system temp dir, removed by `removeTempDirs`. */
export const tempDir = (): string => {
  const dir = fs.mkdtempSync(nodePath.join(os.tmpdir(), "slicewise-tiff-"))
  tempDirs.push(dir)
  return dir
}

/** Removes every directory `tempDir` made (call from afterAll). */
export const removeTempDirs = (): void => {
  for (const dir of tempDirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true })
}

export { openFdCount as fdCount } from "../support/faults.js"

/** Deterministic slices: hashed integers; for floats, varied values with ±0, ±Infinity and NaN. */
export const makeSlices = <D extends DType>(dtype: D, shape: Shape, seed = 1): Array<ArrayOf<D>> => {
  const n = shape[1] * shape[2]
  const out: Array<ArrayOf<D>> = []
  for (let z = 0; z < shape[0]; z++) {
    const a = allocSlice(dtype, n)
    if (dtype === "float32" || dtype === "float64") {
      for (let i = 0; i < n; i++) a[i] = ((Math.imul(i + z * n, 2654435761) >>> 0) % 20001 - 10000) * 0.37 * seed
      const specials = [-0, Infinity, -Infinity, NaN]
      for (let i = 0; i < Math.min(n, specials.length); i++) a[(i * 7 + z) % n] = specials[i]!
    } else {
      const bytes = new Uint8Array(a.buffer)
      for (let i = 0; i < bytes.length; i++) bytes[i] = (Math.imul(i + 31 * z + seed, 2654435761) >>> 13) & 0xff
    }
    out.push(a)
  }
  return out
}

export const bytesOf = (a: ArrayBufferView): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength)

/** A permutation of 0…n−1 (deterministic for a given seed). */
export const shuffled = (n: number, seed = 7): number[] => {
  const order = Array.from({ length: n }, (_, i) => i)
  let s = seed >>> 0 || 1
  for (let i = n - 1; i > 0; i--) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0
    const j = s % (i + 1)
    ;[order[i], order[j]] = [order[j]!, order[i]!]
  }
  return order
}

/** Writes `slices` through `sink` in `order`, commits, and returns the writer's byte count. */
export const writeVolume = <D extends DType>(
  sink: SliceSink,
  info: VolumeInfo<D>,
  slices: ReadonlyArray<ArrayOf<D>>,
  order: ReadonlyArray<number> = shuffled(info.shape[0])
): Promise<number> =>
  run(
    Effect.scoped(
      Effect.gen(function* () {
        const w = yield* sink.create(info)
        for (const z of order) yield* w.write(z, slices[z]!)
        yield* w.commit
        return w.bytesWritten()
      })
    )
  )

export interface ReadBack {
  /** All slices, z order, as little-endian bytes. */
  readonly bytes: Uint8Array
  readonly bytesRead: number
  /** bytesRead grew by sliceReadBytes(z) at every read. */
  readonly exactPerSlice: boolean
}

/** Reads every slice of `src` in `order`, checking the reader's byte count after each read. */
export const readVolume = (src: SliceSource, order: ReadonlyArray<number> = shuffled(src.info.shape[0], 3)): Promise<ReadBack> =>
  run(
    Effect.scoped(
      Effect.gen(function* () {
        const r = yield* src.open
        const sb = sliceLength(src.info) * bytesPerVoxel(src.info.dtype)
        const all = new Uint8Array(sb * src.info.shape[0])
        const slice = allocSlice(src.info.dtype, sliceLength(src.info))
        let exact = true
        for (const z of order) {
          const before = r.bytesRead()
          yield* r.read(z, slice)
          if (r.bytesRead() - before !== src.sliceReadBytes(z)) exact = false
          all.set(bytesOf(slice), z * sb)
        }
        return { bytes: all, bytesRead: r.bytesRead(), exactPerSlice: exact }
      })
    )
  )

export const concatSlices = (slices: ReadonlyArray<ArrayBufferView>): Uint8Array => {
  const total = slices.reduce((n, s) => n + s.byteLength, 0)
  const out = new Uint8Array(total)
  let at = 0
  for (const s of slices) {
    out.set(bytesOf(s), at)
    at += s.byteLength
  }
  return out
}

/** Total size of a file, or of the files in a directory. */
export const sizeOnDisk = (path: string): number => {
  const st = fs.statSync(path)
  if (st.isFile()) return st.size
  return fs.readdirSync(path).reduce((n, f) => n + fs.statSync(nodePath.join(path, f)).size, 0)
}

/** Names in `dir` that look like leftovers of an unfinished write. */
export const partials = (dir: string): string[] => fs.readdirSync(dir).filter((n) => n.includes(".partial-"))

export const info = <D extends DType>(dtype: D, shape: Shape, spacing?: Spacing): VolumeInfo<D> => volumeInfo(dtype, shape, spacing)

export const equalBytes = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && Buffer.from(a).equals(Buffer.from(b))
