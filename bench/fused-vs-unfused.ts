/**
 * The fused executor (`Run.run`: one tick loop over the plan's rings) against the unfused one
 * (`runUnfused`: one Effect Stream stage per algebra node, broadcasts for tees) on one pipeline:
 * a 128×256×256 uint8 phantom → gaussian σ=2 → threshold → dilate radius 2 (ball), multiplied by
 * the input (a zip of a branch of latency 0 with one of latency 10), written to NRRD in /tmp.
 *
 *   npx tsx bench/fused-vs-unfused.ts                 # every mode, 3 runs each, one process per run
 *   npx tsx bench/fused-vs-unfused.ts -- --runs 5 --shape 128x256x256
 *   npx tsx bench/fused-vs-unfused.ts --mode unfused  # one run in this process (what the parent spawns)
 *
 * Modes: `fused` (Run.run, all rewrites), `ticks` (Run.run with no rewrite: the same one-stage-per-node
 * plan as unfused, so the difference to unfused is the executor alone) and `unfused`.
 *
 * Each run is its own process, so that process.resourceUsage().maxRSS is that mode's peak alone.
 * The outputs of the two modes are compared byte for byte.
 */
import * as Effect from "effect/Effect"
import { execFileSync } from "node:child_process"
import * as crypto from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import type { Algebra, Repr } from "../src/algebra/algebra.js"
import * as E from "../src/algebra/expr.js"
import type { Shape } from "../src/algebra/volume.js"
import * as Run from "../src/interpreters/run/index.js"
import { runUnfused } from "../src/interpreters/run/unfused.js"
import { nrrdSink } from "../src/io/nrrd.js"
import { phantomSource } from "../src/io/phantom.js"
import { dilate } from "../src/ops/binary.js"
import { gaussian } from "../src/ops/gaussian.js"
import { threshold } from "../src/ops/pointwise.js"

const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1]! : fallback
}
const shapeText = arg("shape", "128x256x256")
const mode = arg("mode", "")

interface Measure {
  readonly mode: string
  readonly wallMs: number
  /** CPU time of the whole process (user + system), less sensitive than wall to a busy machine. */
  readonly cpuMs: number
  readonly maxRssMiB: number
  readonly peakBufferBytes: number
  readonly planBufferBytes: number
  readonly stages: number
  readonly sha: string
}

if (mode !== "") {
  const shape = shapeText.split("x").map(Number) as unknown as Shape
  const out = path.join(os.tmpdir(), `slicewise-bench-${mode}-${process.pid}.nrrd`)
  const src = phantomSource({ shape })
  const program = <F extends Repr>(alg: Algebra<F>) => {
    const input = alg.source(src)
    const smooth = gaussian(alg, input, { sigma: 2 })
    const mask = dilate(alg, threshold(alg, smooth, { min: 100 }), { radius: 2, footprint: "ball" })
    const masked = alg.zip([input, mask], (a, b) => E.mul(a, b), { name: "mask×input" })
    return { o: alg.write(masked, nrrdSink(out)) }
  }
  const started = performance.now()
  const r = await Effect.runPromise(
    mode === "unfused" ? runUnfused(program) : Run.run(program, mode === "ticks" ? { rewrites: [] } : {})
  )
  const wallMs = performance.now() - started
  const sha = crypto.createHash("sha256").update(fs.readFileSync(out)).digest("hex").slice(0, 16)
  fs.rmSync(out)
  const m: Measure = {
    mode,
    wallMs,
    cpuMs: (process.cpuUsage().user + process.cpuUsage().system) / 1000,
    maxRssMiB: process.resourceUsage().maxRSS / 1024,
    peakBufferBytes: r.peakBufferBytes,
    planBufferBytes: r.plan.peakBufferBytes,
    stages: r.plan.passes.reduce((a, p) => a + p.stages.length, 0),
    sha
  }
  console.log(JSON.stringify(m))
} else {
  const runs = Number(arg("runs", "3"))
  // "ticks": the fused executor on the unfused plan (no rewrites), to tell the executor's cost
  // from what the rewrites save.
  const MODES = ["fused", "ticks", "unfused"]
  const self = new URL(import.meta.url).pathname
  const results: Array<Measure> = []
  for (let i = 0; i < runs; i++) {
    for (const m of MODES) {
      const line = execFileSync(process.execPath, [...process.execArgv, self, "--mode", m, "--shape", shapeText], { encoding: "utf8" })
      results.push(JSON.parse(line.trim().split("\n").pop()!) as Measure)
    }
  }
  const median = (xs: Array<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
  console.log(`${shapeText} uint8 phantom → gaussian σ=2 → threshold 100 → dilate r=2 ball, × input → NRRD; ${runs} runs each`)
  for (const m of MODES) {
    const rs = results.filter((r) => r.mode === m)
    console.log(
      `${m.padEnd(8)} wall ${median(rs.map((r) => r.wallMs)).toFixed(0).padStart(6)} ms (${rs.map((r) => r.wallMs.toFixed(0)).join(", ")})` +
        `  process cpu ${median(rs.map((r) => r.cpuMs)).toFixed(0)} ms` +
        `  maxRSS ${median(rs.map((r) => r.maxRssMiB)).toFixed(1)} MiB (${rs.map((r) => r.maxRssMiB.toFixed(1)).join(", ")})` +
        `  buffers ${(rs[0]!.peakBufferBytes / 1024).toFixed(0)} KiB measured, ${(rs[0]!.planBufferBytes / 1024).toFixed(0)} KiB planned` +
        `  stages ${rs[0]!.stages}  output ${rs[0]!.sha}`
    )
  }
  const wall = (m: string) => median(results.filter((r) => r.mode === m).map((r) => r.wallMs))
  console.log(`speedup of fused over unfused: ${(wall("unfused") / wall("fused")).toFixed(2)}× (wall, medians)`)
  const shas = new Set(results.map((r) => r.sha))
  console.log(shas.size === 1 ? "outputs identical" : `OUTPUTS DIFFER: ${[...shas].join(" ")}`)
}
