#!/bin/sh
# Builds bench/peers/itk/build/matrix_itk, the ITK backend of the benchmark matrix
# (bench/matrix/run.ts --backends …,itk), against Debian's ITK 5.2 (libinsighttoolkit5-dev),
# Release (-O3). Installs the Debian packages it needs when they are missing (apt-get, as root or
# with sudo). Never needed by `npm test`. Usage: bench/peers/itk/build.sh [--clean]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build="$here/build"

need=""
[ -f /usr/lib/cmake/ITK-5.2/ITKConfig.cmake ] || need="$need libinsighttoolkit5-dev"
[ -f /usr/include/x86_64-linux-gnu/tiffio.h ] || [ -f /usr/include/tiffio.h ] || need="$need libtiff-dev"
command -v cmake >/dev/null 2>&1 || need="$need cmake"
command -v g++ >/dev/null 2>&1 || need="$need g++"
command -v make >/dev/null 2>&1 || need="$need make"
if [ -n "$need" ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing$need" >&2
  if ! DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y $need; then
    $sudo apt-get update
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y $need
  fi
fi

[ "${1:-}" = "--clean" ] && rm -rf "$build"
cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O3 -DNDEBUG" >/dev/null
# One compile job: ITK's templates are heavy and the benchmark machine has two cores.
cmake --build "$build" -- -j1
echo "$build/matrix_itk"
