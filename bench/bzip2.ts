/**
 * bzip2 decode throughput: slicewise's Bz2Decoder (src/io/bzip2.ts) against `/usr/bin/bzip2 -dc`
 * on the same file, both decompressed bytes per second of wall time, best of `--runs` (default 2).
 *
 * The input is a synthetic uint16 volume of about 50 MB (smooth structure plus noise, like a CT or
 * EM stack: about 2.5:1 under bzip2 -9), made once in $TMPDIR/slicewise-bench-bzip2/ and compressed
 * there by bzip2 itself; our output is checked against bzip2's by SHA-256.
 *
 *     npx tsx bench/bzip2.ts [--mb 50] [--runs 2] [--level 9]
 */
import { spawnSync } from "node:child_process"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as nodePath from "node:path"
import { Bz2Decoder } from "../src/io/bzip2.js"

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? Number(process.argv[i + 1]) : fallback
}
const mb = arg("mb", 50)
const runs = arg("runs", 2)
const level = arg("level", 9)

const dir = nodePath.join(os.tmpdir(), "slicewise-bench-bzip2")
fs.mkdirSync(dir, { recursive: true })
const raw = nodePath.join(dir, `volume-${mb}mb.raw`)
const bz = `${raw}.${level}.bz2`

/** A uint16 volume: 256×256 slices of a few smooth blobs whose intensity drifts with z, plus noise. */
const makeVolume = (): void => {
  const nx = 256
  const ny = 256
  const depth = Math.ceil((mb * 1e6) / (nx * ny * 2))
  const fd = fs.openSync(raw, "w")
  const slice = new Uint16Array(nx * ny)
  let seed = 12345
  for (let z = 0; z < depth; z++) {
    for (let y = 0; y < ny; y++)
      for (let x = 0; x < nx; x++) {
        seed ^= seed << 13
        seed ^= seed >>> 17
        seed ^= seed << 5
        const r = Math.hypot(x - 128, y - 128 - 20 * Math.sin(z / 30))
        const v = r < 90 ? 1000 + 400 * Math.cos(r / 9 + z / 50) : 100
        slice[y * nx + x] = Math.max(0, Math.round(v + ((seed >>> 0) % 64) - 32))
      }
    fs.writeSync(fd, slice)
  }
  fs.closeSync(fd)
}

if (!fs.existsSync(raw)) makeVolume()
if (!fs.existsSync(bz)) {
  const r = spawnSync("bzip2", [`-${level}`, "-k", "-c", raw], { maxBuffer: 1 << 30 })
  if (r.status !== 0) throw new Error(`bzip2 failed: ${r.stderr}`)
  fs.writeFileSync(bz, r.stdout)
}
const rawBytes = fs.statSync(raw).size
const bzBytes = fs.statSync(bz).size
console.log(`input: ${bz} (${(bzBytes / 1e6).toFixed(1)} MB compressed, ${(rawBytes / 1e6).toFixed(1)} MB decompressed, level ${level})`)

const native = (): number => {
  const t = process.hrtime.bigint()
  const r = spawnSync("sh", ["-c", `bzip2 -dc '${bz}' > /dev/null`])
  if (r.status !== 0) throw new Error(`bzip2 -dc failed: ${r.stderr}`)
  return Number(process.hrtime.bigint() - t) / 1e9
}

const ours = (): { seconds: number; sha: string } => {
  const fd = fs.openSync(bz, "r")
  const out = new Uint8Array(1 << 20)
  const hash = createHash("sha256")
  let hashTime = 0n
  const t = process.hrtime.bigint()
  const d = new Bz2Decoder(fd, bz, 0, bzBytes)
  for (let n; (n = d.read(out, 0, out.length)) > 0; ) {
    const h = process.hrtime.bigint()
    hash.update(out.subarray(0, n))
    hashTime += process.hrtime.bigint() - h
  }
  const seconds = Number(process.hrtime.bigint() - t - hashTime) / 1e9
  fs.closeSync(fd)
  return { seconds, sha: hash.digest("hex") }
}

const want = createHash("sha256").update(fs.readFileSync(raw)).digest("hex")
let bestNative = Infinity
let bestOurs = Infinity
for (let i = 0; i < runs; i++) {
  bestNative = Math.min(bestNative, native())
  const r = ours()
  if (r.sha !== want) throw new Error("Bz2Decoder's output differs from the original volume")
  bestOurs = Math.min(bestOurs, r.seconds)
}
const rate = (s: number) => `${(rawBytes / 1e6 / s).toFixed(1)} MB/s (${s.toFixed(2)} s)`
console.log(`bzip2 -dc:   ${rate(bestNative)}`)
console.log(`Bz2Decoder:  ${rate(bestOurs)}   (${(bestOurs / bestNative).toFixed(2)}× bzip2's time; output SHA-256 matches)`)
