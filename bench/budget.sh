#!/usr/bin/env bash
# Memory budgets on a volume larger than they allow: a 512×1024×1024 uint16 TIFF stack (1 GiB)
# through gaussian:sigma=2 → median:radius=1, with no budget and with each budget given, and a tiny
# run for the runtime's own footprint. Prints, per run, the planned bands and passes, predicted
# against measured bytes and buffers, peak RSS (GNU time, from outside) and wall time.
#
#   bash bench/budget.sh [DIR] [BUDGET…]        (default: /tmp/slicewise-budget, budgets 160MiB 112MiB 96MiB)
#   FLAG=--buffers bash bench/budget.sh DIR 64MiB 16MiB 4MiB
#
# Budgets are for --memory, the process's peak RSS ("RSS − budget" is then at most 0); with
# FLAG=--buffers they cap the plan's buffers alone.
#
# Needs the built CLI (npm ci builds it; or npm run build) and GNU time (apt-get install time). It runs
# bin/slicewise.js itself, as `slicewise` does: its shebang sets the node flags the memory figures rely on.
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${1:-/tmp/slicewise-budget}"
shift || true
budgets=("$@")
[ ${#budgets[@]} -eq 0 ] && budgets=(160MiB 112MiB 96MiB)
flag="${FLAG:---memory}"
steps=(gaussian:sigma=2 median:radius=1)
mkdir -p "$dir"
[ -d "$dir/in" ] || npx tsx bench/make-volume.ts "$dir/in" --shape 512,1024,1024 --dtype uint16
[ -d "$dir/tiny" ] || npx tsx bench/make-volume.ts "$dir/tiny" --shape 4,16,16 --dtype uint16

run() { # name input memory-args…
  local name=$1 input=$2
  shift 2
  rm -rf "$dir/out-$name"
  /usr/bin/time -v -o "$dir/$name.time" bin/slicewise.js run "$input" "$dir/out-$name" "${steps[@]}" --json "$@" > "$dir/$name.json"
}

run runtime "$dir/tiny"
run none "$dir/in"
for b in "${budgets[@]}"; do run "$b" "$dir/in" "$flag" "$b"; done

node - "$dir" runtime none "${budgets[@]}" <<'JS'
const fs = require("fs")
const [dir, ...names] = process.argv.slice(2)
const mib = (b) => (b / 2 ** 20).toFixed(1)
const rows = [["budget", "passes × bands", "read pred/meas MiB", "written pred/meas MiB", "buffers plan/meas MiB", "RSS MiB", "RSS − budget", "wall s", "estimated s"]]
for (const name of names) {
  const j = JSON.parse(fs.readFileSync(`${dir}/${name}.json`, "utf8"))
  const t = fs.readFileSync(`${dir}/${name}.time`, "utf8")
  const rss = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(t)[1]) * 1024
  const wall = /Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (.*)/.exec(t)[1].split(":").reduce((a, x) => a * 60 + Number(x), 0)
  const limit = { KiB: 2 ** 10, MiB: 2 ** 20, GiB: 2 ** 30 }
  const m = /^(\d+(?:\.\d+)?)(KiB|MiB|GiB)$/.exec(name)
  const bytes = m ? Number(m[1]) * limit[m[2]] : undefined
  rows.push([
    name === "runtime" ? "(4×16×16 run: the runtime)" : name,
    j.plan.passes.map((p) => (p.bands ? p.bands.rows.length : 1)).join(" + "),
    `${mib(j.predicted.bytesRead)} / ${mib(j.metrics.bytesRead)}`,
    `${mib(j.predicted.bytesWritten)} / ${mib(j.metrics.bytesWritten)}`,
    `${mib(j.plan.peakBufferBytes)} / ${mib(j.metrics.peakBufferBytes)}`,
    mib(rss),
    bytes === undefined ? "" : mib(rss - bytes),
    wall.toFixed(1),
    j.predicted.estimatedSeconds.toFixed(1)
  ])
}
const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)))
for (const r of rows) console.log(r.map((c, i) => c.padStart(widths[i])).join("  "))
JS
