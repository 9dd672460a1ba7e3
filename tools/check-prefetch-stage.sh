#!/usr/bin/env bash
# Proves libqembed's head prefetch survived compilation: the forwards
# (Module::run_bag_tasks and run_lookup_tasks, runtime/module.cpp) must contain prefetch
# instructions. GCC once deleted them silently (see runtime/row_prefetch.h).
# Usage: check-prefetch-stage.sh <objdump> <libqembed.so>
set -euo pipefail
objdump=$1 lib=$2
counts=$("$objdump" -d -C --no-show-raw-insn "$lib" | awk '
  /^[0-9a-f]+ <.*>:$/ { fn = $0; next }
  /prefetcht0|prfm/ {
    if (fn ~ /run_bag_tasks/) bag++
    if (fn ~ /run_lookup_tasks/) lookup++
  }
  END { printf "%d %d\n", bag, lookup }')
read -r bag lookup <<<"$counts"
echo "prefetch instructions: bag forward $bag, lookup forward $lookup"
if ((bag == 0 || lookup == 0)); then
  echo "FAIL: the head prefetch is missing from $lib" >&2
  exit 1
fi
