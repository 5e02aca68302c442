/**
 * Pointwise expressions as data: a small tree of constants, inputs, reduced scalars, arithmetic,
 * comparisons, select, min/max/abs/sqrt/exp/log and casts. Plans print them, the cost model counts
 * them and the run interpreter compiles them into one loop per slice.
 *
 * Semantics: every node evaluates in float64; comparisons and logic give 1 or 0; `select(c, a, b)`
 * is `a` where `c` ≠ 0; `cast(d, e)` applies the cast rule of `dtype.ts` mid-expression. The value of
 * the whole expression is stored with the cast rule into the output dtype.
 *
 * @example
 * ```ts
 * import { Expr as E } from "slicewise"   // or "slicewise/algebra"
 * // (a + b) / 2, then 1 where it exceeds 100
 * const e = E.gt(E.div(E.add(E.input(0), E.input(1)), 2), 100)
 * E.show(e, ["a", "b"])   // "((a + b) / 2) > 100"
 * ```
 */
import { castValue, type DType } from "./dtype.js"

export type UnaryOp = "neg" | "abs" | "sqrt" | "exp" | "log" | "floor" | "ceil" | "round" | "not"

export type BinaryOp =
  | "add"
  | "sub"
  | "mul"
  | "div"
  | "min"
  | "max"
  | "pow"
  | "lt"
  | "le"
  | "gt"
  | "ge"
  | "eq"
  | "ne"
  | "and"
  | "or"

export type Expr =
  | { readonly _tag: "Const"; readonly value: number }
  | { readonly _tag: "Input"; readonly index: number }
  /** A scalar produced by a reduction; `ref` is the interpreter's representation of it. */
  | { readonly _tag: "ScalarRef"; readonly ref: unknown; readonly name: string }
  /**
   * `table[trunc(index)]` for a table (an array scalar, e.g. a relabelling) produced by a reduction;
   * 0 where the index is outside the table or NaN.
   */
  | { readonly _tag: "Lookup"; readonly table: unknown; readonly name: string; readonly index: Expr }
  | { readonly _tag: "Unary"; readonly op: UnaryOp; readonly arg: Expr }
  | { readonly _tag: "Binary"; readonly op: BinaryOp; readonly left: Expr; readonly right: Expr }
  | { readonly _tag: "Select"; readonly cond: Expr; readonly then: Expr; readonly otherwise: Expr }
  | { readonly _tag: "Cast"; readonly dtype: DType; readonly arg: Expr }

/** A number or an expression, for builder arguments. */
export type ExprLike = Expr | number

export const lift = (e: ExprLike): Expr => (typeof e === "number" ? constant(e) : e)

export const constant = (value: number): Expr => ({ _tag: "Const", value })
export const input = (index: number): Expr => ({ _tag: "Input", index })
export const scalarRef = (ref: unknown, name: string): Expr => ({ _tag: "ScalarRef", ref, name })
export const lookup = (table: unknown, name: string, index: ExprLike): Expr => ({ _tag: "Lookup", table, name, index: lift(index) })

/** The entry of `table` at `index` by the rule of `lookup`. */
export const tableAt = (table: ArrayLike<number>, index: number): number => {
  const i = Math.trunc(index)
  return i >= 0 && i < table.length ? table[i]! : 0
}

const unary =
  (op: UnaryOp) =>
  (a: ExprLike): Expr => ({ _tag: "Unary", op, arg: lift(a) })
const binary =
  (op: BinaryOp) =>
  (a: ExprLike, b: ExprLike): Expr => ({ _tag: "Binary", op, left: lift(a), right: lift(b) })

export const neg = unary("neg")
export const abs = unary("abs")
export const sqrt = unary("sqrt")
export const exp = unary("exp")
export const log = unary("log")
export const floor = unary("floor")
export const ceil = unary("ceil")
/** Rounds half away from zero (as C `round`, unlike `Math.round`). */
export const round = unary("round")
export const not = unary("not")
export const add = binary("add")
export const sub = binary("sub")
export const mul = binary("mul")
export const div = binary("div")
export const min = binary("min")
export const max = binary("max")
export const pow = binary("pow")
export const lt = binary("lt")
export const le = binary("le")
export const gt = binary("gt")
export const ge = binary("ge")
export const eq = binary("eq")
export const ne = binary("ne")
export const and = binary("and")
export const or = binary("or")
export const select = (cond: ExprLike, then: ExprLike, otherwise: ExprLike): Expr => ({
  _tag: "Select",
  cond: lift(cond),
  then: lift(then),
  otherwise: lift(otherwise)
})
export const cast = (dtype: DType, arg: ExprLike): Expr => ({ _tag: "Cast", dtype, arg: lift(arg) })

/** The scalar function of each unary operator, in float64. */
export const applyUnary = (op: UnaryOp, a: number): number => {
  switch (op) {
    case "neg":
      return -a
    case "abs":
      return Math.abs(a)
    case "sqrt":
      return Math.sqrt(a)
    case "exp":
      return Math.exp(a)
    case "log":
      return Math.log(a)
    case "floor":
      return Math.floor(a)
    case "ceil":
      return Math.ceil(a)
    case "round":
      return a < 0 ? -Math.round(-a) : Math.round(a)
    case "not":
      return a === 0 ? 1 : 0
  }
}

/** The scalar function of each binary operator, in float64. */
export const applyBinary = (op: BinaryOp, a: number, b: number): number => {
  switch (op) {
    case "add":
      return a + b
    case "sub":
      return a - b
    case "mul":
      return a * b
    case "div":
      return a / b
    case "min":
      return a !== a || b !== b ? NaN : a < b ? a : b
    case "max":
      return a !== a || b !== b ? NaN : a > b ? a : b
    case "pow":
      return Math.pow(a, b)
    case "lt":
      return a < b ? 1 : 0
    case "le":
      return a <= b ? 1 : 0
    case "gt":
      return a > b ? 1 : 0
    case "ge":
      return a >= b ? 1 : 0
    case "eq":
      return a === b ? 1 : 0
    case "ne":
      return a !== b ? 1 : 0
    case "and":
      return a !== 0 && b !== 0 ? 1 : 0
    case "or":
      return a !== 0 || b !== 0 ? 1 : 0
  }
}

/**
 * Evaluates `e` at one voxel by walking the tree: the definitional semantics, used by the memory
 * interpreter. `scalar` resolves ScalarRef leaves (to numbers) and Lookup tables (to arrays).
 */
export const evaluate = (
  e: Expr,
  inputs: ArrayLike<number>,
  scalar: (ref: unknown) => unknown
): number => {
  switch (e._tag) {
    case "Const":
      return e.value
    case "Input":
      return inputs[e.index]!
    case "ScalarRef":
      return Number(scalar(e.ref))
    case "Lookup":
      return tableAt(scalar(e.table) as ArrayLike<number>, evaluate(e.index, inputs, scalar))
    case "Unary":
      return applyUnary(e.op, evaluate(e.arg, inputs, scalar))
    case "Binary":
      return applyBinary(e.op, evaluate(e.left, inputs, scalar), evaluate(e.right, inputs, scalar))
    case "Select":
      return evaluate(e.cond, inputs, scalar) !== 0
        ? evaluate(e.then, inputs, scalar)
        : evaluate(e.otherwise, inputs, scalar)
    case "Cast":
      return castValue(e.dtype, evaluate(e.arg, inputs, scalar))
  }
}

/** Number of operations per voxel (leaves are free), for the cost model. */
export const opCount = (e: Expr): number => {
  switch (e._tag) {
    case "Const":
    case "Input":
    case "ScalarRef":
      return 0
    case "Unary":
    case "Cast":
      return 1 + opCount(e.arg)
    case "Lookup":
      return 1 + opCount(e.index)
    case "Binary":
      return 1 + opCount(e.left) + opCount(e.right)
    case "Select":
      return 1 + opCount(e.cond) + opCount(e.then) + opCount(e.otherwise)
  }
}

/** The largest input index used, plus one. */
export const arity = (e: Expr): number => {
  switch (e._tag) {
    case "Input":
      return e.index + 1
    case "Const":
    case "ScalarRef":
      return 0
    case "Unary":
    case "Cast":
      return arity(e.arg)
    case "Lookup":
      return arity(e.index)
    case "Binary":
      return Math.max(arity(e.left), arity(e.right))
    case "Select":
      return Math.max(arity(e.cond), arity(e.then), arity(e.otherwise))
  }
}

/** Whether the expression reads a lookup table. */
export const usesLookup = (e: Expr): boolean => {
  switch (e._tag) {
    case "Lookup":
      return true
    case "Unary":
    case "Cast":
      return usesLookup(e.arg)
    case "Binary":
      return usesLookup(e.left) || usesLookup(e.right)
    case "Select":
      return usesLookup(e.cond) || usesLookup(e.then) || usesLookup(e.otherwise)
    default:
      return false
  }
}

/** Every scalar the expression uses (ScalarRef refs and Lookup tables), in first-use order, once. */
export const scalarRefs = (e: Expr, acc: Array<unknown> = []): Array<unknown> => {
  switch (e._tag) {
    case "ScalarRef":
      if (!acc.includes(e.ref)) acc.push(e.ref)
      break
    case "Lookup":
      if (!acc.includes(e.table)) acc.push(e.table)
      scalarRefs(e.index, acc)
      break
    case "Unary":
    case "Cast":
      scalarRefs(e.arg, acc)
      break
    case "Binary":
      scalarRefs(e.left, acc)
      scalarRefs(e.right, acc)
      break
    case "Select":
      scalarRefs(e.cond, acc)
      scalarRefs(e.then, acc)
      scalarRefs(e.otherwise, acc)
      break
    default:
      break
  }
  return acc
}

const SYMBOL: Partial<Record<BinaryOp, string>> = {
  add: "+",
  sub: "-",
  mul: "*",
  div: "/",
  lt: "<",
  le: "<=",
  gt: ">",
  ge: ">=",
  eq: "==",
  ne: "!=",
  and: "&&",
  or: "||"
}

/** A readable rendering, with `names[i]` for input i (default `x0`, `x1` …). */
export const show = (e: Expr, names: ReadonlyArray<string> = []): string => {
  const go = (e: Expr, top: boolean): string => {
    switch (e._tag) {
      case "Const":
        return String(e.value)
      case "Input":
        return names[e.index] ?? `x${e.index}`
      case "ScalarRef":
        return `$${e.name}`
      case "Lookup":
        return `$${e.name}[${go(e.index, true)}]`
      case "Unary":
        return e.op === "neg" ? `-${go(e.arg, false)}` : `${e.op}(${go(e.arg, true)})`
      case "Binary": {
        const sym = SYMBOL[e.op]
        if (sym === undefined) return `${e.op}(${go(e.left, true)}, ${go(e.right, true)})`
        const s = `${go(e.left, false)} ${sym} ${go(e.right, false)}`
        return top ? s : `(${s})`
      }
      case "Select":
        return `select(${go(e.cond, true)}, ${go(e.then, true)}, ${go(e.otherwise, true)})`
      case "Cast":
        return `${e.dtype}(${go(e.arg, true)})`
    }
  }
  return go(e, true)
}
