#!/usr/bin/env bash
# Proves each kernel object holds the instruction set its target promises, by
# disassembling libqembed_kernels.a:
#   x86 avx512* targets: every kernel uses zmm registers;
#   x86 avx2 targets:    ymm registers, no zmm;
#   x86 baseline:        neither ymm nor zmm (it must run on any x86-64);
#   arm targets:         every kernel uses NEON (v registers);
#   float16 in hardware: the f16 kernels and the 4/2-bit prepacked ones (fp16 qparams)
#   convert halves with an instruction (vcvtph2ps; fcvtl .4s, .4h or fcvt s, h) on every
#   x86 target with F16C (avx2-fma-f16c, avx512*) and every arm target, never on the x86
#   baseline (generators/float_ops.ll);
#   fma: the prepacked kernels (*_sb*) accumulate with a float32 fma, checked by a
#   float64 one (float_ops.ll's qembed_rowwise_acc: vfmadd*ps and vfmadd*pd, fmla .4s
#   and .2d / fmadd s and d) on those same targets, with neither on the x86 baseline; no
#   other kernel fuses a float32 multiply-add (the reference numerics round each step);
#   x86 avx512* 4-bit kernels with fused qparams (u4_row, u4_sb16) look codes up in a
#   register table (vpermd / vpermps on zmm: generators/u4_lut_avx512.ll), not convert them;
#   x86 bag max kernels take the running max with maxps / vmaxps (v > acc ? v : acc is
#   exactly that instruction; a compare and a blend per vector, or worse, otherwise);
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
# CPU targets among those given (large_buffers is an addressing option, not a CPU).
cpus=$(printf '%s\n' "${targets[@]}" | sed 's/-large_buffers//' | sort -u | wc -l)

# The target a kernel object was compiled for. A multitarget library names each object
# `<pipeline>-<target>-no_runtime.o`; a single-target one (one CPU target, compiled with
# and without large_buffers) names it after the pipeline only, `_large` for large_buffers
# (the targets given may name the CPU target only: tools/emit-kernels.sh's check).
target_of() {
  local member=$1 t large=0
  for t in "${targets[@]}"; do
    if [[ $member == *"-$t-no_runtime.o" ]]; then
      echo "$t"
      return 0
    fi
  done
  [[ $member == *-no_runtime.o ]] && return 0
  ((cpus == 1)) || return 0
  [[ $member == *_large.o ]] && large=1
  for t in "${targets[@]}"; do
    if [[ $t == *large_buffers* ]]; then
      if ((large)); then echo "$t"; return 0; fi
    elif ((!large)); then
      echo "$t"
      return 0
    fi
  done
  echo "${targets[0]}"  # large_buffers objects checked against the CPU target given
}

# member -> "zmm ymm neon half_cvt prefetch nontemporal_prefetch zmm_lookup fma64 fma32 maxps" counts
table=$("$objdump" -d --no-show-raw-insn "$archive" | awk '
  /file format/ { m = $1; sub(/:$/, "", m); seen[m] = 1; next }
  # The LLVM helpers (generators/*.ll) are emitted in every object that links them, used
  # or not: only instructions of the kernels themselves count.
  /^[0-9a-f]+ <.*>:$/ { helper = ($2 ~ /^<(qembed_(rowwise_(acc8?|step)|f16_to_f32|dequant_u4|u4_code)(x[0-9]+)?|_halide_prefetch)>:$/) }
  helper { next }
  /%zmm/ { z[m]++ }
  /%ymm/ { y[m]++ }
  /\tv[0-9]+\.|[ ,]v[0-9]+\.[0-9]*[bhsd]/ { v[m]++ }
  /fcvtl\tv[0-9]+\.4s, v[0-9]+\.4h|\tfcvt\ts[0-9]+, h[0-9]+|\tvcvtph2ps/ { h[m]++ }
  /\tvfmadd[0-9]+pd|\tfmla\tv[0-9]+\.2d|\tfmadd\td[0-9]+/ { f[m]++ }
  /\tvfmadd[0-9]+ps|\tfmla\tv[0-9]+\.4s|\tfmadd\ts[0-9]+/ { f32[m]++ }
  /\tprefetcht0|\tprfm\tpldl1keep/ { p[m]++ }
  /\tprefetchnta|\tprfm\tpldl1strm/ { nt[m]++ }
  /\tvperm(d|ps)[ \t].*%zmm/ { lut[m]++ }
  /\tv?maxps[ \t]/ { mx[m]++ }
  END { for (k in seen) printf "%s %d %d %d %d %d %d %d %d %d %d\n", k, z[k], y[k], v[k], h[k], p[k], nt[k], lut[k], f[k], f32[k], mx[k] }' | sort)

fail=0
bad() { echo "FAIL: $1" >&2; fail=1; }
checked=0
while read -r member zmm ymm neon half prefetch nontemporal lookup fma64 fma32 maxps; do
  if [[ $member == *.runtime.o || $member == *_wrapper.o ]]; then
    case $baseline in
      x86-*avx512*) ;;
      x86-*avx2* | x86-*avx-*) ((zmm == 0)) || bad "$member uses zmm beyond the baseline $baseline" ;;
      x86-*) ((zmm == 0 && ymm == 0)) || bad "$member uses ymm/zmm beyond the baseline $baseline" ;;
    esac
    continue
  fi
  target=$(target_of "$member")
  [[ -n $target ]] || { bad "$member matches no target of: ${targets[*]}"; continue; }
  checked=$((checked + 1))
  if [[ $member == *_embedding_* || $member == *_bag_* ]]; then
    ((prefetch > 0)) || bad "$member ($target) prefetches no rows"
    ((nontemporal == 0)) || bad "$member ($target) has $nontemporal non-temporal prefetches"
  fi
  case $target in
    x86-*avx512* | x86-*f16c* | arm-*) float_ops=1 ;;
    *) float_ops=0 ;;
  esac
  if [[ $member == *_f16_* || $member == *_u4_sb16_* || $member == *_u2_sb16_* ]]; then
    if ((float_ops)); then
      ((half > 0)) || bad "$member ($target) does not convert halves in hardware"
    else
      ((half == 0)) || bad "$member ($target) converts halves with an instruction its target lacks"
    fi
  fi
  if [[ $member == *_sb16_* || $member == *_sb32_* ]]; then
    if ((float_ops)); then
      ((fma32 > 0)) || bad "$member ($target) accumulates without a float32 fma"
      ((fma64 > 0)) || bad "$member ($target) has no float64 fma for the lanes float32 rounds apart"
    else
      ((fma64 == 0 && fma32 == 0)) || bad "$member ($target) uses an fma its target lacks"
    fi
  else
    ((fma32 == 0)) || bad "$member ($target) fuses $fma32 float32 multiply-adds (strict_float forbids it)"
  fi
  if [[ $target == x86-* && $member == *_bag_max_* ]]; then
    ((maxps > 0)) || bad "$member ($target) takes its max without maxps / vmaxps"
  fi
  case $target in
    x86-*avx512*)
      ((zmm > 0)) || bad "$member ($target) has no zmm instruction"
      if [[ $member == *_u4_row_* || $member == *_u4_sb16_* ]]; then
        ((lookup > 0)) || bad "$member ($target) does not look its 4-bit codes up (no zmm vpermd/vpermps)"
      fi
      ;;
    x86-*avx2* | x86-*avx-*) ((zmm == 0 && ymm > 0)) || bad "$member ($target): zmm $zmm, ymm $ymm" ;;
    x86-*) ((zmm == 0 && ymm == 0)) || bad "$member ($target) uses ymm/zmm ($ymm/$zmm)" ;;
    arm-*)
      ((neon > 0)) || bad "$member ($target) has no NEON instruction"
      ;;
  esac
done <<<"$table"

for t in "${targets[@]}"; do
  n=0
  while read -r member zmm ymm neon half prefetch nontemporal lookup fma64 fma32 maxps; do
    if [[ $member != *_wrapper.o && $member != *.runtime.o && $(target_of "$member") == "$t" ]]; then
      n=$((n + 1)); tz=$((${tz:-0} + zmm)); ty=$((${ty:-0} + ymm)); tv=$((${tv:-0} + neon))
      tp=$((${tp:-0} + prefetch))
    fi
  done <<<"$table"
  echo "$t: $n kernel objects, zmm ${tz:-0}, ymm ${ty:-0}, neon ${tv:-0}, prefetch ${tp:-0} instructions"
  unset tz ty tv tp
done
((checked > 0)) || bad "no kernel objects found in $archive"
exit $fail
