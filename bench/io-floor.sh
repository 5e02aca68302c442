#!/usr/bin/env bash
# The I/O floor of a copy (issue 23): what `cp -r` of a TIFF stack takes, what reading and writing
# each file whole takes (Python), what ITK's copy takes (when bench/peers/itk is built), what Node
# and the CLI take to start, and what `slicewise run … copy` and `… threshold` take, each under GNU
# time, median of REPEAT runs. The commands take turns (one run of each per round), so that each
# finds the file system in the same state; see "File creation" below for why that matters.
#
# Then what creating a slice file costs with and without O_TRUNC (ext4 starts writing back, at
# close, a file opened with O_TRUNC), in a Python loop over 300 files of 256 KiB; and, where perf
# runs, the share of a slicewise copy's samples that the kernel spent allocating inodes.
#
#   bash bench/io-floor.sh INPUT [REPEAT]     e.g. bash bench/io-floor.sh /tmp/slicewise-matrix/in/structured-uint8-512
#
# File creation: on an ext4 file system without a journal (this project's machine: the root file
# system, `cat /sys/fs/ext4/<dev>/journal_task` prints <none>), allocating an inode skips every
# inode of the group freed in the last 60 s (360 s while its inode table block is dirty), looking
# each up in the buffer cache (fs/ext4/ialloc.c, recently_deleted). A benchmark that deletes its
# last output before each run therefore makes every later file creation in that group dearer, by
# an amount that grows with what was deleted in the last minutes: the Python loop below took 0.15
# ms a file on a freshly started machine and 0.35–0.43 ms half an hour of benchmarks later.
#
# Needs the built CLI (npm run build) and GNU time. Writes under a temporary directory in /tmp.
set -euo pipefail
cd "$(dirname "$0")/.."
input=${1%/}
repeat=${2:-3}
work=$(mktemp -d /tmp/slicewise-io-floor-XXXXXX)
trap 'rm -rf "$work"' EXIT
cat "$input"/* > /dev/null   # into the page cache, for every command alike

names=("cp -r" "read + write each file (python)")
[ -x bench/peers/itk/build/matrix_itk ] && names+=("ITK copy (bench/peers/itk)")
names+=("node -e 0" "slicewise --version" "slicewise run … copy" "slicewise run … threshold:min=128")

# What any program pays that brings the bytes into its own memory: each file read whole and
# written whole to a new file, no parsing (Python's os.read and os.write, one call each).
read_write='
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
'
run_one() {
  local name=$1 cmd
  case $name in
    "cp -r") cmd=(cp -r "$input" "$work/out") ;;
    "read + write"*) cmd=(/usr/bin/python3 -c "$read_write" "$input" "$work/out") ;;
    "ITK copy"*) cmd=(sh -c "mkdir '$work/out' && exec bench/peers/itk/build/matrix_itk '$input' '$work/out' copy") ;;
    "node -e 0") cmd=(node -e 0) ;;
    "slicewise --version") cmd=(bin/slicewise.js --version) ;;
    "slicewise run … copy") cmd=(bin/slicewise.js run "$input/" "$work/out/" copy) ;;
    "slicewise run … threshold"*) cmd=(bin/slicewise.js run "$input/" "$work/out/" threshold:min=128) ;;
  esac
  rm -rf "$work/out"
  /usr/bin/time -f "%e %U %S" -o "$work/time" "${cmd[@]}" > /dev/null 2>&1
  read -r wall user sys < "$work/time"
  echo "$wall $(echo "$user + $sys" | bc)" >> "$work/times-${name//[^a-z0-9]/_}"
}
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

for _ in $(seq "$repeat"); do
  for name in "${names[@]}"; do run_one "$name"; done
done
for name in "${names[@]}"; do
  f="$work/times-${name//[^a-z0-9]/_}"
  printf '%-34s wall %6s s   cpu %6s s\n' "$name" "$(cut -d' ' -f1 "$f" | median)" "$(cut -d' ' -f2 "$f" | median)"
done

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

# Where the kernel's share of a copy goes: samples under ext4's inode allocation (creating the
# output files), and under its skipping of recently deleted inodes, of all the copy's samples.
if command -v perf > /dev/null && perf record -q -e cpu-clock -o /dev/null true 2> /dev/null; then
  rm -rf "$work/out"
  perf record -q -e cpu-clock -F 5000 -g -o "$work/perf.data" bin/slicewise.js run "$input/" "$work/out/" copy > /dev/null 2>&1
  perf script -i "$work/perf.data" -F ip,sym 2> /dev/null | awk '
    /^$/ { if (n) { total++; if (alloc) a++; if (recent) r++ } n = 0; alloc = 0; recent = 0; next }
    { n++ } /__ext4_new_inode/ { alloc = 1 } /recently_deleted/ { recent = 1 }
    END { if (n) { total++; if (alloc) a++; if (recent) r++ }
          printf "perf, slicewise copy: %d samples, %.0f %% allocating inodes, %.0f %% of them skipping recently deleted ones\n", total, 100 * a / total, a ? 100 * r / a : 0 }'
fi
