/**
 * label-final's lookup of uint32 provisional labels in a uint32 table (issue 23): the JavaScript
 * loop the pointwise compiler generates for it against `lookupUint32` (WebAssembly, with the
 * copies into and out of its memory), over 512 × 512 slices of labels; ns per voxel, median of
 * ROUNDS rounds of 64 slices.
 *
 *   npx tsx bench/table-lookup.ts [ROUNDS]
 */
import { lookupUint32 } from "../src/interpreters/run/table-lookup.js"

const rounds = Number(process.argv[2] ?? 7)
const n = 512 * 512
const slices = 64
// A third of the rows background, the rest labels 1 … 500; a table of 600 entries.
const labels = Uint32Array.from({ length: n }, (_, i) => ((i >> 9) % 3 === 0 ? 0 : 1 + ((i * 7) % 500)))
const table = Uint32Array.from({ length: 600 }, (_, i) => (i === 0 ? 0 : (i % 37) + 1))
const out = new Uint32Array(n)

// The loop compile.ts's fast path generates, less its WebAssembly call.
const javascript = (o: Uint32Array, in0: Uint32Array, length: number, t: Uint32Array) => {
  const entries = t.length
  for (let i = 0; i < length; i++) {
    const x = in0[i]!
    o[i] = x < entries ? t[x]! : 0
  }
}
const webassembly = (o: Uint32Array, in0: Uint32Array, length: number, t: Uint32Array) => {
  if (!lookupUint32(o, in0, length, t)) throw new Error("no WebAssembly here")
}

const nsPerVoxel = (f: typeof javascript) => {
  const t0 = performance.now()
  for (let s = 0; s < slices; s++) f(out, labels, n, table)
  return ((performance.now() - t0) * 1e6) / (n * slices)
}
const median = (xs: Array<number>) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!
const times = { javascript: [] as Array<number>, webassembly: [] as Array<number> }
for (let r = 0; r < rounds; r++) {
  times.javascript.push(nsPerVoxel(javascript))
  times.webassembly.push(nsPerVoxel(webassembly))
}
for (const [name, ts] of Object.entries(times)) console.log(`${name.padEnd(12)} ${median(ts).toFixed(2)} ns/voxel (median of ${rounds})`)
