#!/usr/bin/env bash
# slicewise beside scipy.ndimage on the same files: a SIZE³ uint8 phantom TIFF stack through the
# steps by `slicewise run` (streaming) and through the matching scipy/skimage call (in memory,
# tifffile for I/O, bench/peers/scipy_filter.py). Prints wall time and peak RSS of each (GNU time -v)
# and whether the voxels agree.
#
#   npm run build && bash bench/vs-scipy.sh [SIZE [PEER-OP PEER-PARAM STEP...]]
#   bash bench/vs-scipy.sh 512                                        # median:radius=1 (the default)
#   bash bench/vs-scipy.sh 512 edt 128 threshold:min=128 edt
#   bash bench/vs-scipy.sh 512 label26 128 threshold:min=128 label:connectivity=26
# Needs: /usr/bin/time (Debian package time); for the peer, python3-scipy and python3-tifffile.
set -euo pipefail
cd "$(dirname "$0")/.."
size=${1:-512}
peer_op=${2:-median}
peer_param=${3:-1}
if [ $# -gt 3 ]; then steps=("${@:4}"); else steps=(median:radius=1); fi
work=/tmp/slicewise-bench-$size
mkdir -p "$work"
if [ ! -d "$work/in" ]; then npx tsx bench/make-volume.ts "$work/in/" --shape "$size,$size,$size" --dtype uint8 --kind phantom; fi
rm -rf "$work/sw" "$work/py"

measure() { # label, command...
  local label=$1; shift
  /usr/bin/time -v "$@" > "$work/$label.out" 2> "$work/$label.time"
  local wall rss
  wall=$(grep "Elapsed (wall clock)" "$work/$label.time" | awk '{print $NF}')
  rss=$(grep "Maximum resident set size" "$work/$label.time" | awk '{print $NF}')
  printf '%-9s wall %8s  peak RSS %6.1f MiB\n' "$label" "$wall" "$(echo "$rss / 1024" | bc -l)"
}

echo "input: $work/in ($size³ uint8 phantom), steps: ${steps[*]}"
measure slicewise bin/slicewise.js run "$work/in/" "$work/sw/" "${steps[@]}"
if /usr/bin/python3 -c "import scipy, tifffile" 2>/dev/null; then
  measure scipy /usr/bin/python3 bench/peers/scipy_filter.py "$work/in" "$work/py" "$peer_op" "$peer_param"
  /usr/bin/python3 bench/peers/compare_stacks.py "$work/sw" "$work/py"
else
  echo "scipy: not installed (apt-get install python3-scipy python3-tifffile), skipped"
fi
