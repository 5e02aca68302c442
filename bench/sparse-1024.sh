#!/usr/bin/env bash
# Memory at 1024³ without 7 GiB of real data: sparse raw files (all zeros, no disk blocks) behind
# NRRD headers, one per dtype. Prints every matrix op's planned peak buffers from the dry run
# (`slicewise cost`, no voxel read), then runs the given steps on the given dtype under GNU time
# for the measured peak RSS. Zeros make no difference to the buffers of a filter; they do to the
# work of label, edt and the morphology ops, so time those on real data.
#
#   bash bench/sparse-1024.sh [DIR] [DTYPE STEPS…]
#   bash bench/sparse-1024.sh /tmp/big float32 gaussian:sigma=2
#
# Needs the built CLI (npm run build) and GNU time. The run writes a 1024³ NRRD of the dtype in DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${1:-/tmp/slicewise-sparse}"
shift || true
mkdir -p "$dir"
for spec in uint8:uchar:1 uint16:ushort:2 float32:float:4; do
  IFS=: read -r dtype nrrd bytes <<< "$spec"
  [ -f "$dir/$dtype.raw" ] || truncate -s $((1024 * 1024 * 1024 * bytes)) "$dir/$dtype.raw"
  printf "NRRD0004\ntype: %s\ndimension: 3\nsizes: 1024 1024 1024\nendian: little\nencoding: raw\ndata file: %s.raw\n" \
    "$nrrd" "$dtype" > "$dir/$dtype.nhdr"
done

ops=("copy" "threshold:min=128" "uniform:size=7" "gaussian:sigma=2" "median:radius=1" "median:radius=3"
  "threshold:min=128 dilate:radius=3,footprint=ball" "threshold:min=128 label:connectivity=26" "threshold:min=128 edt")
echo "planned peak buffers at 1024³ (slicewise cost --json), TIFF stack output"
for dtype in uint8 uint16 float32; do
  for op in "${ops[@]}"; do
    # shellcheck disable=SC2086
    bytes=$(bin/slicewise.js cost "$dir/$dtype.nhdr" "$dir/never-written/" $op --json |
      node -e 'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => console.log(JSON.parse(s).peakBufferBytes))')
    printf "  %-8s %-52s %8.1f MiB\n" "$dtype" "$op" "$(echo "scale=1; $bytes / 1048576" | bc)"
  done
done

if [ $# -ge 2 ]; then
  dtype=$1
  shift
  out="$dir/out-$dtype.nrrd"
  /usr/bin/time -v -o "$dir/run.time" bin/slicewise.js run "$dir/$dtype.nhdr" "$out" "$@" | grep -E "^total|^predicted"
  grep -E "Maximum resident|Elapsed" "$dir/run.time"
  rm -f "$out"
fi
