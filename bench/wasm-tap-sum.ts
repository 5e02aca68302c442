/**
 * What a WebAssembly SIMD tap sum would gain over the generated JavaScript one (issue 6: the
 * uint8 gaussian σ 2 is the one case at parity with scipy, and 88 % of its CPU is three 17-tap sums).
 *
 * The z-axis sum of `gaussian:sigma=2` over a uint8 window of 17 slices of 512², stored as uint8:
 * - js: the run interpreter's loop (`tapSum` of src/ops/internal/loops.ts, one array at offsets);
 * - wasm: a prototype, 8 voxels a step: each symmetric pair summed in 16-bit integers (exact, so
 *   converting the sum once gives the same float64 as scipy's x[−j] + x[j]), four f64x2
 *   accumulators in scipy's order, stored with the same cast rule (truncate, saturate);
 * - copy: one slice into the module's memory and one out, what a kernel keeping the window in that
 *   memory would copy per tick.
 * Prints ns per voxel (fastest of --repeat timings of one slice each) and the voxels that differ
 * between js and wasm (must be 0). The WebAssembly is written as text and assembled with wabt
 * (a devDependency, for this script only).
 *
 *   npx tsx bench/wasm-tap-sum.ts [--input noise|ramp] [--repeat 40]
 */
import wabtInit from "wabt"
import { gaussianRadius, gaussianWeights } from "../src/ops/gaussian.js"
import { tapSum } from "../src/ops/internal/loops.js"

const args = process.argv.slice(2)
const option = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : fallback
}
const input = option("input", "noise")
const repeat = Number(option("repeat", "40"))

const sigma = 2
const R = gaussianRadius(sigma)
const TAPS = 2 * R + 1
const N = 512 * 512
const w = gaussianWeights(sigma)

// The window: 17 slices in one buffer, as a ring block holds them.
const window = new Uint8Array(TAPS * N)
let seed = 1
for (let i = 0; i < window.length; i++) {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0
  window[i] = input === "ramp" ? (i >> 9) & 255 : (seed >>> 16) & 255
}
const offs = Int32Array.from({ length: TAPS }, (_, t) => t * N)

const js = tapSum({ before: R, after: R, symmetry: 1 }, "uint8", true, "uint8", "-bench")

// --- the WebAssembly prototype, as text ---
const get = (name: string) => `(local.get $${name})`
const eight = (t: number) => `(i16x8.extend_low_i8x16_u (v128.load64_zero (i32.add ${get(`o${t}`)} ${get("i")})))`
const HIGH_HALF = "8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7"
const LOW_HALVES = "0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23"
/** Lanes 2k and 2k + 1 of eight 16-bit lanes, as f64x2. */
const lanes = (v16: string, k: number) => {
  const i32 = k < 2 ? `(i32x4.extend_low_i16x8_u ${v16})` : `(i32x4.extend_high_i16x8_u ${v16})`
  return k % 2 === 0 ? `(f64x2.convert_low_i32x4_u ${i32})` : `(f64x2.convert_low_i32x4_u (i8x16.shuffle ${HIGH_HALF} ${i32} ${i32}))`
}
const step: Array<string> = [`(local.set $p ${eight(R)})`]
for (let k = 0; k < 4; k++) step.push(`(local.set $a${k} (f64x2.mul ${lanes(get("p"), k)} ${get(`w${R}`)}))`)
for (let j = -R; j < 0; j++) {
  step.push(`(local.set $p (i16x8.add ${eight(R + j)} ${eight(R - j)}))`)
  for (let k = 0; k < 4; k++) step.push(`(local.set $a${k} (f64x2.add ${get(`a${k}`)} (f64x2.mul ${lanes(get("p"), k)} ${get(`w${R + j}`)})))`)
}
const trunc = (k: number) => `(i32x4.trunc_sat_f64x2_s_zero ${get(`a${k}`)})`
const clamp = (v: string) => `(i32x4.min_s (i32x4.max_s ${v} (v128.const i32x4 0 0 0 0)) (v128.const i32x4 255 255 255 255))`
const four = (k: number) => clamp(`(i8x16.shuffle ${LOW_HALVES} ${trunc(k)} ${trunc(k + 1)})`)
step.push(`(local.set $p (i16x8.narrow_i32x4_u ${four(0)} ${four(2)}))`)
step.push(`(v128.store64_lane 0 (i32.add ${get("out")} ${get("i")}) (i8x16.narrow_i16x8_u ${get("p")} ${get("p")}))`)
const range = (f: (t: number) => string) => Array.from({ length: TAPS }, (_, t) => f(t)).join(" ")
const wat = `(module
 (memory (export "memory") ${Math.ceil(((TAPS + 1) * N + 64) / 65536)})
 (func (export "sum") (param $out i32) (param $n i32) ${range((t) => `(param $o${t} i32)`)} ${range((t) => `(param $weight${t} f64)`)}
  (local $i i32) ${range((t) => `(local $w${t} v128)`)} (local $p v128) (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
  ${range((t) => `(local.set $w${t} (f64x2.splat ${get(`weight${t}`)}))`)}
  (block $done (loop $next
   (br_if $done (i32.ge_u ${get("i")} ${get("n")}))
   ${step.join("\n   ")}
   (local.set $i (i32.add ${get("i")} (i32.const 8)))
   (br $next))))
)`
// The project's TypeScript libraries do not declare WebAssembly; what is used of it:
declare const WebAssembly: {
  readonly Module: new (bytes: Uint8Array) => object
  readonly Instance: new (module: object) => { readonly exports: Record<string, unknown> }
}
const wabt = await wabtInit()
const { buffer } = wabt.parseWat("tap-sum.wat", wat, { simd: true }).toBinary({})
const exports = new WebAssembly.Instance(new WebAssembly.Module(buffer)).exports as {
  memory: { readonly buffer: ArrayBuffer }
  sum: (out: number, n: number, ...rest: Array<number>) => void
}
const memory = new Uint8Array(exports.memory.buffer)
memory.set(window, 0)
const OUT = TAPS * N

/** ns per voxel, fastest of `repeat` runs of `f` over one slice. */
const time = (f: () => void): number => {
  f()
  let best = Infinity
  for (let r = 0; r < repeat; r++) {
    const t0 = process.hrtime.bigint()
    f()
    best = Math.min(best, Number(process.hrtime.bigint() - t0))
  }
  return best / N
}

const outJs = new Uint8Array(N)
const jsNs = time(() => js(outJs, 0, N, [window], offs, w))
const wasmNs = time(() => exports.sum(OUT, N, ...offs, ...w))
const copyNs = time(() => {
  memory.set(window.subarray(0, N), 0)
  outJs.set(memory.subarray(OUT, OUT + N))
})
js(outJs, 0, N, [window], offs, w)
const outWasm = memory.subarray(OUT, OUT + N)
let differing = 0
for (let i = 0; i < N; i++) if (outWasm[i] !== outJs[i]) differing++
console.log(`uint8 z tap sum, ${TAPS} taps (gaussian σ ${sigma}), 512² slice, ${input} input, fastest of ${repeat}:`)
console.log(`  js (generated loop)  ${jsNs.toFixed(2)} ns/voxel`)
console.log(`  wasm SIMD prototype  ${wasmNs.toFixed(2)} ns/voxel (${(jsNs / wasmNs).toFixed(2)}× js)`)
console.log(`  copy a slice in and out  ${copyNs.toFixed(2)} ns/voxel`)
console.log(`  voxels differing: ${differing} of ${N}`)
