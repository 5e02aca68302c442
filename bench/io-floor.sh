#!/usr/bin/env bash
# The I/O floor of a copy (issue 23): what `cp -r` of a TIFF stack takes, what reading and writing
# each file whole takes (Python), what ITK's copy takes (when bench/peers/itk is built), what Node
# and the CLI take to start, and what `slicewise run … copy` and `… threshold` take, each under GNU
# time (median of REPEAT runs); then what creating a slice file costs with and without O_TRUNC (ext4 starts
# writing back, at close, a file opened with O_TRUNC), in a Python loop over 300 files of 256 KiB.
#
#   bash bench/io-floor.sh INPUT [REPEAT]     e.g. bash bench/io-floor.sh /tmp/slicewise-matrix/in/structured-uint8-512
#
# Needs the built CLI (npm run build) and GNU time. Writes under a temporary directory in /tmp.
set -euo pipefail
cd "$(dirname "$0")/.."
input=${1%/}
repeat=${2:-3}
work=$(mktemp -d /tmp/slicewise-io-floor-XXXXXX)
trap 'rm -rf "$work"' EXIT
cat "$input"/* > /dev/null   # into the page cache, for every command alike

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
measure() {
  local name=$1; shift
  local walls=() cpus=()
  for _ in $(seq "$repeat"); do
    rm -rf "$work/out"
    /usr/bin/time -f "%e %U %S" -o "$work/time" "$@" > /dev/null 2>&1
    read -r wall user sys < "$work/time"
    walls+=("$wall"); cpus+=("$(echo "$user + $sys" | bc)")
  done
  printf '%-34s wall %6s s   cpu %6s s\n' "$name" "$(printf '%s\n' "${walls[@]}" | median)" "$(printf '%s\n' "${cpus[@]}" | median)"
}
measure "cp -r" cp -r "$input" "$work/out"
# What any program pays that brings the bytes into its own memory: each file read whole and
# written whole to a new file, no parsing (Python's os.read and os.write, one call each).
measure "read + write each file (python)" /usr/bin/python3 -c '
import os, sys
src, dst = sys.argv[1], sys.argv[2]
os.mkdir(dst)
for name in sorted(os.listdir(src)):
    fd = os.open(os.path.join(src, name), os.O_RDONLY)
    data = os.read(fd, os.fstat(fd).st_size)
    os.close(fd)
    fd = os.open(os.path.join(dst, name), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    os.write(fd, data)
    os.close(fd)
' "$input" "$work/out"
if [ -x bench/peers/itk/build/matrix_itk ]; then
  measure "ITK copy (bench/peers/itk)" sh -c "mkdir '$work/out' && exec bench/peers/itk/build/matrix_itk '$input' '$work/out' copy"
fi
measure "node -e 0" node -e 0
measure "slicewise --version" bin/slicewise.js --version
measure "slicewise run … copy" bin/slicewise.js run "$input/" "$work/out/" copy
measure "slicewise run … threshold:min=128" bin/slicewise.js run "$input/" "$work/out/" threshold:min=128

/usr/bin/python3 - "$work" <<'PY'
import os, sys, time
work = sys.argv[1]
data = b"x" * 262144
for name, flags in (("O_TRUNC", os.O_WRONLY | os.O_CREAT | os.O_TRUNC), ("O_EXCL, no O_TRUNC", os.O_WRONLY | os.O_CREAT | os.O_EXCL)):
    d = os.path.join(work, "files-" + name.split(",")[0])
    os.makedirs(d)
    t = time.perf_counter()
    for i in range(300):
        fd = os.open(os.path.join(d, f"f{i}"), flags, 0o666)
        os.write(fd, data)
        os.close(fd)
    print(f"create + write 256 KiB + close, {name:18s} {(time.perf_counter() - t) / 300 * 1e3:.2f} ms a file")
PY
