import { envelopeLine } from "../src/ops/distance/envelope.js"
const envB = (f: Float64Array, fOff: number, n: number, limit: number, frame: boolean, v: Int32Array, hv: Float64Array, zb: Float64Array, out: Float64Array, oOff: number): void => {
  let k = -1
  if (frame) { k = 0; v[0] = -1; hv[0] = 1; zb[0] = -Infinity; zb[1] = Infinity }
  for (let q = 0; q <= n; q++) {
    let fq: number
    if (q < n) { fq = f[fOff + q]!; if (!(fq <= limit)) continue } else if (frame) fq = 0; else break
    const hq = fq + q * q
    if (k < 0) { k = 0; v[0] = q; hv[0] = hq; zb[0] = -Infinity; zb[1] = Infinity; continue }
    let s = (hq - hv[k]!) / (2 * (q - v[k]!))
    while (s <= zb[k]!) { k--; s = (hq - hv[k]!) / (2 * (q - v[k]!)) }
    k++; v[k] = q; hv[k] = hq; zb[k] = s; zb[k + 1] = Infinity
  }
  if (k < 0) { out.fill(Infinity, oOff, oOff + n); return }
  // query: per parabola, the positions it owns
  const top = k
  let q = 0
  for (k = 0; k <= top && q < n; k++) {
    const p = v[k]!, base = hv[k]! - p * p
    const end = zb[k + 1]!
    for (; q < n && q <= end; q++) out[oOff + q] = base + (q - p) * (q - p)
  }
}
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000 }
const n = 256, lines = 64 * 256
for (const pr of [0.5, 0.05]) for (const frame of [false, true]) {
  const f = new Float64Array(n * lines)
  let s = 1
  for (let i = 0; i < f.length; i++) { s = (Math.imul(s, 1103515245) + 12345) >>> 0; f[i] = (s >>> 8) / 16777216 < pr ? 0 : (((s >>> 3) & 3) ** 2) }
  const out = new Float64Array(n), out2 = new Float64Array(n), v = new Int32Array(n + 2), fv = new Float64Array(n + 2), zb = new Float64Array(n + 3)
  let a = Infinity, b = Infinity
  for (let rep = 0; rep < 6; rep++) {
    let t0 = cpu()
    for (let l = 0; l < lines; l++) envelopeLine(f, l * n, n, 9, frame, v, fv, zb, out, 0)
    a = Math.min(a, cpu() - t0)
    t0 = cpu()
    for (let l = 0; l < lines; l++) envB(f, l * n, n, 9, frame, v, fv, zb, out2, 0)
    b = Math.min(b, cpu() - t0)
    for (let l = 0; l < 300; l++) { envelopeLine(f, l * n, n, 9, frame, v, fv, zb, out, 0); envB(f, l * n, n, 9, frame, v, fv, zb, out2, 0); for (let i = 0; i < n; i++) if (out[i] !== out2[i]) throw new Error("differ " + l + " " + i + " " + out[i] + " " + out2[i]) }
  }
  console.log(pr, frame, `fh ${(n * lines / 1e3 / a).toFixed(1)}  B ${(n * lines / 1e3 / b).toFixed(1)} Mvox/s`)
}
