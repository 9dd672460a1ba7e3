#!/usr/bin/env bash
# Guest instructions per looked-up row of a build's kernels, counted under qemu-user: a
# measure of kernel work where a machine cannot time it (ARM kernels without an ARM
# machine; x86 kernel variants on a VM whose memory speed drifts). A count, not a time: it
# weighs every instruction alike and sees no memory stalls.
#   tools/insns_per_row.sh [BUILD_DIR] [FILTER] [ROWS]
# BUILD_DIR: a build with bench/qembed_calls, aarch64 (qemu-aarch64) or x86-64
# (qemu-x86_64 -cpu max: AVX2, FMA and F16C, no AVX-512; QEMBED_FORCE_TARGET picks a
# kernel target); default build/aarch64. FILTER: a substring of the single-thread workload
# names (qembed_calls --list); ROWS: the tables' rows (default 200000). Each workload runs
# twice, with one and with two passes over its index sets; the difference is one pass's
# forward calls alone (table setup cancels out), divided by the rows that pass looked up.
set -euo pipefail
build=${1:-build/aarch64}
filter=${2:-}
rows=${3:-200000}
calls=$build/bench/qembed_calls
[ -x "$calls" ] || { echo "$0: no $calls (build a preset with bench first)" >&2; exit 2; }
case $(od -An -tu2 -j18 -N2 "$calls" | tr -d ' ') in  # the ELF header's e_machine
  183) qemu=(qemu-aarch64 -L /usr/aarch64-linux-gnu) ;;  # as cmake/toolchains/aarch64-linux-gnu.cmake
  62) qemu=(qemu-x86_64 -cpu max) ;;
  *) echo "$0: $calls is neither aarch64 nor x86-64" >&2; exit 2 ;;
esac
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
plugin=$work/qemu_insn_count.so
cc -shared -fPIC -O2 -fvisibility=hidden -o "$plugin" "$(dirname "$0")/qemu_insn_count.c"
run() {  # run PASSES NAME: prints "<insns> <rows> <index sets> <kernel target>"
  local log
  # OpenMP (linked by the benchmark library) must not spin on the counted thread.
  log=$(OMP_WAIT_POLICY=passive "${qemu[@]}" -plugin "$plugin" -d plugin \
    "$calls" --name="$2" --rows="$rows" --passes="$1" 2>&1)
  echo "$(sed -n 's/^insns //p' <<<"$log") $(sed -n 's/.* rows=//p' <<<"$log")" \
    "$(sed -n 's/.* sets=\([0-9]*\).*/\1/p' <<<"$log")" \
    "$(sed -n 's/.* target=\([^ ]*\).*/\1/p' <<<"$log")"
}
printf '%-72s %14s %12s  %s\n' workload "insns/row" "insns/call" "kernel target"
"${qemu[@]}" "$calls" --list --filter="$filter" --rows="$rows" |
  while read -r name; do
    read -r i1 r1 sets target < <(run 1 "$name")
    read -r i2 r2 _ _ < <(run 2 "$name")
    if [ -z "$i1" ] || [ -z "$i2" ] || [ -z "$r2" ] || [ "$i2" -le "$i1" ]; then
      echo "$0: $name: no instruction count (is ${qemu[0]} built with plugin support?)" >&2
      exit 1
    fi
    awk -v n="$name" -v i1="$i1" -v i2="$i2" -v r1="$r1" -v r2="$r2" -v s="$sets" -v t="$target" \
      'BEGIN { printf "%-72s %14.1f %12.0f  %s\n", n, (i2 - i1) / (r2 - r1), (i2 - i1) / s, t }'
  done
