#!/usr/bin/env bash
# Issue 4's side-by-side in one run on one machine: what the machine is, qembed against
# PyTorch's quantized embedding-bag ops in one process (bench/torch_compare.py; FBGEMM on an
# x86 PyTorch wheel), then qembed against its roofline (qembed_bench --paired: call by call
# in turn, so a drifting machine moves both alike), then the thread pool's
# cost per job from 1 thread to all cores (pool_bench, when built beside qembed_bench). Each
# step has its own time limit so that a slow step still leaves the others' results in OUTDIR.
#   bench/side_by_side.sh QEMBED_BENCH OUTDIR [torch_compare.py flags, e.g. --lib A=PATH --lib B=PATH]
# PYTHON: the interpreter that has torch (default python3). BENCH_FILTER: qembed_bench's
# --benchmark_filter (default all). Limits in seconds: COMPARE_SECONDS (default 300),
# BENCH_SECONDS (default 200).
set -u
if [ $# -lt 2 ]; then
  sed -n '2,11p' "$0" >&2
  exit 2
fi
bench=$1 out=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
{
  grep -m1 'model name' /proc/cpuinfo
  grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -E '^(avx2|fma|avx512(f|bw|vl|dq|_vnni|_bf16)|amx_tile)$' | tr '\n' ' '
  echo
  echo "cores: $(nproc)"
  # Whether those are hardware threads sharing cores (a multi-thread run's ceiling).
  lscpu 2>/dev/null | grep -E '^(Thread\(s\) per core|Core\(s\) per socket|Socket\(s\)|NUMA node\(s\)):'
  grep -h . /sys/devices/system/cpu/cpu0/topology/thread_siblings_list 2>/dev/null | sed 's/^/cpu0 siblings: /'
  for c in /sys/devices/system/cpu/cpu0/cache/index*; do echo "cache L$(cat "$c/level") $(cat "$c/type"): $(cat "$c/size")"; done
  echo "transparent huge pages: $(cat /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null)"
  "${PYTHON:-python3}" -c 'import torch; print("torch", torch.__version__, torch.backends.quantized.supported_engines)'
} 2>&1 | tee "$out/machine.txt"
status=0
PYTHONUNBUFFERED=1 timeout "${COMPARE_SECONDS:-300}" "${PYTHON:-python3}" "$here/torch_compare.py" \
  --csv "$out/torch_compare.csv" "$@" 2>&1 | tee "$out/torch_compare.log"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
# The benches' library path: libraries carried beside them (another machine may lack
# them) come first.
bench_dir=$(dirname "$bench")
bench_libs="$bench_dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
LD_LIBRARY_PATH="$bench_libs" \
  timeout "${BENCH_SECONDS:-200}" "$bench" --paired --csv="$out/qembed_bench.csv" \
  --svg="$out/qembed_bench.svg" --benchmark_filter="${BENCH_FILTER:-.}" 2>&1 | tee "$out/qembed_bench.log"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
if [ -x "$bench_dir/pool_bench" ]; then
  LD_LIBRARY_PATH="$bench_libs" timeout 60 "$bench_dir/pool_bench" --benchmark_min_time=0.2 2>&1 |
    tee "$out/pool_bench.log"
  [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
fi
exit $status
