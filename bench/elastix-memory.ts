/**
 * Peak resident memory of elastix (register job, the repository's params/elastix/affine.txt, one
 * thread) and of transformix (warp job, nearest neighbour) at a few sizes of the synthetic phantom
 * (test/jobs/phantom.ts: the fixed image as drawn, the moving one rotated by 10° about z and
 * shifted), measured the way a batch measures them (the runner's /proc sampler over the process
 * tree) and, for comparison, by GNU time's %M on the same command. Then the least-squares line
 * peak = a + b · voxels that src/jobs/exec/elastix.ts's models are built from (register: voxels of
 * fixed + moving; warp: input + output grid).
 *
 *     npx tsx bench/elastix-memory.ts [--sizes 32,64,96] [--params affine]
 */
import { spawnSync } from "node:child_process"
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as nodePath from "node:path"
import { paramFiles, registerSetUp, warpSetUp } from "../src/jobs/exec/elastix.js"
import { phantom, writeVolume } from "../test/jobs/phantom.js"

const option = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? process.argv[i + 1]! : fallback
}
const sizes = option("sizes", "32,64,96").split(",").map(Number)
const params = option("params", "affine")
const MiB = 2 ** 20
const dir = fs.mkdtempSync(nodePath.join(os.tmpdir(), "slicewise-bench-elastix-"))

/** GNU time's peak RSS of a command, KiB → bytes. */
const gnuTime = (argv: ReadonlyArray<string>): number => {
  const r = spawnSync("/usr/bin/time", ["-f", "%M", ...argv], { encoding: "utf8" })
  return Number(r.stderr.trim().split("\n").pop()) * 1024
}

const fit = (xs: ReadonlyArray<number>, ys: ReadonlyArray<number>) => {
  const n = xs.length
  const mx = xs.reduce((a, b) => a + b, 0) / n
  const my = ys.reduce((a, b) => a + b, 0) / n
  const b = xs.reduce((s, x, i) => s + (x - mx) * (ys[i]! - my), 0) / xs.reduce((s, x) => s + (x - mx) ** 2, 0)
  return { a: my - b * mx, b }
}

const rows: Array<{ n: number; voxels: number; reg: number; regTime: number; regWall: number; warpVoxels: number; warp: number; warpTime: number; warpWall: number }> = []
for (const n of sizes) {
  const at = (f: string) => nodePath.join(dir, `${n}-${f}`)
  const still = phantom(n, { angleDeg: 0, shift: [0, 0, 0] })
  const moved = phantom(n, { angleDeg: 10, shift: [1, 2, -2] })
  await writeVolume(at("fixed.nii.gz"), n, still.image)
  await writeVolume(at("moving.nii.gz"), n, moved.image)
  await writeVolume(at("moving-labels.nii.gz"), n, moved.labels)
  const t0 = performance.now()
  const reg = await Effect.runPromise(
    Effect.flatMap(registerSetUp({ kind: "register", fixed: at("fixed.nii.gz"), moving: at("moving.nii.gz"), params, output: at("reg") }, `reg-${n}`), (s) => s.run)
  )
  const regWall = performance.now() - t0
  const t1 = performance.now()
  const warp = await Effect.runPromise(
    Effect.flatMap(
      warpSetUp({ kind: "warp", transform: at("reg"), input: at("moving-labels.nii.gz"), output: at("warped.nii.gz"), interpolation: "nearest" }, `warp-${n}`),
      (s) => s.run
    )
  )
  const warpWall = performance.now() - t1
  const regTime = gnuTime(["elastix", "-f", at("fixed.nii.gz"), "-m", at("moving.nii.gz"), ...paramFiles(params).flatMap((p) => ["-p", p]), "-out", fs.mkdtempSync(at("t")), "-threads", "1"])
  const tp = nodePath.join(at("reg"), "TransformParameters.0.txt")
  const warpTime = gnuTime(["transformix", "-in", at("moving-labels.nii.gz"), "-out", fs.mkdtempSync(at("w")), "-tp", tp, "-threads", "1"])
  rows.push({ n, voxels: 2 * n ** 3, reg: reg.peakRssBytes, regTime, regWall, warpVoxels: 2 * n ** 3, warp: warp.peakRssBytes, warpTime, warpWall })
}

const mib = (b: number) => (b / MiB).toFixed(1)
console.log(`elastix ${params} (1 thread) and transformix nearest, ${new Date().toISOString()}, ${os.cpus().length} CPUs`)
console.log("| size | voxels (both images) | elastix peak RSS (sampler / GNU time) | elastix wall | transformix peak RSS (sampler / GNU time) | transformix wall |")
console.log("| --- | --- | --- | --- | --- | --- |")
for (const r of rows) {
  console.log(`| ${r.n}³ | ${r.voxels} | ${mib(r.reg)} / ${mib(r.regTime)} MiB | ${(r.regWall / 1000).toFixed(2)} s | ${mib(r.warp)} / ${mib(r.warpTime)} MiB | ${(r.warpWall / 1000).toFixed(2)} s |`)
}
const reg = fit(rows.map((r) => r.voxels), rows.map((r) => Math.max(r.reg, r.regTime)))
const warp = fit(rows.map((r) => r.warpVoxels), rows.map((r) => Math.max(r.warp, r.warpTime)))
console.log(`fit (larger of the two measures): elastix ${mib(reg.a)} MiB + ${reg.b.toFixed(1)} B/voxel; transformix ${mib(warp.a)} MiB + ${warp.b.toFixed(1)} B/voxel`)
fs.rmSync(dir, { recursive: true, force: true })
