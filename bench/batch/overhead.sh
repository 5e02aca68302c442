#!/usr/bin/env bash
# The overhead model of `slicewise batch` (src/jobs/memory.ts): K identical jobs all running at
# once (--concurrency K, a budget that never holds any back), for K = 1 2 3 4 6. For each K it
# prints the baseline RSS the batch measured before starting, the sum of the jobs' planned
# buffers, the peak RSS from outside (GNU time) and what is left: peak − baseline − Σ buffers,
# in total and per job.
#
#   [EXT=nrrd|tif|nii] bash bench/batch/overhead.sh [DIR] [STEP…]   (default: /tmp/slicewise-overhead, uniform:size=9; EXT: the outputs' format)
#
# Needs the built CLI (npm run build) and GNU time.
set -euo pipefail
cd "$(dirname "$0")/../.."
dir="${1:-/tmp/slicewise-overhead}"
shift || true
steps=("$@")
[ ${#steps[@]} -eq 0 ] && steps=(uniform:size=9)
mkdir -p "$dir/out"
ext="${EXT:-nrrd}"
[ -f "$dir/in.nrrd" ] || npx tsx bench/make-volume.ts "$dir/in.nrrd" --shape 64,1024,1024 --dtype uint16
printf '%3s  %12s  %12s  %12s  %12s  %12s\n' K "baseline MiB" "buffers MiB" "peak RSS MiB" "extra MiB" "extra/K MiB"
for k in 1 2 3 4 6; do
  node bench/batch/make-jobs.mjs "$dir/jobs-$k.json" "$k" "$dir/out" "$ext" "$dir/in.nrrd" "${steps[@]}"
  /usr/bin/time -v -o "$dir/$k.time" bin/slicewise.js batch "$dir/jobs-$k.json" --memory 16GiB --concurrency "$k" --json > "$dir/$k.json" 2> "$dir/$k.log"
  node - "$dir/$k.json" "$dir/$k.time" "$k" <<'JS'
const fs = require("fs")
const [json, time, k] = process.argv.slice(2)
const r = JSON.parse(fs.readFileSync(json, "utf8"))
const rss = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(fs.readFileSync(time, "utf8"))[1]) * 1024
const buffers = r.jobs.reduce((a, j) => a + j.plannedBufferBytes, 0)
const mib = (b) => (b / 2 ** 20).toFixed(1)
const extra = rss - r.baselineRssBytes - buffers
console.log([k.padStart(3), mib(r.baselineRssBytes).padStart(12), mib(buffers).padStart(12), mib(rss).padStart(12), mib(extra).padStart(12), mib(extra / k).padStart(12)].join("  "))
JS
done
