/**
 * Hot loops generated for one layout and one input dtype: weighted tap sums (correlate, gaussian)
 * and the ball tests of binary morphology.
 *
 * A separable filter spends its time in `acc[i] = Σ_t w[t]·line_t[off_t + i]`. Written as a loop
 * over taps around a loop over voxels, every tap re-reads and re-writes `acc`; and V8 reloads a
 * typed array's data pointer at every element access of an array it cannot see as a constant, so
 * each access costs about 0.5–0.8 ns here whatever the arithmetic (docs/BENCHMARKS.md, "Kernel
 * loops: one generated loop per layout and dtype"). The generated loop reads every tap once per
 * voxel and keeps the sum in a register: about half the accesses, and with a single source line
 * (the y and x axes, where every tap is a row of one slice) one data pointer per voxel.
 *
 * The sum is formed in exactly the order of scipy's `NI_Correlate1D` (see `correlate.ts`), so the
 * results are bit-identical to the loop-over-taps form. One function is generated per (layout,
 * dtype) and cached: sharing one across dtypes would make its element loads polymorphic again.
 *
 * `generated` and `generatedWith` here are the library's one way to generate code: the ops' loops,
 * median's histogram rows and the run interpreter's pointwise loops all compile through them, into
 * one cache, named alike in CPU profiles.
 */
import { castSource, type DType, type VoxelArray } from "../../algebra/dtype.js"

/** The shape of a 1-D correlation as `analyseWeights` describes it. */
export interface TapLayout {
  readonly before: number
  readonly after: number
  /** 1 symmetric, −1 anti-symmetric, 0 general. */
  readonly symmetry: 1 | -1 | 0
}

/**
 * `out[base + i] = Σ` over taps t of `w[t] · line_t[offs[t] + i]`, for i < n, summed in scipy's
 * order and stored with the cast rule of the output dtype. With one source (`lines.length === 1`)
 * every tap reads that line.
 */
export type TapSum = (
  out: VoxelArray,
  base: number,
  n: number,
  lines: ReadonlyArray<VoxelArray>,
  offs: Int32Array,
  w: Float64Array
) => void

/** The expression of one voxel's sum in scipy's order (see `correlate.ts`'s module comment). */
const sumExpression = (k: TapLayout, at: (t: number) => string): string => {
  const c = k.before
  if (k.symmetry !== 0) {
    const op = k.symmetry > 0 ? "+" : "-"
    let e = `${at(c)} * w${c}`
    for (let j = -k.before; j < 0; j++) e = `(${e}) + (${at(c + j)} ${op} ${at(c - j)}) * w${c + j}`
    return e
  }
  const last = c + k.after
  let e = `${at(last)} * w${last}`
  for (let t = 0; t < last; t++) e = `(${e}) + ${at(t)} * w${t}`
  return e
}

const tapSumBody = (k: TapLayout, single: boolean, output: DType): string => {
  const taps = k.before + k.after + 1
  const prologue: Array<string> = []
  for (let t = 0; t < taps; t++) {
    prologue.push(`const w${t} = w[${t}], o${t} = offs[${t}]${single ? "" : `, l${t} = lines[${t}]`};`)
  }
  const at = (t: number) => `${single ? "s" : `l${t}`}[o${t} + i]`
  return [
    single ? "const s = lines[0];" : "",
    ...prologue,
    `for (let i = 0; i < n; i++) { const v = ${sumExpression(k, at)}; out[base + i] = ${castSource(output, "v")}; }`
  ].join("\n")
}

const cache = new Map<string, unknown>()

/** The function `new Function(...params, body)` makes, applied to `args` when given; once per key. */
const compileOnce = (key: string, name: string, params: ReadonlyArray<string>, body: () => string, args?: ReadonlyArray<unknown>): unknown => {
  let f = cache.get(key)
  if (f === undefined) {
    if (name.includes("\n")) throw new Error(`internal: the generated function ${JSON.stringify(name)} needs a one-line name`)
    // The source URL names the loop in CPU profiles (otherwise every generated loop is "anonymous").
    const made = new Function(...params, `${body()}\n//# sourceURL=slicewise-loop/${name}`)
    f = args === undefined ? made : (made as (...a: ReadonlyArray<unknown>) => unknown)(...args)
    cache.set(key, f)
  }
  return f
}

/**
 * A function of `params` with source `body`, generated once per `key` and cached. For hot loops
 * over typed arrays only: see the module comment for why a loop is generated per layout and dtype.
 * Every function the library generates comes from here or `generatedWith`, through one cache;
 * `name` (one line; default the key) names it in CPU profiles.
 *
 * @example
 * ```ts
 * const add = generated<(a: Float64Array, n: number) => void>("inc", ["a", "n"], () => "for (let i = 0; i < n; i++) a[i] += 1")
 * ```
 */
export const generated = <A>(key: string, params: ReadonlyArray<string>, body: () => string, name: string = key): A =>
  compileOnce(key, name, params, body) as A

/**
 * What source `body` returns, run once per `key` with the names of `bound` in scope: for a loop
 * that calls helpers but whose parameters its callers fix (the run interpreter's pointwise loops),
 * so that the helpers are constants of its closure rather than arguments.
 *
 * @example
 * ```ts
 * const loop = generatedWith<(a: Float64Array) => void>("sq", { h: { sq: (v: number) => v * v } }, () =>
 *   "return function squares(a) { for (let i = 0; i < a.length; i++) a[i] = h.sq(a[i]) }")
 * ```
 */
export const generatedWith = <A>(key: string, bound: Readonly<Record<string, unknown>>, body: () => string, name: string = key): A =>
  compileOnce(key, name, Object.keys(bound), body, Object.values(bound)) as A

/**
 * The compiled tap sum for layout `k` over lines of `dtype` (a name: one function per dtype), with
 * one source line (`single`) or one line per tap, stored into `output`. `site` ("z", "y" …) gives
 * a call site a loop of its own: V8 then optimises each for its own access pattern, and profiles
 * tell them apart.
 *
 * @example
 * ```ts
 * const sum = tapSum({ before: 1, after: 1, symmetry: 1 }, "uint8", true, "uint8")
 * sum(out, y * width, width, [slice], Int32Array.of(0, width, 2 * width), Float64Array.of(0.25, 0.5, 0.25))
 * ```
 */
export const tapSum = (k: TapLayout, dtype: string, single: boolean, output: DType, site = ""): TapSum =>
  generated(
    `tap${site}/${k.before}/${k.after}/${k.symmetry}/${dtype}/${single ? 1 : 0}/${output}`,
    ["out", "base", "n", "lines", "offs", "w"],
    () => tapSumBody(k, single, output)
  )

/**
 * Lines that are views of one buffer — the slots of a ring (one block) or the slices of a whole
 * volume — seen as one array at offsets. A loop over the lines of a window then reads a single
 * array, which V8 runs about 1.7× faster than the same loads from separate arrays on a 17-tap sum
 * (see the module comment, and docs/BENCHMARKS.md "Kernel loops"). Keeps the last whole-buffer
 * view, so a kernel makes one per ring, not one per slice.
 *
 * @example
 * ```ts
 * const shared = new SharedLines()
 * const one = shared.of(lines, zeroOffsets, offs)   // a view of the common buffer, or undefined
 * if (one !== undefined) singleSum(acc, n, [one], offs, w)
 * else multiSum(acc, n, lines, zeroOffsets, w)
 * ```
 */
export class SharedLines {
  private buffer: ArrayBufferLike | undefined
  private view: VoxelArray | undefined

  /**
   * A view of the buffer every line is a view of (of the lines' own type), with `offs[t]` set to
   * `base[t]` plus line t's offset in it; undefined when the lines do not share one buffer.
   */
  of(lines: ReadonlyArray<VoxelArray>, base: Int32Array, offs: Int32Array): VoxelArray | undefined {
    const first = lines[0]!
    const buffer = first.buffer
    const ctor = first.constructor
    for (let t = 1; t < lines.length; t++) {
      if (lines[t]!.buffer !== buffer || lines[t]!.constructor !== ctor) return undefined
    }
    if (buffer !== this.buffer || this.view === undefined || this.view.constructor !== ctor) {
      const size = first.BYTES_PER_ELEMENT
      // Offsets are int32: a buffer of more voxels than that is addressed line by line.
      if (buffer.byteLength / size > 0x7fffffff) return undefined
      this.view = new (ctor as new (b: ArrayBufferLike, o: number, l: number) => VoxelArray)(buffer, 0, Math.floor(buffer.byteLength / size))
      this.buffer = buffer
    }
    for (let t = 0; t < lines.length; t++) offs[t] = base[t]! + lines[t]!.byteOffset / first.BYTES_PER_ELEMENT
    return this.view
  }
}
