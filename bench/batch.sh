#!/usr/bin/env bash
# A batch under a memory budget, measured from outside: runs `slicewise batch` under GNU time,
# writes its profile and the HTML report, and prints peak RSS against the budget, the most jobs
# that ran at once and the largest sum of their predicted peaks (from the scheduler's log).
#
#   bash bench/batch.sh [JOBS.json MEMORY [CONCURRENCY]]
#
# Without arguments: 12 run jobs (gaussian:sigma=2 → median:radius=1, 64×1024×1024 uint16 NRRD in,
# multi-page TIFF out, 60 MiB predicted each) over three volumes it makes under /tmp/slicewise-batch,
# under --memory 300MiB, which fits three of them at once, and --concurrency 4, so that memory and not
# the job count is what holds the fourth back. Outputs, profile and report go next to the
# jobs file. Needs the built CLI (npm run build) and GNU time (apt-get install time).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -ge 2 ]; then
  jobs="$(realpath "$1")"
  memory="$2"
  concurrency="${3:-}"
else
  dir=/tmp/slicewise-batch
  mkdir -p "$dir/out"
  for seed in 1 2 3; do
    [ -f "$dir/in-$seed.nrrd" ] || npx tsx bench/make-volume.ts "$dir/in-$seed.nrrd" --shape 64,1024,1024 --dtype uint16 --kind structured --seed "$seed"
  done
  jobs="$dir/jobs.json"
  node bench/batch/make-jobs.mjs "$jobs" 12 "$dir/out" tif "$dir/in-1.nrrd,$dir/in-2.nrrd,$dir/in-3.nrrd" gaussian:sigma=2 median:radius=1
  memory=300MiB
  concurrency=4
fi
base="${jobs%.json}"
args=(batch "$jobs" --memory "$memory" --profile "$base.profile.json" --json)
[ -n "$concurrency" ] && args+=(--concurrency "$concurrency")
set +e
/usr/bin/time -v -o "$base.time" bin/slicewise.js "${args[@]}" > "$base.result.json" 2> "$base.log"
code=$?
set -e
bin/slicewise.js report "$base.profile.json" --out "$base.report.html" > /dev/null
node - "$base.result.json" "$base.time" "$code" "$base.log" "$base.report.html" <<'JS'
const fs = require("fs")
const [resultFile, timeFile, code, log, report] = process.argv.slice(2)
const r = JSON.parse(fs.readFileSync(resultFile, "utf8"))
const t = fs.readFileSync(timeFile, "utf8")
const rss = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(t)[1]) * 1024
const wall = /Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (.*)/.exec(t)[1].split(":").reduce((a, x) => a * 60 + Number(x), 0)
const cpu = Number(/User time \(seconds\): ([\d.]+)/.exec(t)[1]) + Number(/System time \(seconds\): ([\d.]+)/.exec(t)[1])
const mib = (b) => `${(b / 2 ** 20).toFixed(1)} MiB`
const counts = {}
for (const j of r.jobs) counts[j.status] = (counts[j.status] ?? 0) + 1
const predicted = r.jobs.filter((j) => j.status !== "refused").map((j) => j.predictedPeakBytes)
console.log(`jobs: ${r.jobs.length} (${Object.entries(counts).map(([k, v]) => `${v} ${k}`).join(", ")}), exit ${code}`)
console.log(`budget ${mib(r.memoryBytes)} = baseline RSS ${mib(r.baselineRssBytes)} + headroom ${mib(r.headroomBytes)} + ${mib(r.jobBudgetBytes)} for jobs (${mib(r.overheadBytesPerJob)} per job on top of its buffers)`)
console.log(`predicted peak per job: ${mib(Math.min(...predicted))} … ${mib(Math.max(...predicted))}; concurrency ${r.concurrency}`)
console.log(`most jobs at once: ${Math.max(...r.events.map((e) => e.running))}; largest sum of predicted peaks: ${mib(Math.max(...r.events.map((e) => e.runningPredictedBytes)))}`)
console.log(`peak RSS (GNU time): ${mib(rss)}  = budget ${rss > r.memoryBytes ? `+ ${mib(rss - r.memoryBytes)}  OVER BUDGET` : `− ${mib(r.memoryBytes - rss)}`}`)
console.log(`wall ${wall.toFixed(1)} s, CPU ${cpu.toFixed(1)} s; sum of job walls ${(r.jobs.reduce((a, j) => a + (j.wallMs ?? 0), 0) / 1000).toFixed(1)} s`)
console.log(`log: ${log}\nreport: ${report}`)
JS
