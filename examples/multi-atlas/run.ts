/**
 * Multi-atlas segmentation of the synthetic subjects of make-subjects.ts: fuses the atlases' AAL
 * labels for each target with majority voting, locally weighted voting and joint label fusion
 * through the streaming runner (the same FuseJob and set-up as `slicewise fuse` and `slicewise
 * batch`), and prints the mean Dice over the AAL labels of every single atlas and of each fusion,
 * with each fusion's time and buffers.
 *
 *   npx tsx examples/multi-atlas/run.ts [--data DIR] [--radius 2] [--methods majority,weighted,joint] [--mode fused|unfused]
 */
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { dice, openSource, Run } from "slicewise"
import type { DiceResult, IntegerDType, Program, SliceSource } from "slicewise"
import { fuseSetUp, type FuseJob } from "slicewise/jobs"

const args = process.argv.slice(2)
const option = (name: string, fallback: string): string => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 && i + 1 < args.length ? args[i + 1]! : fallback
}
const data = path.resolve(option("data", "multi-atlas-data"))
const radius = Number(option("radius", "2"))
const methods = option("methods", "majority,weighted,joint").split(",") as Array<FuseJob["method"]>
const mode = option("mode", "fused") as "fused" | "unfused"

/** Mean Dice (and per label) of two label maps, streamed. */
const overlap = (a: string, b: string) =>
  Effect.gen(function* () {
    const sa = (yield* openSource(a)) as SliceSource<IntegerDType>
    const sb = (yield* openSource(b)) as SliceSource<IntegerDType>
    const program: Program = (alg) => ({ d: dice(alg, alg.source(sa), alg.source(sb)) })
    return (yield* Run.run(program)).scalars.d as DiceResult
  })

const row = (cells: ReadonlyArray<string>) => `| ${cells.join(" | ")} |`

/** Bytes in MiB, as the table shows them. */
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`

const main = Effect.gen(function* () {
  const files = fs.readdirSync(data)
  const atlasCount = files.filter((f) => /^atlas-\d+\.nii\.gz$/.test(f)).length
  const targetCount = files.filter((f) => /^target-\d+\.nii\.gz$/.test(f)).length
  if (atlasCount === 0 || targetCount === 0) throw new Error(`${data}: no atlas-<i>.nii.gz / target-<k>.nii.gz (run make-subjects.ts first)`)
  const atlases = Array.from({ length: atlasCount }, (_, i) => ({
    image: path.join(data, `atlas-${i + 1}.nii.gz`),
    labels: path.join(data, `atlas-${i + 1}-aal.nii.gz`)
  }))
  const lines: Array<string> = [row(["target", "segmentation", "mean Dice", "time", "peak buffers (measured)"]), row(["---", "---", "---:", "---:", "---:"])]
  for (let k = 1; k <= targetCount; k++) {
    const truth = path.join(data, `target-${k}-aal.nii.gz`)
    let bestSingle = 0
    for (const [i, a] of atlases.entries()) {
      const d = yield* overlap(a.labels, truth)
      bestSingle = Math.max(bestSingle, d.mean)
      lines.push(row([`${k}`, `atlas ${i + 1} alone`, d.mean.toFixed(4), "", ""]))
      console.error(`target ${k}: atlas ${i + 1} alone: mean Dice ${d.mean.toFixed(4)}`)
    }
    for (const method of methods) {
      const output = path.join(data, `target-${k}-${method}.nii.gz`)
      const job: FuseJob = { kind: "fuse", target: path.join(data, `target-${k}.nii.gz`), atlases, method, output, ...(method === "majority" ? {} : { radius }) }
      const { program } = yield* fuseSetUp(job)
      const started = performance.now()
      const result = yield* Run.run(program, { mode, ...(mode === "unfused" ? { rewrites: [] } : {}) })
      const seconds = (performance.now() - started) / 1000
      const d = yield* overlap(output, truth)
      const verdict = d.mean > bestSingle ? "beats" : "does NOT beat"
      console.error(`target ${k}: ${method}: mean Dice ${d.mean.toFixed(4)} (${verdict} the best single atlas, ${bestSingle.toFixed(4)}), ${seconds.toFixed(1)} s, peak buffers ${mib(result.peakBufferBytes)}`)
      lines.push(row([`${k}`, `${method} (${atlasCount} atlases)`, d.mean.toFixed(4), `${seconds.toFixed(1)} s`, mib(result.peakBufferBytes)]))
    }
  }
  console.log(lines.join("\n"))
})

Effect.runPromise(main).catch((e) => {
  console.error(e instanceof Error ? e.message : String(e))
  process.exitCode = 1
})
