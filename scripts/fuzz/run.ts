/**
 * The fuzz command (issue 22, part 3): every parser fed mutated valid files (and extreme header
 * fields), each case opened with `openSource` and read slice by slice in a worker with a time
 * limit and an allocation guard; prints a summary per format and every distinct finding.
 *
 *   nice -n 10 npx tsx scripts/fuzz/run.ts [--format tiff|nrrd|nifti|zarr|dicom|all] [--cases 10000] [--seed 22]
 *     [--timeout 5000] [--no-shrink]
 *
 * Exit status 1 when any format had a finding.
 */
import * as os from "node:os"
import { FORMATS, fuzzFormat, type FormatName, type Summary } from "./fuzz.js"

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback
}

const format = arg("format", "all")
const cases = Number(arg("cases", "10000"))
const seed = Number(arg("seed", "22"))
const timeoutMs = Number(arg("timeout", "5000"))
const shrink = !process.argv.includes("--no-shrink")
const formats = (format === "all" ? Object.keys(FORMATS) : format.split(",")) as Array<FormatName>
for (const f of formats) if (!(f in FORMATS)) throw new Error(`unknown format ${f}; use ${Object.keys(FORMATS).join("|")}|all`)

console.log(`fuzz: ${formats.join(", ")}; ${cases} cases each; seed ${seed}; ${os.cpus().length} × ${os.cpus()[0]?.model}; node ${process.version}`)
const summaries: Array<Summary> = []
for (const f of formats) {
  const s = await fuzzFormat(f, {
    cases,
    seed,
    timeoutMs,
    shrink,
    onProgress: (n) => {
      if (n % 500 === 0) process.stderr.write(`${f}: ${n}\n`)
    }
  })
  summaries.push(s)
  const typed = Object.entries(s.typed).map(([t, n]) => `${t} ${n}`).join(", ")
  console.log(`\n${f}: ${s.cases} cases in ${s.seconds.toFixed(0)} s; ok ${s.ok} (+${s.okUnread} valid but too large to read whole); typed: ${typed}; findings ${s.findings.length} distinct, ${s.findings.reduce((a, x) => a + x.count, 0)} cases; peak arrayBuffers ${s.peakArrayBuffersMiB.toFixed(1)} MiB`)
  for (const x of s.findings) console.log(`  [${x.finding} ×${x.count}] ${x.message}\n    seed ${x.seed}; mutations ${JSON.stringify(x.mutations).slice(0, 600)}`)
  if (s.shrunk) console.log(`  shrunk: [${s.shrunk.finding}] ${s.shrunk.message}\n    seed ${s.shrunk.seed}; ${JSON.stringify(s.shrunk.mutations).slice(0, 600)}\n    files: ${s.shrunk.saved}`)
}
console.log("\n| format | cases | ok | typed errors | findings | seconds |\n| --- | --- | --- | --- | --- | --- |")
for (const s of summaries)
  console.log(`| ${s.format} | ${s.cases} | ${s.ok + s.okUnread} | ${Object.entries(s.typed).map(([t, n]) => `${t} ${n}`).join(", ")} | ${s.findings.reduce((a, x) => a + x.count, 0)} (${s.findings.length} distinct) | ${s.seconds.toFixed(0)} |`)
process.exit(summaries.some((s) => s.findings.length > 0) ? 1 : 0)
