#!/usr/bin/env bash
# Emits qembed's kernels for chosen Halide targets as a plain static library and C
# headers, for apps that do not use CMake (or libqembed):
#   tools/emit-kernels.sh OUTDIR TARGET [TARGET...]   (best first; the last is the baseline)
# e.g.  tools/emit-kernels.sh out/avx2 x86-64-linux-avx2-fma-f16c
#       tools/emit-kernels.sh out/arm  arm-64-linux   (from any host)
# Writes OUTDIR/lib/libqembed_kernels.a (every pipeline for every target, plus the Halide
# runtime) and OUTDIR/include/qembed/kernels/ (qembed_kernels.h, one header per pipeline,
# HalideRuntime.h). Link with -lqembed_kernels -lpthread -ldl -lm. The targets must share
# one arch-bits-os; any extra CMake arguments can go in QEMBED_CMAKE_ARGS.
set -euo pipefail
if [ $# -lt 2 ]; then
  sed -n '2,11p' "$0" >&2
  exit 2
fi
out=$1
shift
targets=$(IFS=';'; echo "$*")
src=$(cd "$(dirname "$0")/.." && pwd)
build="$src/build/emit-$(echo "$targets" | tr ';' '+')"
# shellcheck disable=SC2086
cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release -DQEMBED_KERNELS_ONLY=ON \
  "-DQEMBED_TARGETS=$targets" ${QEMBED_CMAKE_ARGS:-}
cmake --build "$build" --target qembed_kernels_archive --parallel "$(nproc)"
cmake --install "$build" --component kernels --prefix "$out"
echo "kernels for $targets: $out/lib/libqembed_kernels.a, $out/include/qembed/kernels/"
