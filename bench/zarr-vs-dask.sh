#!/usr/bin/env bash
# slicewise vs dask map_overlap on a 512³ uint8 Zarr v2 store with 64³ chunks, median radius 1.
#
#     bash bench/zarr-vs-dask.sh            # SIZE=512 CHUNK=64 by default; takes minutes
#
# Builds slicewise into /tmp/slicewise-bench (not the repository's dist/), makes the store with
# zarr-python, then runs each side under /usr/bin/time -v and prints bytes read, wall time and
# peak RSS. slicewise reports its bytes read itself (--json metrics); dask's are counted by a
# store wrapper (bench/zarr_dask_median.py).
set -euo pipefail
SIZE=${SIZE:-512}
CHUNK=${CHUNK:-64}
HERE=$(cd "$(dirname "$0")/.." && pwd)
WORK=${WORK:-/tmp/slicewise-bench}
IN=$WORK/in${SIZE}.zarr
mkdir -p "$WORK"

echo "== building slicewise into $WORK"
rm -rf "$WORK/dist"
(cd "$HERE" && npx tsc -p tsconfig.build.json --outDir "$WORK/dist")
ln -sfn "$HERE/node_modules" "$WORK/node_modules"
cat > "$WORK/slicewise.mjs" <<'JS'
import "./dist/cli/main.js"
JS

if [ ! -d "$IN" ]; then
  echo "== making $IN"
  /usr/bin/python3 "$HERE/bench/zarr_make_store.py" "$IN" "$SIZE" "$CHUNK"
fi
STORED=$(find "$IN" -type f ! -name '.z*' -printf '%s\n' | awk '{s+=$1} END {print s}')
echo "input: ${SIZE}³ uint8, chunks ${CHUNK}³, $STORED bytes of chunks"

echo "== slicewise run $IN $WORK/out-slicewise.zarr median:radius=1"
rm -rf "$WORK/out-slicewise.zarr"
/usr/bin/time -v node --max-semi-space-size=1 --expose-gc "$WORK/slicewise.mjs" run "$IN" "$WORK/out-slicewise.zarr" median:radius=1 --json \
  > "$WORK/slicewise.json" 2> "$WORK/slicewise.time"
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))
  const m = r.metrics
  console.log(`slicewise: read ${m.bytesRead} bytes (predicted ${r.predicted.bytesRead}), wrote ${m.bytesWritten}, wall ${(m.wallMs / 1000).toFixed(1)} s`)
' "$WORK/slicewise.json"
grep -E "Elapsed|Maximum resident" "$WORK/slicewise.time"

echo "== dask map_overlap(median_filter size 3, depth 1) $IN -> $WORK/out-dask.zarr"
rm -rf "$WORK/out-dask.zarr"
/usr/bin/time -v /usr/bin/python3 "$HERE/bench/zarr_dask_median.py" "$IN" "$WORK/out-dask.zarr" 2> "$WORK/dask.time"
grep -E "Elapsed|Maximum resident" "$WORK/dask.time"

echo "== outputs equal in the interior? (boundary modes differ at the volume's faces)"
/usr/bin/python3 - "$WORK/out-slicewise.zarr" "$WORK/out-dask.zarr" <<'PY'
import sys, zarr, numpy as np
a, b = zarr.open(sys.argv[1], mode="r"), zarr.open(sys.argv[2], mode="r")
print("identical" if np.array_equal(a[:], b[:]) else f"differ in {int((a[:] != b[:]).sum())} voxels")
PY
