/**
 * Connected components of a thresholded 512³ phantom, streamed: phantom (uint8, made slice by slice)
 * → v ≥ 100 (balls; `--threshold`) → label, connectivity 26 → NRRD (uint32, 512 MiB) in /tmp. Prints the plan's passes,
 * wall time, voxels/s, the number of components, buffer bytes and peak RSS.
 *
 *   npx tsx bench/label-512.ts                       # 512×512×512, connectivity 26
 *   npx tsx bench/label-512.ts --shape 256x512x512 --connectivity 6 --out /tmp/labels.nrrd
 *   npx tsx bench/label-512.ts --python             # also time scipy.ndimage.label on the same mask
 *   npx tsx bench/label-512.ts --threshold 25       # noisy: a quarter of the background too (stress)
 *
 * `--python` writes the mask to /tmp as raw bytes and runs /usr/bin/python3 with scipy.ndimage.label
 * over it (in memory), comparing the labels voxel for voxel.
 */
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as Effect from "effect/Effect"
import type { Algebra, Repr } from "../src/algebra/algebra.js"
import * as E from "../src/algebra/expr.js"
import { voxelCount, type Shape } from "../src/algebra/volume.js"
import * as Run from "../src/interpreters/run/index.js"
import { arraySink } from "../src/io/memory.js"
import { nrrdSink } from "../src/io/nrrd.js"
import { phantomSource } from "../src/io/phantom.js"
import { labelCount, labelTable, provisionalLabels, type Connectivity } from "../src/ops/label.js"

const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1]! : fallback
}

const shape = arg("shape", "512x512x512").split("x").map(Number) as unknown as Shape
const connectivity = Number(arg("connectivity", "26")) as Connectivity
const out = arg("out", path.join(os.tmpdir(), `slicewise-label-${shape.join("x")}.nrrd`))
const python = process.argv.includes("--python")
const threshold = Number(arg("threshold", "100"))

const phantom = phantomSource({ shape })
const sink = nrrdSink(out)

// label(alg, mask, { connectivity }), spelled out to also report the size of the equivalence table.
const program = <F extends Repr>(alg: Algebra<F>) => {
  const mask = alg.map(alg.source(phantom), (x) => E.ge(x, threshold), { dtype: "uint8", name: "threshold" })
  const table = alg.reduce(mask, labelTable(connectivity))
  const provisional = alg.sweep(mask, provisionalLabels(connectivity), "forward")
  const labels = alg.map(provisional, (x) => alg.lookup(table, x), { dtype: "uint32", name: "label-final" })
  return {
    labels: alg.write(labels, sink),
    count: alg.derive(table, labelCount, "label-count"),
    provisional: alg.derive(table, (t) => t.length - 1, "provisional-labels")
  }
}

const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`

const main = Effect.gen(function* () {
  const started = performance.now()
  const result = yield* Run.run(program)
  const wall = (performance.now() - started) / 1000
  const voxels = voxelCount(phantom.info)
  console.log(`label connectivity ${connectivity} of phantom ${shape.join("×")} ≥ ${threshold} → ${out}`)
  for (const p of result.passes) console.log(`  pass ${p.index} (${p.direction}): ${(p.wallMs / 1000).toFixed(2)} s, buffers ${p.peakBufferBytes} bytes`)
  for (const s of result.stages) {
    if (s.cpuMs > 50) console.log(`    ${s.pass}:${s.label.padEnd(22)} cpu ${(s.cpuMs / 1000).toFixed(2)} s`)
  }
  const provisional = result.scalars.provisional as number
  console.log(`components: ${result.scalars.count}; provisional labels: ${provisional} (equivalence table ${4 * (provisional + 1)} bytes; the union-find up to twice that)`)
  console.log(`wall: ${wall.toFixed(2)} s, ${(voxels / wall / 1e6).toFixed(1)} Mvoxels/s (${(voxels / 1e6).toFixed(0)} Mvoxels, read twice)`)
  console.log(`pipeline buffers: ${result.peakBufferBytes} bytes (${mib(result.peakBufferBytes)})`)
  console.log(`peak RSS: ${mib(process.resourceUsage().maxRSS * 1024)}`)

  if (python) {
    // The same mask for scipy: computed again from the phantom, written raw.
    const maskFile = path.join(os.tmpdir(), `slicewise-label-mask-${shape.join("x")}.u8`)
    const maskSink = arraySink("mask")
    yield* Run.run((alg) => ({ mask: alg.write(alg.map(alg.source(phantom), (x) => E.ge(x, threshold), { dtype: "uint8" }), maskSink) }))
    fs.writeFileSync(maskFile, maskSink.result() as Uint8Array)
    const script = `
import sys, time, resource, numpy as np, scipy.ndimage as ndi
shape = tuple(int(s) for s in sys.argv[1].split("x"))
rank = {6: 1, 18: 2, 26: 3}[int(sys.argv[2])]
mask = np.fromfile(sys.argv[3], np.uint8).reshape(shape)
t = time.perf_counter()
labels, n = ndi.label(mask, ndi.generate_binary_structure(3, rank))
dt = time.perf_counter() - t
ours = np.memmap(sys.argv[4], np.uint32, "r", offset=int(sys.argv[5]), shape=shape)
print("scipy.ndimage.label: %.2f s (%.1f Mvoxels/s), %d components, peak RSS %.1f MiB, voxels differing from slicewise: %d"
      % (dt, mask.size / dt / 1e6, n, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, int(np.count_nonzero(labels != ours))))
`
    const size = fs.statSync(out).size
    const headerBytes = size - voxels * 4
    const text = execFileSync("/usr/bin/python3", ["-c", script, shape.join("x"), String(connectivity), maskFile, out, String(headerBytes)], {
      encoding: "utf8"
    })
    process.stdout.write(text)
    fs.rmSync(maskFile)
  }
})

Effect.runPromise(main).catch((e) => {
  console.error(String(e))
  process.exitCode = 1
})
