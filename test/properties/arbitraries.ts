/**
 * fast-check arbitraries for random volumes and random programs over the algebra.
 *
 * A program is generated as data (a list of instructions), so that fast-check can shrink it and a
 * failure prints readably; `toProgram` turns it into a Program for any interpreter.
 */
import fc from "fast-check"
import type { Algebra, Program, Repr, Volume } from "../../src/algebra/algebra.js"
import { BOUNDARY_MODES, type BoundaryMode } from "../../src/algebra/boundary.js"
import { allocSlice, castValue, DTYPES, type DType, type VoxelArray } from "../../src/algebra/dtype.js"
import * as E from "../../src/algebra/expr.js"
import type { Direction, Reducer, WindowKernel } from "../../src/algebra/kernel.js"
import { volumeInfo, voxelCount, type Shape, type VolumeInfo } from "../../src/algebra/volume.js"
import { arraySource } from "../../src/io/memory.js"
import type { SliceSource } from "../../src/algebra/slices.js"
import { applyStep, parseStep } from "../../src/jobs/steps.js"

export const shapeArb: fc.Arbitrary<Shape> = fc.tuple(
  fc.integer({ min: 1, max: 6 }),
  fc.integer({ min: 1, max: 5 }),
  fc.integer({ min: 1, max: 7 })
)

export const dtypeArb: fc.Arbitrary<DType> = fc.constantFrom(...DTYPES)

/** Voxels spread over the dtype's interesting range (negative, fractional, large). */
export const volumeData = (info: VolumeInfo, seed: number): VoxelArray => {
  const data = allocSlice(info.dtype, voxelCount(info))
  let a = seed >>> 0
  for (let i = 0; i < data.length; i++) {
    a = (Math.imul(a, 1664525) + 1013904223) >>> 0
    const u = a / 4294967296
    data[i] = castValue(info.dtype, info.dtype.startsWith("float") ? (u - 0.3) * 300 : Math.floor(u * 300) - 40)
  }
  return data
}

/** A window whose output is a weighted sum of the slices it reads: sensitive to every index. */
export const zWeights = (before: number, after: number, mode: BoundaryMode, dtype: DType): WindowKernel<DType, DType> => ({
  name: "zweights",
  params: { before, after, mode },
  halo: { z: { before, after }, y: { before: 0, after: 0 }, x: { before: 0, after: 0 } },
  mode,
  cval: 3,
  output: dtype,
  opsPerVoxel: 2 * (before + after + 1),
  scratchBytes: () => 0,
  prepare: () => ({
    compute: (w, out) => {
      const cast = (v: number) => castValue(dtype, v)
      for (let i = 0; i < out.length; i++) out[i] = 0
      const acc = new Float64Array(out.length)
      for (let k = -before; k <= after; k++) {
        const s = w.at(k)
        const weight = k + before + 1
        for (let i = 0; i < out.length; i++) acc[i] += weight * s[i]!
      }
      for (let i = 0; i < out.length; i++) out[i] = cast(acc[i]! / 4)
    }
  })
})

/** A sweep keeping a running sum per voxel column, plus a look `ahead` slices further. */
export const runningSum = (ahead: number, dtype: DType): WindowKernel<DType, DType> => ({
  name: "runningsum",
  params: { ahead },
  halo: { z: { before: ahead, after: ahead }, y: { before: 0, after: 0 }, x: { before: 0, after: 0 } },
  mode: "nearest",
  cval: 0,
  output: dtype,
  opsPerVoxel: 2,
  scratchBytes: (info) => info.shape[1] * info.shape[2] * 8,
  prepare: (info) => {
    const state = new Float64Array(info.shape[1] * info.shape[2])
    return {
      compute: (w, out) => {
        const now = w.at(0)
        const later = w.at(ahead)
        const earlier = w.at(-ahead)
        for (let i = 0; i < out.length; i++) {
          state[i] = state[i]! * 0.5 + now[i]!
          out[i] = castValue(dtype, state[i]! + later[i]! - earlier[i]!)
        }
      }
    }
  }
})

export const maxReducer: Reducer<DType, number> = {
  name: "max",
  params: {},
  opsPerVoxel: 1,
  start: () => {
    let m = -Infinity
    return {
      add: (slice) => {
        for (let i = 0; i < slice.length; i++) if (slice[i]! > m) m = slice[i]!
      },
      result: () => m
    }
  }
}

/** Expressions over `arity` inputs and an optional scalar leaf (index -1 stands for it). */
export const exprArb = (arity: number, withScalar: boolean): fc.Arbitrary<E.Expr> => {
  const leaf = fc.oneof(
    fc.integer({ min: 0, max: arity - 1 }).map(E.input),
    fc.oneof(fc.integer({ min: -5, max: 300 }), fc.double({ min: -10, max: 10, noNaN: true })).map(E.constant),
    ...(withScalar ? [fc.constant(E.scalarRef("SCALAR", "s"))] : [])
  )
  const { expr } = fc.letrec<{ expr: E.Expr }>((tie) => ({
    expr: fc.oneof(
      { depthSize: "small", withCrossShrink: true },
      leaf,
      fc
        .tuple(fc.constantFrom<E.UnaryOp>("neg", "abs", "sqrt", "exp", "log", "floor", "ceil", "round", "not"), tie("expr"))
        .map(([op, a]) => ({ _tag: "Unary" as const, op, arg: a })),
      fc
        .tuple(
          fc.constantFrom<E.BinaryOp>("add", "sub", "mul", "div", "min", "max", "pow", "lt", "le", "gt", "ge", "eq", "ne", "and", "or"),
          tie("expr"),
          tie("expr")
        )
        .map(([op, l, r]) => ({ _tag: "Binary" as const, op, left: l, right: r })),
      fc.tuple(tie("expr"), tie("expr"), tie("expr")).map(([c, t, o]) => E.select(c, t, o)),
      fc.tuple(dtypeArb, tie("expr")).map(([d, a]) => E.cast(d, a))
    )
  }))
  return expr
}

/** Replaces the placeholder scalar leaf with a real one. */
const bindScalar = (e: E.Expr, scalar: E.Expr): E.Expr => {
  switch (e._tag) {
    case "ScalarRef":
      return scalar
    case "Unary":
      return { ...e, arg: bindScalar(e.arg, scalar) }
    case "Cast":
      return { ...e, arg: bindScalar(e.arg, scalar) }
    case "Binary":
      return { ...e, left: bindScalar(e.left, scalar), right: bindScalar(e.right, scalar) }
    case "Select":
      return { ...e, cond: bindScalar(e.cond, scalar), then: bindScalar(e.then, scalar), otherwise: bindScalar(e.otherwise, scalar) }
    default:
      return e
  }
}

export type Instruction =
  | { readonly op: "map"; readonly a: number; readonly expr: E.Expr; readonly dtype: DType }
  | { readonly op: "zip"; readonly a: number; readonly b: number; readonly expr: E.Expr; readonly dtype: DType }
  | { readonly op: "window"; readonly a: number; readonly before: number; readonly after: number; readonly mode: BoundaryMode }
  | { readonly op: "sweep"; readonly a: number; readonly ahead: number; readonly direction: Direction }
  | { readonly op: "scalar"; readonly a: number; readonly b: number; readonly expr: E.Expr; readonly dtype: DType }
  | { readonly op: "step"; readonly a: number; readonly step: string }

export interface ProgramSpec {
  readonly shape: Shape
  readonly dtype: DType
  readonly seeds: readonly [number, number]
  readonly instructions: ReadonlyArray<Instruction>
  /** Indices of values returned as outputs (besides the last). */
  readonly outputs: ReadonlyArray<number>
}

/** A CLI step of the op library, with random parameters. */
export const stepArb: fc.Arbitrary<string> = fc.oneof(
  fc.tuple(fc.integer({ min: 1, max: 4 }), fc.constantFrom(...BOUNDARY_MODES)).map(([k, m]) => `uniform:size=${k},mode=${m}`),
  fc.tuple(fc.constantFrom(0.5, 0.8, 1, 1.5), fc.constantFrom(...BOUNDARY_MODES)).map(([s, m]) => `gaussian:sigma=${s},mode=${m}`),
  fc.tuple(fc.integer({ min: 1, max: 2 }), fc.constantFrom(...BOUNDARY_MODES)).map(([r, m]) => `median:radius=${r},mode=${m}`),
  fc.tuple(fc.constantFrom("dilate", "erode"), fc.integer({ min: 1, max: 2 }), fc.constantFrom("ball", "cube")).map(
    ([op, r, f]) => `${op}:radius=${r},footprint=${f}`
  ),
  fc.tuple(fc.constantFrom("grey-dilate", "grey-erode"), fc.integer({ min: 1, max: 2 })).map(([op, r]) => `${op}:radius=${r}`),
  fc.integer({ min: -20, max: 200 }).map((t) => `threshold:min=${t}`),
  fc.constantFrom("edt", "edt:spacing=2/1/0.5", "label:connectivity=6", "label:connectivity=18", "label:connectivity=26", "otsu"),
  fc.tuple(fc.constantFrom("dilate", "erode"), fc.integer({ min: 3, max: 4 })).map(([op, r]) => `${op}:radius=${r}`),
  dtypeArb.map((d) => `cast:dtype=${d}`)
)

const instructionArb: fc.Arbitrary<Instruction> = fc.oneof(
  fc.record({ op: fc.constant("step" as const), a: fc.nat(), step: stepArb }),
  fc.record({ op: fc.constant("step" as const), a: fc.nat(), step: stepArb }),
  fc.record({ op: fc.constant("map" as const), a: fc.nat(), expr: exprArb(1, false), dtype: dtypeArb }),
  fc.record({ op: fc.constant("zip" as const), a: fc.nat(), b: fc.nat(), expr: exprArb(2, false), dtype: dtypeArb }),
  fc.record({
    op: fc.constant("window" as const),
    a: fc.nat(),
    before: fc.integer({ min: 0, max: 3 }),
    after: fc.integer({ min: 0, max: 3 }),
    mode: fc.constantFrom(...BOUNDARY_MODES)
  }),
  fc.record({
    op: fc.constant("sweep" as const),
    a: fc.nat(),
    ahead: fc.integer({ min: 0, max: 2 }),
    direction: fc.constantFrom<Direction>("forward", "backward")
  }),
  fc.record({ op: fc.constant("scalar" as const), a: fc.nat(), b: fc.nat(), expr: exprArb(1, true), dtype: dtypeArb })
)

export const programSpecArb: fc.Arbitrary<ProgramSpec> = fc.record({
  shape: shapeArb,
  dtype: dtypeArb,
  seeds: fc.tuple(fc.nat(), fc.nat()),
  instructions: fc.array(instructionArb, { minLength: 1, maxLength: 7 }),
  outputs: fc.array(fc.nat(), { maxLength: 2 })
})

export interface BuiltProgram {
  readonly program: Program
  readonly sources: ReadonlyArray<SliceSource>
}

/** Turns a spec into a program over two in-memory sources of the spec's shape and dtype. */
export const toProgram = (spec: ProgramSpec): BuiltProgram => {
  const info = volumeInfo(spec.dtype, spec.shape)
  const sources = spec.seeds.map((seed, i) => arraySource(info, volumeData(info, seed) as never, `src${i}`))
  const program: Program = <F extends Repr>(alg: Algebra<F>) => {
    type V = Volume<F, DType>
    const values: Array<{ v: V; dtype: DType }> = sources.map((s) => ({ v: alg.source(s) as V, dtype: spec.dtype }))
    const pick = (i: number) => values[i % values.length]!
    const as = (x: { v: V; dtype: DType }, d: DType): V => (x.dtype === d ? x.v : (alg.map(x.v, (e) => e, { dtype: d }) as V))
    for (const ins of spec.instructions) {
      switch (ins.op) {
        case "map": {
          const a = pick(ins.a)
          values.push({ v: alg.map(a.v, () => ins.expr, { dtype: ins.dtype }) as V, dtype: ins.dtype })
          break
        }
        case "zip": {
          const a = pick(ins.a)
          const b = pick(ins.b)
          const z = alg.zip([a.v, as(b, a.dtype)], () => ins.expr, { dtype: ins.dtype })
          values.push({ v: z as V, dtype: ins.dtype })
          break
        }
        case "window": {
          const a = pick(ins.a)
          values.push({ v: alg.window(a.v, zWeights(ins.before, ins.after, ins.mode, a.dtype)) as V, dtype: a.dtype })
          break
        }
        case "sweep": {
          const a = pick(ins.a)
          values.push({ v: alg.sweep(a.v, runningSum(ins.ahead, a.dtype), ins.direction) as V, dtype: a.dtype })
          break
        }
        case "step": {
          const a = pick(ins.a)
          const v = applyStep(alg, a.v, parseStep(ins.step)) as V
          values.push({ v, dtype: alg.info(v).dtype })
          break
        }
        case "scalar": {
          const a = pick(ins.a)
          const b = pick(ins.b)
          const s = alg.derive(alg.reduce(a.v, maxReducer), (m) => m / 3, "max/3")
          const e = bindScalar(ins.expr, alg.scalar(s))
          values.push({ v: alg.map(b.v, () => e, { dtype: ins.dtype }) as V, dtype: ins.dtype })
          break
        }
      }
    }
    const out: Record<string, V> = { last: values[values.length - 1]!.v }
    spec.outputs.forEach((i, k) => (out[`out${k}`] = pick(i).v))
    return out
  }
  return { program, sources }
}
