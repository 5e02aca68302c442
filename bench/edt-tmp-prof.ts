import { volumeInfo } from "../src/algebra/volume.js"
import { ballZKernel } from "../src/ops/distance/zphase.js"
import { ballPlaneKernel } from "../src/ops/ball-distance.js"
const [D, H, W] = [64, 256, 256]
const n = H * W
const vol = new Uint8Array(D * n)
let s = 0x2545f491
for (let i = 0; i < vol.length; i++) { s ^= s << 13; s ^= s >>> 17; s ^= s << 5; vol[i] = (s >>> 0) / 4294967296 < Number(process.argv[2] ?? 0.5) ? 1 : 0 }
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000 }
for (const op of ["dilate", "erode"] as const) for (const R of [1, 4, 8]) {
  const info = volumeInfo("uint8", [D, H, W])
  let bz = Infinity, bp = Infinity
  for (let rep = 0; rep < 5; rep++) {
  const zk = ballZKernel<"uint8", "uint8">(op, R, "uint8").prepare(info)
  const pk = ballPlaneKernel(op, R).prepare(info as never)
  const zout = new Uint8Array(D * n), out = new Uint8Array(n)
  const zero = new Uint8Array(n)
  let tz = 0, tp = 0
  let t0 = cpu()
  for (let z = 0; z < D; z++) {
    const win = { z, at: (dz: number) => (z + dz < D ? vol.subarray((z + dz) * n, (z + dz + 1) * n) : zero) }
    zk.compute(win as never, zout.subarray(z * n, (z + 1) * n) as never)
  }
  tz = cpu() - t0
  t0 = cpu()
  for (let z = 0; z < D; z++) {
    const win = { z, at: () => zout.subarray(z * n, (z + 1) * n) }
    pk.compute(win as never, out as never)
  }
  tp = cpu() - t0
  bz = Math.min(bz, tz); bp = Math.min(bp, tp)
  }
  console.log(op, R, `z ${(D * n / 1e3 / bz).toFixed(1)} Mvox/s  plane ${(D * n / 1e3 / bp).toFixed(1)} Mvox/s`)
}
