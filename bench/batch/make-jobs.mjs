// Writes a jobs file for `slicewise batch`: COUNT run jobs over the given inputs in turn, each
// writing OUTDIR/job-NN.EXT, all with the same steps.
//
//   node bench/batch/make-jobs.mjs <jobs.json> <count> <outdir> <ext> <input>[,<input>…] <step>…
import * as fs from "node:fs"
import * as path from "node:path"

const [file, count, outdir, ext, inputs, ...steps] = process.argv.slice(2)
if (file === undefined || steps.length === 0) {
  console.error("usage: make-jobs.mjs <jobs.json> <count> <outdir> <ext> <input>[,<input>…] <step>…")
  process.exit(2)
}
const sources = inputs.split(",")
const jobs = Array.from({ length: Number(count) }, (_, i) => ({
  kind: "run",
  name: `job-${String(i + 1).padStart(2, "0")}`,
  input: path.resolve(sources[i % sources.length]),
  output: path.resolve(outdir, `job-${String(i + 1).padStart(2, "0")}.${ext}`),
  steps
}))
fs.writeFileSync(file, `${JSON.stringify({ jobs }, null, 2)}\n`)
