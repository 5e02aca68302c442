#!/usr/bin/env bash
# The built CLI of an earlier commit against the working tree's, on the same input and steps, runs
# interleaved (before, after, before, …) so that load from elsewhere hits both alike. Prints, per
# step chain, the fastest wall and user CPU of each side, the median peak RSS, and their ratios
# (after / before).
#
#   bash bench/before-after.sh REV INPUT [REPEAT] -- STEPS… [-- STEPS…]
#   bash bench/before-after.sh 2596016 /tmp/in-512/ 3 -- gaussian:sigma=2 -- uniform:size=7
#
# Builds REV once under /tmp/slicewise-rev-REV (git archive + npm run build, reusing node_modules).
# Needs GNU time (apt-get install time) and a current build of this tree (npm run build).
set -euo pipefail
cd "$(dirname "$0")/.."
rev=$1 input=$2
shift 2
repeat=3
if [ "${1:-}" != "--" ]; then repeat=$1; shift; fi
[ "${1:-}" = "--" ] || { echo "usage: before-after.sh REV INPUT [REPEAT] -- STEPS… [-- STEPS…]" >&2; exit 2; }

old="/tmp/slicewise-rev-$rev"
if [ ! -f "$old/dist/slicewise.mjs" ] && [ ! -f "$old/dist/bundle/slicewise.mjs" ]; then
  rm -rf "$old" && mkdir -p "$old"
  git archive "$rev" | tar -x -C "$old"
  ln -s "$PWD/node_modules" "$old/node_modules"
  (cd "$old" && npm run build > /dev/null)
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# The median of the numbers given as arguments.
median() { printf "%s\n" "$@" | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# One chain: fastest wall and user seconds, median peak RSS, of each CLI over `repeat` interleaved runs.
measure() {
  local -a steps=("$@")
  local best_b_wall=999999 best_b_user=999999 best_a_wall=999999 best_a_user=999999
  local -a rss_b=() rss_a=()
  for _ in $(seq "$repeat"); do
    for side in before after; do
      local cli=bin/slicewise.js
      [ "$side" = before ] && cli="$old/bin/slicewise.js"
      rm -rf "$out/o"
      /usr/bin/time -f "%e %U %M" -o "$out/t" "$cli" run "$input" "$out/o/" "${steps[@]}" > /dev/null
      read -r wall user rss < "$out/t"
      if [ "$side" = before ]; then
        rss_b+=("$rss")
        best_b_wall=$(echo "if ($wall < $best_b_wall) $wall else $best_b_wall" | bc)
        best_b_user=$(echo "if ($user < $best_b_user) $user else $best_b_user" | bc)
      else
        rss_a+=("$rss")
        best_a_wall=$(echo "if ($wall < $best_a_wall) $wall else $best_a_wall" | bc)
        best_a_user=$(echo "if ($user < $best_a_user) $user else $best_a_user" | bc)
      fi
    done
  done
  local mb ma
  mb=$(median "${rss_b[@]}") ma=$(median "${rss_a[@]}")
  printf "%-52s wall %6.2f → %6.2f s (×%.2f)   user %6.2f → %6.2f s (×%.2f)   RSS %6.1f → %6.1f MiB (×%.2f)\n" "${steps[*]}" \
    "$best_b_wall" "$best_a_wall" "$(echo "scale=4; $best_a_wall / $best_b_wall" | bc)" \
    "$best_b_user" "$best_a_user" "$(echo "scale=4; $best_a_user / $best_b_user" | bc)" \
    "$(echo "scale=2; $mb / 1024" | bc)" "$(echo "scale=2; $ma / 1024" | bc)" "$(echo "scale=4; $ma / $mb" | bc)"
}

echo "before: $rev ($old); after: the working tree's build; input $input; fastest of $repeat; $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)"
chain=()
shift # the first --
for word in "$@" --; do
  if [ "$word" = "--" ]; then
    [ ${#chain[@]} -gt 0 ] && measure "${chain[@]}"
    chain=()
  else
    chain+=("$word")
  fi
done
