// Writing new files in one call or in pieces (issue 23): 512 files of 1 MiB each (a 512² float32
// slice), each written with pwrite calls of PIECE bytes, for each PIECE in turn, ROUNDS times
// alternating; prints the median wall and system time per PIECE. On this machine (Linux 6.18,
// ext4) 1 MiB calls were the slowest, yet the CLI writing its slices in 256 KiB pieces was slower
// than with one call a slice (docs/BENCHMARKS.md, "Tried and dropped").
//
//   node bench/write-pieces.mjs [ROUNDS] [DIR]      e.g. node bench/write-pieces.mjs 5 /tmp
import fs from "node:fs"
import path from "node:path"

const rounds = Number(process.argv[2] ?? 5)
const dir = fs.mkdtempSync(path.join(process.argv[3] ?? "/tmp", "write-pieces-"))
const pieces = [2 ** 20, 2 ** 19, 2 ** 18, 2 ** 17]
const slice = Buffer.alloc(2 ** 20)
for (let i = 0; i < slice.length; i += 4) slice.writeFloatLE(Math.random(), i)

const writeFiles = (piece) => {
  const wall0 = performance.now()
  const cpu0 = process.cpuUsage()
  for (let f = 0; f < 512; f++) {
    const fd = fs.openSync(path.join(dir, `s${f}`), fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL)
    for (let at = 0; at < slice.length; at += piece) fs.writeSync(fd, slice, at, Math.min(piece, slice.length - at), at)
    fs.closeSync(fd)
  }
  const cpu = process.cpuUsage(cpu0)
  const wallMs = performance.now() - wall0
  for (let f = 0; f < 512; f++) fs.unlinkSync(path.join(dir, `s${f}`))
  return { wallMs, sysMs: cpu.system / 1000 }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]
const runs = new Map(pieces.map((p) => [p, []]))
try {
  for (let r = 0; r < rounds; r++) for (const p of r % 2 === 0 ? pieces : [...pieces].reverse()) runs.get(p).push(writeFiles(p))
} finally {
  fs.rmSync(dir, { recursive: true, force: true })
}
console.log(`512 new files of 1 MiB, ${rounds} rounds, medians:`)
for (const [p, rs] of runs) {
  console.log(`  pieces of ${String(p / 1024).padStart(4)} KiB: wall ${median(rs.map((x) => x.wallMs)).toFixed(0).padStart(5)} ms, system ${median(rs.map((x) => x.sysMs)).toFixed(0).padStart(5)} ms`)
}
