const envelope2 = (f: Float64Array, fOff: number, n: number, limit: number, frame: boolean, v: Int32Array, fv: Float64Array, zn: Float64Array, zd: Float64Array, out: Float64Array, oOff: number): void => {
  let k = -1
  const first = frame ? -1 : 0
  const last = frame ? n : n - 1
  for (let q = first; q <= last; q++) {
    const fq = q < 0 || q >= n ? 0 : f[fOff + q]!
    if (!(fq <= limit)) continue
    const hq = fq + q * q
    let num = 0
    let den = 1
    while (k >= 0) {
      const p = v[k]!
      num = hq - (fv[k]! + p * p)
      den = 2 * (q - p)
      if (k === 0 || num * zd[k]! > zn[k]! * den) break
      k--
    }
    k++
    v[k] = q
    fv[k] = fq
    zn[k] = num
    zd[k] = den
  }
  if (k < 0) { out.fill(Infinity, oOff, oOff + n); return }
  const top = k
  k = 0
  for (let q = 0; q < n; q++) {
    while (k < top && zn[k + 1]! < q * zd[k + 1]!) k++
    const d = q - v[k]!
    out[oOff + q] = fv[k]! + d * d
  }
}
import { envelopeLine } from "../src/ops/distance/envelope.js"
const n = 256, lines = 64 * 256
for (const pr of [0.5, 0.05]) {
const f = new Float64Array(n * lines)
let s = 1
for (let i = 0; i < f.length; i++) { s = (Math.imul(s, 1103515245) + 12345) >>> 0; f[i] = (s >>> 8) / 16777216 < pr ? 0 : 4 }
const out = new Float64Array(n), out2 = new Float64Array(n), v = new Int32Array(n + 2), fv = new Float64Array(n + 2), zb = new Float64Array(n + 3), zd = new Float64Array(n + 3)
for (let rep = 0; rep < 4; rep++) {
  let t0 = performance.now()
  for (let l = 0; l < lines; l++) envelopeLine(f, l * n, n, 64, true, v, fv, zb, out, 0)
  const a = performance.now() - t0
  t0 = performance.now()
  for (let l = 0; l < lines; l++) envelope2(f, l * n, n, 64, true, v, fv, zb, zd, out2, 0)
  const b = performance.now() - t0
  for (let l = 0; l < 100; l++) { envelopeLine(f, l * n, n, 64, true, v, fv, zb, out, 0); envelope2(f, l * n, n, 64, true, v, fv, zb, zd, out2, 0); for (let i = 0; i < n; i++) if (out[i] !== out2[i]) throw new Error("differ") }
  console.log(pr, `fh ${(n * lines / 1e3 / a).toFixed(1)}  nodiv ${(n * lines / 1e3 / b).toFixed(1)} Mvox/s`)
}}
