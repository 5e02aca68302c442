/**
 * Compiles a pointwise expression into one loop per slice, specialised for its input and output
 * dtypes: the tree is turned into JavaScript source once, so the per-voxel work is a straight-line
 * expression with no closures, calls through the tree, or allocation. A range test of one input
 * (a threshold) runs as a WebAssembly SIMD loop instead (./simd-range.ts), and a uint32 table
 * lookup of uint32 voxels as a WebAssembly loop (./table-lookup.ts).
 *
 * @example
 * ```ts
 * const f = compilePointwise(E.gt(E.input(0), 100), ["uint16"], "uint8")
 * f(out, [slice], slice.length, [])
 * ```
 */
import { arrayClassName, castSource, castValue, dtypeRange, DTYPES, type DType, type VoxelArray } from "../../algebra/dtype.js"
import type { Expr } from "../../algebra/expr.js"
import * as E from "../../algebra/expr.js"
import { generatedWith } from "../../ops/internal/loops.js"
import { rangeLoop, voxelRange, type RangeDType, type VoxelRange } from "./simd-range.js"
import { lookupUint32 } from "./table-lookup.js"

/**
 * Fills `out[0 … length)` from `inputs`; `scalars[k]` is the value of the k-th scalar the expression
 * uses (in `scalarRefs` order): a number, or an array for a Lookup table.
 */
export type PointwiseLoop = (
  out: VoxelArray,
  inputs: ReadonlyArray<VoxelArray>,
  length: number,
  scalars: ReadonlyArray<unknown>
) => void

/** Helpers the generated code calls (V8 inlines them); each takes its arguments once. */
const helpers = {
  round: (a: number) => E.applyUnary("round", a),
  lookup: E.tableAt,
  lookupUint32,
  // Mid-expression casts must truncate themselves (a final store into a typed array truncates).
  cast: Object.fromEntries(DTYPES.map((d) => [d, (v: number) => castValue(d, v)]))
}

const literal = (v: number): string =>
  Number.isNaN(v) ? "NaN" : Object.is(v, -0) ? "(-0)" : `(${v})`

const BINARY: Partial<Record<E.BinaryOp, string>> = { add: "+", sub: "-", mul: "*", div: "/" }
const COMPARE: Partial<Record<E.BinaryOp, string>> = { lt: "<", le: "<=", gt: ">", ge: ">=", eq: "===", ne: "!==" }

/**
 * JavaScript source of `e`, with input i as `x<i>` and the k-th scalar as `s<k>`. min and max are
 * written inline through temporaries `t<k>` (each operand evaluated once; `temporaries` says how
 * many to declare): a call per voxel to a helper costs more than the comparison, and V8 stops
 * inlining calls in the large loops that fusion's votes make.
 */
export const exprSource = (e: Expr, scalarIndex: (ref: unknown) => number): { readonly source: string; readonly temporaries: number } => {
  let temporaries = 0
  const go = (e: Expr): string => {
    switch (e._tag) {
      case "Const":
        return literal(e.value)
      case "Input":
        return `x${e.index}`
      case "ScalarRef":
        return `s${scalarIndex(e.ref)}`
      case "Lookup":
        return `h.lookup(s${scalarIndex(e.table)}, ${go(e.index)})`
      case "Unary": {
        const a = go(e.arg)
        switch (e.op) {
          case "neg":
            return `(-${a})`
          case "not":
            return `(${a} === 0 ? 1 : 0)`
          case "round":
            return `h.round(${a})`
          default:
            return `Math.${e.op}(${a})`
        }
      }
      case "Binary": {
        const a = go(e.left)
        const b = go(e.right)
        const op = BINARY[e.op]
        if (op !== undefined) return `(${a} ${op} ${b})`
        const cmp = COMPARE[e.op]
        if (cmp !== undefined) return `(${a} ${cmp} ${b} ? 1 : 0)`
        switch (e.op) {
          case "min":
          case "max": {
            // As E.applyBinary: NaN if either is NaN, else the smaller (larger); b on a tie.
            const ta = `t${temporaries++}`
            const tb = `t${temporaries++}`
            const pick = e.op === "min" ? "<" : ">"
            return `((${ta} = ${a}), (${tb} = ${b}), ${ta} !== ${ta} || ${tb} !== ${tb} ? NaN : ${ta} ${pick} ${tb} ? ${ta} : ${tb})`
          }
          case "and":
            return `(${a} !== 0 && ${b} !== 0 ? 1 : 0)`
          case "or":
            return `(${a} !== 0 || ${b} !== 0 ? 1 : 0)`
          case "pow":
            return `Math.pow(${a}, ${b})`
          default:
            throw new Error(`internal: no source for the binary operator ${e.op}`)
        }
      }
      case "Select":
        return `(${go(e.cond)} !== 0 ? ${go(e.then)} : ${go(e.otherwise)})`
      case "Cast":
        return `h.cast.${e.dtype}(${go(e.arg)})`
    }
  }
  const source = go(e)
  return { source, temporaries }
}

/** Whether `e` is always 0 or 1 (a comparison, a logical operator, or a choice between such). */
const isZeroOrOne = (e: Expr): boolean => {
  switch (e._tag) {
    case "Const":
      return e.value === 0 || e.value === 1
    case "Unary":
      return e.op === "not"
    case "Binary":
      return COMPARE[e.op] !== undefined || e.op === "and" || e.op === "or"
    case "Select":
      return isZeroOrOne(e.then) && isZeroOrOne(e.otherwise)
    default:
      return false
  }
}

/** The SIMD loops of range tests, by source key (their JavaScript loops are `generatedWith`'s). */
const rangeLoops = new Map<string, PointwiseLoop>()

/**
 * A loop computing `expr` over inputs of dtypes `inputs` into an output of dtype `output`. Loops are
 * cached by their source text and input dtypes, so a plan that repeats an expression compiles it
 * once, and a loop never sees two kinds of typed array at one input (V8 would make its loads
 * polymorphic, and slower, for every later use).
 */
export const compilePointwise = (expr: Expr, inputs: ReadonlyArray<DType>, output: DType): PointwiseLoop =>
  pointwiseFromSource(pointwiseSource(expr, inputs, output))

/** The generated source of a pointwise loop and its cache key: what a worker thread compiles. */
export interface PointwiseSource {
  readonly key: string
  readonly body: string
  /** Set when the expression is a range test of one input: the SIMD loop to use instead. */
  readonly range?: { readonly dtype: RangeDType } & VoxelRange
}

/** The source `compilePointwise` compiles (see there). */
export const pointwiseSource = (expr: Expr, inputs: ReadonlyArray<DType>, output: DType): PointwiseSource => {
  const arity = inputs.length
  const refs = E.scalarRefs(expr)
  const { source: value, temporaries } = exprSource(expr, (ref) => refs.indexOf(ref))
  const lines = [
    ...Array.from({ length: arity }, (_, i) => `const in${i} = inputs[${i}];`),
    ...refs.map((_, k) => `const s${k} = scalars[${k}];`),
    temporaries > 0 ? `let ${Array.from({ length: temporaries }, (_, k) => `t${k} = 0`).join(", ")};` : "",
    "for (let i = 0; i < length; i++) {",
    ...Array.from({ length: arity }, (_, i) => `  const x${i} = in${i}[i];`),
    `  const v = ${value};`,
    // A 0/1 result fits every dtype: the cast rule's range checks would change nothing.
    `  out[i] = ${output === "float32" || output === "float64" || isZeroOrOne(expr) ? "v" : castSource(output, "v")};`,
    "}"
  ]
  const body = [...tableLookupFastPath(expr, inputs, output), ...lines].join("\n")
  const range = arity === 1 ? voxelRange(expr, inputs[0]!) : undefined
  return { key: `${output}|${inputs.join(",")}|${body}`, body, ...(range && { range: { dtype: inputs[0] as RangeDType, ...range } }) }
}

/**
 * For `lookup(table, x)` alone, of an unsigned input, where the table at run time is a typed array
 * of the output's own dtype (label's provisional → final labels): a loop that stores the entries as
 * they are, without the general loop's truncation, range test of the index and cast, all of which
 * change nothing there (label-final at 512³: 286–340 ms against the general loop's 388–495 ms,
 * docs/BENCHMARKS.md); for uint32 labels, a WebAssembly loop. Falls through to the general loop
 * otherwise.
 */
const tableLookupFastPath = (expr: Expr, inputs: ReadonlyArray<DType>, output: DType): ReadonlyArray<string> => {
  // An unsigned integer input (lowest value 0; floats' is −∞) indexes as it is: no truncation, never negative.
  if (expr._tag !== "Lookup" || expr.index._tag !== "Input" || inputs.length !== 1 || dtypeRange(inputs[0]!)[0] !== 0) return []
  // uint32 labels in a uint32 table (label-final): as WebAssembly where it can (./table-lookup.ts).
  const wasm = inputs[0] === "uint32" && output === "uint32" ? ["  if (h.lookupUint32(out, in0, length, table)) return;"] : []
  return [
    `if (scalars[0] instanceof ${arrayClassName(output)}) {`,
    "  const in0 = inputs[0], table = scalars[0], entries = table.length;",
    ...wasm,
    "  for (let i = 0; i < length; i++) {",
    "    const x = in0[i];",
    "    out[i] = x < entries ? table[x] : 0;",
    "  }",
    "  return;",
    "}"
  ]
}

/** The loop of a source from `pointwiseSource`, compiled once per key. */
export const pointwiseFromSource = ({ key, body, range }: PointwiseSource): PointwiseLoop => {
  if (range !== undefined) {
    let loop = rangeLoops.get(key)
    if (loop === undefined) {
      loop = rangeLoop(range.dtype, range)
      if (loop !== undefined) rangeLoops.set(key, loop)
    }
    if (loop !== undefined) return loop
  }
  return generatedWith<PointwiseLoop>(
    `pointwise|${key}`,
    { h: helpers },
    () => `return function pointwise(out, inputs, length, scalars) {\n${body}\n}`,
    "pointwise"
  )
}
