/**
 * Neighbourhood kernels (for `window` and `sweep`) and reducers (for `reduce`): the value-level
 * descriptions of per-slice work that every interpreter runs the same way.
 *
 * A kernel never sees a voxel at a time from the interpreter: it gets a whole output slice to fill
 * and a window of input slices, and runs its own typed loops. Work per voxel stays inside those
 * loops, with scratch buffers made once in `prepare`.
 *
 * @example
 * ```ts
 * // A 3-slice mean along z (a toy; see src/ops for real kernels)
 * const zMean3: WindowKernel<"float32", "float32"> = {
 *   name: "zmean3", params: {}, halo: haloZ(1, 1), mode: "reflect", cval: 0,
 *   output: "float32", opsPerVoxel: 3, scratchBytes: () => 0,
 *   prepare: () => ({
 *     compute: (w, out) => {
 *       const a = w.at(-1), b = w.at(0), c = w.at(1)
 *       for (let i = 0; i < out.length; i++) out[i] = (a[i]! + b[i]! + c[i]!) / 3
 *     }
 *   })
 * }
 * ```
 */
import type { BoundaryMode } from "./boundary.js"
import type { ArrayOf, DType } from "./dtype.js"
import type { VolumeInfo } from "./volume.js"

/** How far a neighbourhood reaches along one axis: `before` lower indices, `after` higher. */
export interface Reach {
  readonly before: number
  readonly after: number
}

/** The reach of a neighbourhood on each axis. */
export interface Halo {
  readonly z: Reach
  readonly y: Reach
  readonly x: Reach
}

export const reach = (before: number, after: number = before): Reach => ({ before, after })

/** A halo that reaches r (or r = [rz, ry, rx]) each way. */
export const haloOf = (r: number | readonly [number, number, number]): Halo => {
  const [rz, ry, rx] = typeof r === "number" ? [r, r, r] : r
  return { z: reach(rz), y: reach(ry), x: reach(rx) }
}

/** A halo along z only (in-plane work needs none from the interpreter). */
export const haloZ = (before: number, after: number = before): Halo => ({
  z: reach(before, after),
  y: reach(0),
  x: reach(0)
})

/** Parameters shown in plans: plain values only. */
export type Params = Readonly<Record<string, number | string | boolean | ReadonlyArray<number>>>

/** The input slices a kernel may read for one output slice. */
export interface SliceWindow<D extends DType> {
  /** The output slice's index. */
  readonly z: number
  /**
   * Input slice z + dz for -halo.z.before ≤ dz ≤ halo.z.after, with the boundary mode already
   * applied along z (a constant slice of cval where the mode is `constant`). Read only.
   */
  readonly at: (dz: number) => ArrayOf<D>
}

/**
 * What a stateful kernel or accumulator gives a resumable run's checkpoints (docs/RESUME.md):
 * `snapshot()` is the state carried to the next slice, as a value util/json-value.ts encodes
 * exactly (numbers, plain objects and arrays, typed arrays; it may share the kernel's own arrays,
 * which stay valid until the next slice); `restore(state)` puts such a state back into a kernel or
 * accumulator made for the same input, which then goes on as the snapshotted one would have.
 *
 * @example
 * ```ts
 * // A running z maximum: its state is the maximum so far, one slice.
 * const last = new Float32Array(n)
 * const state: CheckpointableState = { snapshot: () => last, restore: (s) => last.set(s as Float32Array) }
 * ```
 */
export interface CheckpointableState {
  readonly snapshot: () => unknown
  readonly restore: (state: unknown) => void
}

/**
 * A kernel prepared for one input. A sweep whose kernel declares `stateBytes` also has `snapshot`
 * and `restore` (`CheckpointableState`).
 */
export interface PreparedKernel<In extends DType, Out extends DType> extends Partial<CheckpointableState> {
  /** Fills `out` (one slice) from the window. Sweeps are called in pass order, once per z. */
  readonly compute: (window: SliceWindow<In>, out: ArrayOf<Out>) => void
  /**
   * Fills rows `start` ≤ y < `end` of `out` (a whole slice) and writes no other row, with the same
   * values `compute` gives them. Optional: with it, threads can share one slice of a kernel that
   * reads other rows (halo.y > 0); kernels with no y halo are split without it (see `recipe`).
   * A throw here (or in `compute`, or `prepare`) fails the run with a KernelError
   * (algebra/kernel-error.ts) naming the stage and the slice.
   */
  readonly computeRows?: (window: SliceWindow<In>, out: ArrayOf<Out>, start: number, end: number) => void
}

/**
 * How a row thread (a worker) rebuilds a kernel: the ES module that exports its factory, the
 * export's name, and the arguments to call it with, which must survive structured cloning
 * (numbers, strings, plain objects, typed arrays). A worker imports the module, calls
 * `module[factory](...args)` and must get the same kernel. Built-in kernels name `ops/kernels.ts`;
 * a kernel of your own names its own module. Kernels without a recipe run on the calling thread
 * only.
 *
 * @example
 * ```ts
 * // my-kernels.ts: the factory is exported, and the kernel it makes says how to make it again
 * export const zMean = (r: number): WindowKernel<"float32", "float32"> => ({
 *   name: "zmean", params: { r }, halo: haloZ(r), // …
 *   recipe: { module: import.meta.url, factory: "zMean", args: [r] }
 * })
 * ```
 */
export interface KernelRecipe {
  /**
   * An absolute URL a worker can `import()`: `import.meta.url` of the module that exports the
   * factory. The module should not depend on anything of the calling thread's (state set at run
   * time, closures): the worker has its own copy of every module.
   */
  readonly module: string
  /** The name of the factory among the module's exports. */
  readonly factory: string
  readonly args: ReadonlyArray<unknown>
}

/**
 * `computeRows` of a kernel that loops over rows. Each kernel writes its own
 * `compute: (w, out) => computeRows(w, out, 0, height)`: one wrapper shared by every kernel would
 * be one call site for all of them, which V8 optimises for one and keeps deoptimising for the
 * others (a shared wrapper made gaussian's x pass twice as slow).
 */
export type ComputeRows = (window: SliceWindow<DType>, out: ArrayOf<DType>, start: number, end: number) => void

export interface WindowKernel<In extends DType, Out extends DType> {
  /** Short name for plans: "median", "gaussian-z" … */
  readonly name: string
  readonly params: Params
  /**
   * How far the kernel reaches on each axis. `halo.y` must be exact (or larger): under a memory
   * budget the planner may split a pass into bands of rows and gives each band `halo.y` rows of
   * its neighbours; for kernels whose rows depend on the whole slice, set `inPlane: "global"`.
   */
  readonly halo: Halo
  /**
   * "global" for kernels whose output row depends on rows beyond `halo.y` (in-plane distance
   * transforms, connected components): the planner then never splits their pass into bands.
   * Default "local".
   */
  readonly inPlane?: "local" | "global"
  /** Boundary mode on every axis; the interpreter applies it along z, the kernel in-plane. */
  readonly mode: BoundaryMode
  /** The value outside the volume for mode `constant`. */
  readonly cval: number
  readonly output: Out
  /** Operations per output voxel, for the cost model. */
  readonly opsPerVoxel: number
  /** Bytes of scratch and state `prepare` allocates for `input`, for plans and metrics. */
  readonly scratchBytes: (input: VolumeInfo<In>) => number
  /** Makes a kernel ready to process slices of `input` (allocate scratch here, never in compute). */
  readonly prepare: (input: VolumeInfo<In>) => PreparedKernel<In, Out>
  /** How a worker thread rebuilds this kernel; without it the kernel is never split across threads. */
  readonly recipe?: KernelRecipe
  /**
   * For sweeps: the bytes of the state its prepared kernels' `snapshot` gives for `input` (an
   * estimate where the state grows). Set it only when they have `snapshot` and `restore`: a
   * resumable run then checkpoints the sweep's pass mid-way, and without it restarts the pass.
   */
  readonly stateBytes?: (input: VolumeInfo<In>) => number
}

/** The direction a sweep visits slices in. */
export type Direction = "forward" | "backward"

/**
 * A running fold over the slices of a volume. One whose reducer declares `stateBytes` also has
 * `snapshot` and `restore` (`CheckpointableState`).
 */
export interface Accumulator<In extends DType, A> extends Partial<CheckpointableState> {
  /** Adds one slice; slices come in pass order (ascending z, or descending in a backward pass, unless the reducer sets `order`). */
  readonly add: (slice: ArrayOf<In>, z: number) => void
  /** The result; must not depend on the order slices came in. */
  readonly result: () => A
}

export interface Reducer<In extends DType, A> {
  readonly name: string
  readonly params: Params
  readonly opsPerVoxel: number
  /**
   * The order the fold needs slices in, if any (connected-component labelling scans z upwards);
   * the planner runs it in a pass of that direction. Unset: any order gives the same result.
   */
  readonly order?: Direction
  readonly start: (input: VolumeInfo<In>) => Accumulator<In, A>
  /**
   * The bytes of the state its accumulators' `snapshot` gives for `input` (an estimate where it
   * grows). Set it only when they have `snapshot` and `restore`: a resumable run then checkpoints
   * the fold mid-pass instead of folding the pass again after an interruption.
   */
  readonly stateBytes?: (input: VolumeInfo<In>) => number
}
