#!/usr/bin/env bash
# Proves each kernel object holds the instruction set its target promises, by
# disassembling libqembed_kernels.a:
#   x86 avx512* targets: every kernel uses zmm registers;
#   x86 avx2 targets:    ymm registers, no zmm;
#   x86 baseline:        neither ymm nor zmm (it must run on any x86-64);
#   arm targets:         every kernel uses NEON (v registers); with arm_fp16 the f16
#                        kernels convert halves in hardware (fcvtl .4s, .4h), without it never;
#   x86 avx512* 4-bit kernels with fused qparams (u4_row) look codes up in a register
#   table (vpermd / vpermps on zmm: generators/u4_lut_avx512.ll), not convert them;
#   every lookup kernel (embedding_*, bag_*) prefetches rows ahead into every cache level
#   (prefetcht0, prfm pldl1keep), never non-temporally (prefetchnta, prfm pldl1strm: what
#   Halide's own prefetch helper emits; generators/prefetch_line.ll replaces it);
#   the shared Halide runtime and the dispatch wrappers: nothing beyond the baseline
#   (the last target), since they run before any target is chosen.
# Usage: check-kernel-isa.sh <objdump> <libqembed_kernels.a> <target>...
#   (the targets as compiled, code generation options included: QEMBED_COMPILE_TARGETS)
set -euo pipefail
objdump=$1 archive=$2
shift 2
targets=("$@")
baseline=${targets[${#targets[@]} - 1]}

# member -> "zmm ymm neon half_cvt prefetch nontemporal_prefetch zmm_lookup" counts
table=$("$objdump" -d --no-show-raw-insn "$archive" | awk '
  /file format/ { m = $1; sub(/:$/, "", m); seen[m] = 1; next }
  /%zmm/ { z[m]++ }
  /%ymm/ { y[m]++ }
  /\tv[0-9]+\.|[ ,]v[0-9]+\.[0-9]*[bhsd]/ { v[m]++ }
  /fcvtl\tv[0-9]+\.4s, v[0-9]+\.4h/ { h[m]++ }
  /\tprefetcht0|\tprfm\tpldl1keep/ { p[m]++ }
  /\tprefetchnta|\tprfm\tpldl1strm/ { nt[m]++ }
  /\tvperm(d|ps)[ \t].*%zmm/ { lut[m]++ }
  END { for (k in seen) printf "%s %d %d %d %d %d %d %d\n", k, z[k], y[k], v[k], h[k], p[k], nt[k], lut[k] }' | sort)

fail=0
bad() { echo "FAIL: $1" >&2; fail=1; }
checked=0
while read -r member zmm ymm neon half prefetch nontemporal lookup; do
  if [[ $member == *.runtime.o || $member == *_wrapper.o ]]; then
    case $baseline in
      x86-*avx512*) ;;
      x86-*avx2* | x86-*avx-*) ((zmm == 0)) || bad "$member uses zmm beyond the baseline $baseline" ;;
      x86-*) ((zmm == 0 && ymm == 0)) || bad "$member uses ymm/zmm beyond the baseline $baseline" ;;
    esac
    continue
  fi
  # The member's target: `<pipeline>-<target>-no_runtime.o`, or the only target.
  target=""
  if ((${#targets[@]} == 1)); then
    target=${targets[0]}
  else
    for t in "${targets[@]}"; do
      [[ $member == *"-$t-no_runtime.o" ]] && target=$t
    done
  fi
  [[ -n $target ]] || { bad "$member matches no target of: ${targets[*]}"; continue; }
  checked=$((checked + 1))
  if [[ $member == *_embedding_* || $member == *_bag_* ]]; then
    ((prefetch > 0)) || bad "$member ($target) prefetches no rows"
    ((nontemporal == 0)) || bad "$member ($target) has $nontemporal non-temporal prefetches"
  fi
  case $target in
    x86-*avx512*)
      ((zmm > 0)) || bad "$member ($target) has no zmm instruction"
      if [[ $member == *_u4_row_* ]]; then
        ((lookup > 0)) || bad "$member ($target) does not look its 4-bit codes up (no zmm vpermd/vpermps)"
      fi
      ;;
    x86-*avx2* | x86-*avx-*) ((zmm == 0 && ymm > 0)) || bad "$member ($target): zmm $zmm, ymm $ymm" ;;
    x86-*) ((zmm == 0 && ymm == 0)) || bad "$member ($target) uses ymm/zmm ($ymm/$zmm)" ;;
    arm-*)
      ((neon > 0)) || bad "$member ($target) has no NEON instruction"
      if [[ $member == *_f16_* ]]; then
        if [[ $target == *arm_fp16* ]]; then
          ((half > 0)) || bad "$member ($target) does not convert halves in hardware"
        else
          ((half == 0)) || bad "$member ($target) uses fp16 conversions without arm_fp16"
        fi
      fi
      ;;
  esac
done <<<"$table"

for t in "${targets[@]}"; do
  n=0
  while read -r member zmm ymm neon half prefetch nontemporal lookup; do
    if [[ ${#targets[@]} == 1 || $member == *"-$t-no_runtime.o" ]] && [[ $member != *_wrapper.o && $member != *.runtime.o ]]; then
      n=$((n + 1)); tz=$((${tz:-0} + zmm)); ty=$((${ty:-0} + ymm)); tv=$((${tv:-0} + neon))
      tp=$((${tp:-0} + prefetch))
    fi
  done <<<"$table"
  echo "$t: $n kernel objects, zmm ${tz:-0}, ymm ${ty:-0}, neon ${tv:-0}, prefetch ${tp:-0} instructions"
  unset tz ty tv tp
done
((checked > 0)) || bad "no kernel objects found in $archive"
exit $fail
