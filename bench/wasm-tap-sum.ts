/**
 * The gaussian's z sum, σ 2 (17 taps) over a window of 17 slices of 512² of uint8 or uint16, stored
 * in the same dtype:
 * - js: the generated JavaScript loop (`tapSum` of src/ops/internal/loops.ts, one array at offsets),
 *   what every other dtype runs;
 * - wasm: the WebAssembly SIMD loop uint8 and uint16 run (`WasmTapSum` of src/ops/internal/wasm-taps.ts);
 * - copy: one slice into its memory and one out.
 * Prints ns per voxel (fastest of --repeat timings of one slice each) and the voxels that differ
 * between js and wasm (must be 0).
 *
 *   npx tsx bench/wasm-tap-sum.ts [--dtype uint8|uint16] [--input noise|ramp] [--repeat 40]
 */
import { analyseWeights } from "../src/ops/correlate.js"
import { gaussianWeights } from "../src/ops/gaussian.js"
import { tapSum } from "../src/ops/internal/loops.js"
import { WasmTapSum, type WasmTapDType } from "../src/ops/internal/wasm-taps.js"
import { parseArgs } from "./matrix/lib.js"

const args = parseArgs(process.argv.slice(2))
const input = args.str("input", "noise")
const dtype = args.str("dtype", "uint8") as WasmTapDType
if (dtype !== "uint8" && dtype !== "uint16") throw new Error(`--dtype: uint8 or uint16, not ${dtype}`)
const max = dtype === "uint8" ? 255 : 65535
const repeat = Number(args.str("repeat", "40"))

const sigma = 2
const k = analyseWeights(gaussianWeights(sigma))
const taps = k.weights.length
const n = 512 * 512

// The window: 17 slices in one buffer, as a ring block holds them.
const window = dtype === "uint8" ? new Uint8Array(taps * n) : new Uint16Array(taps * n)
let seed = 1
for (let i = 0; i < window.length; i++) {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0
  window[i] = input === "ramp" ? ((i >> 9) * 97) & max : (seed >>> 8) & max
}
const offs = Int32Array.from({ length: taps }, (_, t) => t * n)

const js = tapSum(k, dtype, true, dtype, "-bench")
const wasm = WasmTapSum.make(dtype, k, taps * n, n)
if (wasm === undefined) throw new Error("no WebAssembly SIMD in this Node")
wasm.voxels.set(window, 0)
const result = wasm.voxels.subarray(wasm.outAt, wasm.outAt + n)

/** ns per voxel, fastest of `repeat` runs of `f` over one slice. */
const time = (f: () => void): number => {
  f()
  let best = Infinity
  for (let r = 0; r < repeat; r++) {
    const t0 = process.hrtime.bigint()
    f()
    best = Math.min(best, Number(process.hrtime.bigint() - t0))
  }
  return best / n
}

const out = dtype === "uint8" ? new Uint8Array(n) : new Uint16Array(n)
const jsNs = time(() => js(out, 0, n, [window], offs, k.weights))
const wasmNs = time(() => wasm.sum(wasm.outAt, n, offs))
const copyNs = time(() => {
  wasm.voxels.set(window.subarray(0, n), 0)
  out.set(result)
})
wasm.voxels.set(window, 0)
wasm.sum(wasm.outAt, n, offs)
js(out, 0, n, [window], offs, k.weights)
let differing = 0
for (let i = 0; i < n; i++) if (result[i] !== out[i]) differing++
console.log(`${dtype} z tap sum, ${taps} taps (gaussian σ ${sigma}), 512² slice, ${input} input, fastest of ${repeat}:`)
console.log(`  js (generated loop)       ${jsNs.toFixed(2)} ns/voxel`)
console.log(`  wasm (SIMD, 8 a step)     ${wasmNs.toFixed(2)} ns/voxel (${(jsNs / wasmNs).toFixed(2)}× js)`)
console.log(`  copy a slice in and out   ${copyNs.toFixed(2)} ns/voxel`)
console.log(`  voxels differing: ${differing} of ${n}`)
