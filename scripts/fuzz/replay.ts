/**
 * Replays one fuzz case in this process (no worker, no time limit): rebuilds its files from the
 * seed and mutations printed by run.ts, saves them under --out (default a temporary directory)
 * and prints the outcome and the time it took. For debugging a finding:
 *
 *   npx tsx scripts/fuzz/replay.ts --format tiff --seed compressed/lzw_uint8.tif --mutations '[{"op":"flip",…}]' [--out dir]
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as nodePath from "node:path"
import { installGuard } from "./guard.js"
import { applyCase } from "./mutate.js"
import type { Mutation } from "./types.js"

const arg = (name: string) => {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? process.argv[i + 1] : undefined
}

installGuard(64 * 2 ** 20)
const { FORMATS } = await import("./fuzz.js")
const { execute } = await import("./execute.js")
const seeds = FORMATS[arg("format") as keyof typeof FORMATS]()
const seed = seeds.findIndex((s) => s.name === arg("seed"))
if (seed < 0) throw new Error(`no seed ${arg("seed")}; seeds: ${seeds.map((s) => s.name).join(", ")}`)
const job = applyCase(seeds[seed]!, { seed, mutations: JSON.parse(arg("mutations") ?? "[]") as Array<Mutation> })
const out = arg("out") ?? fs.mkdtempSync(nodePath.join(os.tmpdir(), "slicewise-replay-"))
for (const [rel, bytes] of job.files) {
  fs.mkdirSync(nodePath.dirname(nodePath.join(out, "files", rel)), { recursive: true })
  fs.writeFileSync(nodePath.join(out, "files", rel), bytes)
}
const t0 = performance.now()
const outcome = await execute(job, nodePath.join(out, "run"))
console.log(JSON.stringify(outcome), `${((performance.now() - t0) / 1000).toFixed(2)} s; files in ${nodePath.join(out, "files")}`)
