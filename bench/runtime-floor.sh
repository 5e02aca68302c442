#!/usr/bin/env bash
# What a run's peak RSS is made of: bare Node, the CLI loaded (`--version`), a copy through the
# library alone (bench/runtime-floor/copy.ts, bundled like the CLI) and the same copy through the
# CLI; then the same copy without V8's optimising compilers (--no-opt: what the JIT costs) and,
# where the environment sets NODE_EXTRA_CA_CERTS (Node then loads those certificates at start),
# bare Node and the copy without it; last, the copy with each of the shebang's memory settings left
# out in turn, with a bundle that is not minified, and with two settings tried and not kept (one
# malloc arena; a full collection every 20 ms); then what single Node modules cost a bare process.
# The Node flags and allocator settings of bin/slicewise.js's shebang otherwise, for every row;
# stdin is /dev/null; peak RSS and wall from GNU time, median of REPEAT runs.
#
#   bash bench/runtime-floor.sh INPUT [REPEAT]     e.g. bash bench/runtime-floor.sh /tmp/slicewise-matrix/in/structured-uint8-512
#   NODE=/path/to/node bash bench/runtime-floor.sh INPUT      another Node than the one on PATH
#
# Needs the built CLI (npm run build) and GNU time. Writes its outputs under a temporary directory.
set -euo pipefail
cd "$(dirname "$0")/.."
input=$1
repeat=${2:-3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
node -e '
  const { build } = require("esbuild")
  build({
    entryPoints: ["bench/runtime-floor/copy.ts"], bundle: true, platform: "node", format: "esm", target: "node20",
    splitting: true, minify: true, outdir: process.argv[1], outExtension: { ".js": ".mjs" }, chunkNames: "[name]-[hash]",
    define: { SLICEWISE_WORKER_BUNDLE: JSON.stringify("slicewise-worker.mjs") }, logLevel: "warning",
    banner: { js: "import { createRequire as __r } from \"node:module\"; const require = __r(import.meta.url);" }
  }).catch(() => process.exit(1))
' "$work/bundle"
node scripts/bundle.mjs --out "$work/unminified" --no-minify
# The shebang's settings (NAME=VALUE words before `node`) and Node flags (the words after it).
read -r -a shebang <<< "$(head -1 bin/slicewise.js | sed -E 's|^#!/usr/bin/env( -S)? ||')"
settings=() flags=()
for word in "${shebang[@]}"; do
  if [ ${#flags[@]} -gt 0 ] || [ "$word" = node ]; then flags+=("$word"); else settings+=("$word"); fi
done
flags=("${flags[@]:1}")
export "${settings[@]}"

# Median wall (s) and peak RSS (MiB) of `repeat` runs of the command.
measure() {
  local walls=() rss=()
  for _ in $(seq "$repeat"); do
    rm -rf "$work/out"
    /usr/bin/time -f "%e %M" -o "$work/t" "$@" > /dev/null < /dev/null
    read -r w r < "$work/t"
    walls+=("$w") rss+=("$r")
  done
  printf "%s %s\n" "$(printf "%s\n" "${walls[@]}" | sort -n | sed -n "$(((repeat + 1) / 2))p")" \
    "$(printf "%s\n" "${rss[@]}" | sort -n | sed -n "$(((repeat + 1) / 2))p")"
}
row() {
  local name=$1
  shift
  read -r w r <<< "$(measure "$@")"
  printf "%-44s %6.2f s %8.1f MiB\n" "$name" "$w" "$(echo "scale=1; $r / 1024" | bc)"
}
node=${NODE:-node}
echo "median of $repeat, $(nproc) cores, node $("$node" --version), ${settings[*]} node ${flags[*]}, input $input"
row 'node -e ""' "$node" "${flags[@]}" -e ""
row "slicewise --version" "$node" "${flags[@]}" dist/bundle/slicewise.mjs --version
row "copy through the library (no CLI), 1 thread" "$node" "${flags[@]}" "$work/bundle/copy.mjs" "$input" "$work/out"
row "slicewise run IN OUT copy" "$node" "${flags[@]}" dist/bundle/slicewise.mjs run "$input" "$work/out" copy
row "the same, node --no-opt" "$node" "${flags[@]}" --no-opt dist/bundle/slicewise.mjs run "$input" "$work/out" copy
# The copy with one Node flag left out.
without() {
  local left=()
  for f in "${flags[@]}"; do [ "$f" = "$1" ] || left+=("$f"); done
  row "copy without $1" "$node" "${left[@]}" dist/bundle/slicewise.mjs run "$input" "$work/out" copy
}
without --no-sparkplug
without --optimize-for-size
without --expose-gc
row "copy, bundle not minified" "$node" "${flags[@]}" "$work/unminified/slicewise.mjs" run "$input" "$work/out" copy
row "copy with MALLOC_ARENA_MAX=1" env MALLOC_ARENA_MAX=1 "$node" "${flags[@]}" dist/bundle/slicewise.mjs run "$input" "$work/out" copy
echo 'setInterval(() => globalThis.gc(), 20).unref()' > "$work/gc-every-20ms.mjs"
row "copy with a collection every 20 ms" "$node" "${flags[@]}" --import "$work/gc-every-20ms.mjs" dist/bundle/slicewise.mjs run "$input" "$work/out" copy
# Bare Node loading one thing: an ES module (Node's ES module loader), stdin, built-in modules.
touch "$work/empty.mjs" "$work/empty.cjs"
row "node empty.cjs" "$node" "${flags[@]}" "$work/empty.cjs"
row "node empty.mjs" "$node" "${flags[@]}" "$work/empty.mjs"
row 'node -e "process.stdin"' "$node" "${flags[@]}" -e "process.stdin"
for m in readline fs/promises crypto worker_threads; do
  row "node -e \"require('node:$m')\"" "$node" "${flags[@]}" -e "require('node:$m')"
done
if [ -n "${NODE_EXTRA_CA_CERTS:-}" ]; then
  row 'node -e "", no NODE_EXTRA_CA_CERTS' env -u NODE_EXTRA_CA_CERTS "$node" "${flags[@]}" -e ""
  row "copy, no NODE_EXTRA_CA_CERTS" env -u NODE_EXTRA_CA_CERTS "$node" "${flags[@]}" dist/bundle/slicewise.mjs run "$input" "$work/out" copy
fi
