/**
 * The memory interpreter: every volume is a whole typed array. It is the definitional semantics of
 * the algebra (pointwise expressions are evaluated by walking the tree at every voxel) and the
 * oracle the streaming interpreters are tested against. For small data.
 *
 * @example
 * ```ts
 * const result = yield* Memory.evaluate(program)
 * const mask = result.volumes.mask   // { info, data: Uint8Array }
 * ```
 */
import * as Effect from "effect/Effect"
import type { Algebra, Outputs, Program, Repr } from "../../algebra/algebra.js"
import { allocSlice, castValue, type ArrayOf, type DType } from "../../algebra/dtype.js"
import * as E from "../../algebra/expr.js"
import { KernelError, thrownMessage } from "../../algebra/kernel-error.js"
import type { Direction, Reducer, WindowKernel } from "../../algebra/kernel.js"
import { sameShape, shapeText, sliceLength, voxelCount, withDType, type VolumeInfo } from "../../algebra/volume.js"
import type { IoError } from "../../algebra/io-errors.js"
import type { SliceSink, SliceSource } from "../../algebra/slices.js"
import { PlanError } from "../plan/errors.js"
import { graphOf } from "../plan/index.js"
import { kernelWindow } from "../window.js"

/** A whole volume in memory, z-major (slice z is `data.subarray(z * y * x, (z + 1) * y * x)`). */
export interface MemVolume<D extends DType = DType> {
  readonly _tag: "MemVolume"
  readonly info: VolumeInfo<D>
  readonly data: ArrayOf<D>
}

export interface MemScalar<A = unknown> {
  readonly _tag: "MemScalar"
  readonly name: string
  readonly value: A
}

export interface MemWritten {
  readonly _tag: "MemWritten"
  readonly volume: MemVolume
  readonly sink: SliceSink
}

export interface MemoryRepr extends Repr {
  readonly volume: MemVolume<this["D"]>
  readonly scalar: MemScalar<this["A"]>
  readonly written: MemWritten
}

/** A volume held in memory. */
export const memVolume = <D extends DType>(info: VolumeInfo<D>, data: ArrayOf<D>): MemVolume<D> => {
  if (data.length !== voxelCount(info)) {
    throw new PlanError({ detail: `volume of shape ${shapeText(info.shape)} needs ${voxelCount(info)} voxels, got ${data.length}` })
  }
  return { _tag: "MemVolume", info, data }
}

/** Slice z of a memory volume, as a view. */
export const sliceOf = <D extends DType>(v: MemVolume<D>, z: number): ArrayOf<D> => {
  const n = sliceLength(v.info)
  return v.data.subarray(z * n, (z + 1) * n) as ArrayOf<D>
}

/**
 * Runs a window or sweep kernel over a whole volume, visiting z in `direction` order. What the
 * kernel throws is thrown on as a KernelError of `stage`.
 */
const applyKernel = <In extends DType, Out extends DType>(
  input: MemVolume<In>,
  kernel: WindowKernel<In, Out>,
  direction: Direction,
  stage: string
): MemVolume<Out> => {
  const info = withDType(input.info, kernel.output)
  const out = memVolume(info, allocSlice(kernel.output, voxelCount(info)))
  const depth = input.info.shape[0]
  const failure = (phase: "prepare" | "compute", e: unknown, z?: number) =>
    new KernelError({ stage, kernel: kernel.name, phase, z, detail: thrownMessage(e), cause: e })
  let prepared: ReturnType<typeof kernel.prepare>
  try {
    prepared = kernel.prepare(input.info)
  } catch (e) {
    throw failure("prepare", e)
  }
  const w = kernelWindow(kernel, input.info, (z) => sliceOf(input, z))
  for (let s = 0; s < depth; s++) {
    const z = direction === "forward" ? s : depth - 1 - s
    w.moveTo(z)
    try {
      prepared.compute(w.window, sliceOf(out, z))
    } catch (e) {
      throw failure("compute", e, z)
    }
  }
  return out
}

const pointwise = (
  inputs: ReadonlyArray<MemVolume>,
  f: (...xs: ReadonlyArray<E.Expr>) => E.Expr,
  dtype: DType | undefined
): MemVolume => {
  const first = inputs[0]
  if (first === undefined) throw new PlanError({ detail: "zip needs at least one input volume" })
  for (const other of inputs) {
    if (!sameShape(first.info.shape, other.info.shape) || other.info.dtype !== first.info.dtype) {
      throw new PlanError({
        detail: `zip of ${first.info.dtype} ${shapeText(first.info.shape)} with ${other.info.dtype} ${shapeText(other.info.shape)}`
      })
    }
  }
  const expr = f(...inputs.map((_, i) => E.input(i)))
  const outType = dtype ?? first.info.dtype
  const info = withDType(first.info, outType)
  const out = allocSlice(outType, voxelCount(info))
  const values = new Float64Array(inputs.length)
  const scalar = (ref: unknown): unknown => (ref as MemScalar).value
  for (let i = 0; i < out.length; i++) {
    for (let k = 0; k < inputs.length; k++) values[k] = inputs[k]!.data[i]!
    out[i] = castValue(outType, E.evaluate(expr, values, scalar))
  }
  return memVolume(info, out)
}

const reduce = <D extends DType, A>(input: MemVolume<D>, reducer: Reducer<D, A>): MemScalar<A> => {
  const acc = reducer.start(input.info)
  for (let z = 0; z < input.info.shape[0]; z++) acc.add(sliceOf(input, z), z)
  return { _tag: "MemScalar", name: reducer.name, value: acc.result() }
}

/**
 * The memory algebra over sources already loaded into `loaded`; every write is added to `writes`.
 * `stageOf(k, kernel)` names the k-th window or sweep in errors (default: the kernel's name).
 */
export const makeMemoryAlgebra = (
  loaded: ReadonlyMap<SliceSource, MemVolume>,
  writes: Array<MemWritten>,
  stageOf: (k: number, kernel: WindowKernel<DType, DType>) => string = (_, kernel) => kernel.name
): Algebra<MemoryRepr> => {
  let kernels = 0
  const apply = (input: unknown, kernel: WindowKernel<DType, DType>, direction: Direction) =>
    applyKernel(input as MemVolume, kernel, direction, stageOf(kernels++, kernel)) as never
  return {
    interpreter: "memory",
    info: (volume) => volume.info as never,
    source: (source) => {
      const v = loaded.get(source as unknown as SliceSource)
      if (v === undefined) throw new PlanError({ detail: `source ${source.path} was not loaded` })
      return v as never
    },
    map: (input, f, options) => pointwise([input], (x) => f(x!), options?.dtype) as never,
    zip: (inputs, f, options) => pointwise(inputs as ReadonlyArray<MemVolume>, f, options?.dtype) as never,
    window: (input, kernel) => apply(input, kernel as never, "forward"),
    sweep: (input, kernel, direction) => apply(input, kernel as never, direction),
    reduce: (input, reducer) => reduce(input as MemVolume as never, reducer) as never,
    derive: (scalar, f, name) => ({ _tag: "MemScalar", name, value: f(scalar.value) }) as never,
    scalar: (scalar) => E.scalarRef(scalar, scalar.name),
    lookup: (table, index) => E.lookup(table, table.name, index),
    write: (input, sink) => {
      const written: MemWritten = { _tag: "MemWritten", volume: input as MemVolume, sink }
      writes.push(written)
      return written
    }
  }
}

/** Reads a whole source into memory. */
export const loadSource = <D extends DType>(source: SliceSource<D>): Effect.Effect<MemVolume<D>, IoError> =>
  Effect.scoped(
    Effect.gen(function* () {
      const reader = yield* source.open
      const n = sliceLength(source.info)
      const data = allocSlice(source.info.dtype, voxelCount(source.info))
      for (let z = 0; z < source.info.shape[0]; z++) {
        yield* reader.read(z, data.subarray(z * n, (z + 1) * n) as ArrayOf<D>)
      }
      return memVolume(source.info, data)
    })
  )

/** Writes a whole memory volume to a sink, committing it. */
export const storeVolume = (volume: MemVolume, sink: SliceSink): Effect.Effect<void, IoError> =>
  Effect.scoped(
    Effect.gen(function* () {
      const writer = yield* sink.create(volume.info)
      for (let z = 0; z < volume.info.shape[0]; z++) yield* writer.write(z, sliceOf(volume, z))
      yield* writer.commit
    })
  )

export interface MemoryResult {
  /** Every output of the program: volumes, scalar values, and written volumes. */
  readonly volumes: Readonly<Record<string, MemVolume>>
  readonly scalars: Readonly<Record<string, unknown>>
  readonly written: ReadonlyArray<string>
}

/**
 * Evaluates a program in memory: loads its sources whole, evaluates, writes its sinks.
 */
export const evaluate = (program: Program): Effect.Effect<MemoryResult, IoError | PlanError | KernelError> =>
  Effect.gen(function* () {
    const graph = yield* graphOf(program)
    const loaded = new Map<SliceSource, MemVolume>()
    for (const n of graph.nodes) {
      if (n.kind === "source" && !loaded.has(n.source)) loaded.set(n.source, yield* loadSource(n.source))
    }
    // The program makes its windows and sweeps in the same order for every algebra: the k-th is
    // the program graph's k-th window node, named as an unfused plan names its stage.
    const windows = graph.nodes.filter((n) => n.kind === "window")
    const stageOf = (k: number, kernel: WindowKernel<DType, DType>) =>
      windows[k]?.kernel.name === kernel.name ? `#${windows[k]!.id} ${kernel.name}` : kernel.name
    const writes: Array<MemWritten> = []
    const outputs = yield* Effect.try({
      try: () => program(makeMemoryAlgebra(loaded, writes, stageOf)) as Outputs<MemoryRepr>,
      catch: (e) => (e instanceof PlanError || e instanceof KernelError ? e : new PlanError({ detail: String(e) }))
    })
    const volumes: Record<string, MemVolume> = {}
    const scalars: Record<string, unknown> = {}
    for (const w of writes) yield* storeVolume(w.volume, w.sink)
    for (const [name, value] of Object.entries(outputs)) {
      const v = value as MemVolume | MemScalar | MemWritten
      switch (v._tag) {
        case "MemVolume":
          volumes[name] = v
          break
        case "MemScalar":
          scalars[name] = v.value
          break
        case "MemWritten":
          volumes[name] = v.volume
          break
      }
    }
    return { volumes, scalars, written: writes.map((w) => w.sink.path) }
  })
