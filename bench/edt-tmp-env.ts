import { envelopeLine } from "../src/ops/distance/envelope.js"
const n = 256, lines = 64 * 256
const f = new Float64Array(n * lines)
let s = 1
for (let i = 0; i < f.length; i++) { s = (Math.imul(s, 1103515245) + 12345) >>> 0; f[i] = (s >>> 24) & 1 ? 0 : 4 }
const out = new Float64Array(n), v = new Int32Array(n + 2), fv = new Float64Array(n + 2), zb = new Float64Array(n + 3)
for (let rep = 0; rep < 5; rep++) {
  const t0 = performance.now()
  for (let l = 0; l < lines; l++) envelopeLine(f, l * n, n, 64, true, v, fv, zb, out, 0)
  const ms = performance.now() - t0
  console.log(`${(n * lines / 1e3 / ms).toFixed(1)} Mvox/s`)
}
