/**
 * Three ways to run a pointwise expression over a slice, on the same expression and data:
 * - tree: walk the expression tree at every voxel (the memory interpreter's definitional way);
 * - vector: evaluate node by node over whole slices into float64 scratch (one loop per operator,
 *   one pass over memory per node; scratch allocated per call, as a simple evaluator would);
 * - compiled: the run interpreter's generated loop, one pass over memory for the whole expression.
 * Then a threshold (x >= 128, one input) per input dtype: the generated JavaScript loop against the
 * WebAssembly SIMD range loop that the run interpreter uses for it (src/interpreters/run/simd-range.ts),
 * on noise around the threshold (a branch per voxel that the CPU cannot predict).
 *
 *   npx tsx bench/pointwise.ts
 */
import { allocSlice, castValue, type DType, type VoxelArray } from "../src/algebra/dtype.js"
import * as E from "../src/algebra/expr.js"
import { compilePointwise, pointwiseFromSource, pointwiseSource } from "../src/interpreters/run/compile.js"

const n = 512 * 512
const a = allocSlice("uint16", n)
const b = allocSlice("uint16", n)
for (let i = 0; i < n; i++) {
  a[i] = (i * 7919) % 4096
  b[i] = (i * 104729) % 4096
}
const x = E.input(0)
const y = E.input(1)
const cases: ReadonlyArray<{ name: string; expr: E.Expr; out: DType }> = [
  { name: "threshold x >= 128", expr: E.ge(x, 128), out: "uint8" },
  { name: "(x + y) / 2", expr: E.div(E.add(x, y), 2), out: "uint16" },
  { name: "select(x > y, sqrt(x), log(y + 1)) * 3", expr: E.mul(E.select(E.gt(x, y), E.sqrt(x), E.log(E.add(y, 1))), 3), out: "float32" }
]

/** Node-by-node evaluation over whole slices (float64 scratch per node). */
const vectorised = (e: E.Expr, inputs: ReadonlyArray<VoxelArray>, length: number): Float64Array => {
  const out = new Float64Array(length)
  switch (e._tag) {
    case "Const":
      out.fill(e.value)
      return out
    case "Input": {
      const s = inputs[e.index]!
      for (let i = 0; i < length; i++) out[i] = s[i]!
      return out
    }
    case "Unary": {
      const v = vectorised(e.arg, inputs, length)
      // One loop per operator, chosen once per slice (what a fair vectorised evaluator does).
      if (e.op === "sqrt") for (let i = 0; i < length; i++) out[i] = Math.sqrt(v[i]!)
      else if (e.op === "log") for (let i = 0; i < length; i++) out[i] = Math.log(v[i]!)
      else for (let i = 0; i < length; i++) out[i] = E.applyUnary(e.op, v[i]!)
      return out
    }
    case "Binary": {
      const l = vectorised(e.left, inputs, length)
      const r = vectorised(e.right, inputs, length)
      switch (e.op) {
        case "add":
          for (let i = 0; i < length; i++) out[i] = l[i]! + r[i]!
          break
        case "mul":
          for (let i = 0; i < length; i++) out[i] = l[i]! * r[i]!
          break
        case "div":
          for (let i = 0; i < length; i++) out[i] = l[i]! / r[i]!
          break
        case "gt":
          for (let i = 0; i < length; i++) out[i] = l[i]! > r[i]! ? 1 : 0
          break
        case "ge":
          for (let i = 0; i < length; i++) out[i] = l[i]! >= r[i]! ? 1 : 0
          break
        default:
          for (let i = 0; i < length; i++) out[i] = E.applyBinary(e.op, l[i]!, r[i]!)
      }
      return out
    }
    case "Select": {
      const c = vectorised(e.cond, inputs, length)
      const t = vectorised(e.then, inputs, length)
      const o = vectorised(e.otherwise, inputs, length)
      for (let i = 0; i < length; i++) out[i] = c[i] !== 0 ? t[i]! : o[i]!
      return out
    }
    default:
      throw new Error(`vectorised: ${e._tag} not in this bench`)
  }
}

const time = (f: () => void): number => {
  for (let i = 0; i < 3; i++) f()
  const reps = 20
  const t0 = performance.now()
  for (let i = 0; i < reps; i++) f()
  return (performance.now() - t0) / reps
}

console.log(`${n} voxels per slice (512×512 uint16 inputs); ms per slice, then M voxels/s`)
for (const c of cases) {
  const out = allocSlice(c.out, n)
  const values = new Float64Array(2)
  const tree = time(() => {
    for (let i = 0; i < n; i++) {
      values[0] = a[i]!
      values[1] = b[i]!
      out[i] = castValue(c.out, E.evaluate(c.expr, values, () => 0))
    }
  })
  const vector = time(() => {
    const v = vectorised(c.expr, [a, b], n)
    for (let i = 0; i < n; i++) out[i] = castValue(c.out, v[i]!)
  })
  const loop = compilePointwise(c.expr, ["uint16", "uint16"], c.out)
  const compiled = time(() => loop(out, [a, b], n, []))
  const rate = (ms: number) => `${ms.toFixed(2)} ms (${(n / ms / 1000).toFixed(0)})`
  console.log(`${c.name.padEnd(42)} tree ${rate(tree)}  vector ${rate(vector)}  compiled ${rate(compiled)}`)
}

console.log("\nthreshold x >= 128 into uint8, one 512×512 input; ms per slice, then ns per voxel")
for (const dtype of ["uint8", "uint16", "float32"] as const) {
  const input = allocSlice(dtype, n)
  let seed = 1
  for (let i = 0; i < n; i++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0
    input[i] = 96 + (seed % 64)
  }
  const out = allocSlice("uint8", n)
  const source = pointwiseSource(E.ge(x, 128), [dtype], "uint8")
  const { range: _, ...javascript } = source
  const jsLoop = pointwiseFromSource({ ...javascript, key: `${source.key}|js` })
  const simdLoop = pointwiseFromSource(source)
  const js = time(() => jsLoop(out, [input], n, []))
  const simd = time(() => simdLoop(out, [input], n, []))
  const rate = (ms: number) => `${ms.toFixed(3)} ms (${((ms * 1e6) / n).toFixed(2)} ns)`
  console.log(`${dtype.padEnd(8)} javascript ${rate(js)}  simd ${rate(simd)}  ${(js / simd).toFixed(1)}×`)
}
