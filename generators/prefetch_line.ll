; The software prefetch of the lookup kernels (generators/prefetch_stage.cpp): Halide 14
; lowers its prefetch intrinsic to a call of the runtime helper _halide_prefetch, which
; asks for locality 0 (prefetchnta on x86, prfm pldl1strm on ARM). On Intel Xeons such
; lines skip L2 and are dropped from the non-inclusive L3, so a row read after it left L1
; comes from DRAM again: an L3-resident TBE table ran 5x slower than FBGEMM's kernels.
; This definition replaces the helper (Halide's is linkonce once in its module, and a
; weak definition linked in as external code takes precedence) with locality 3:
; prefetcht0 / prfm pldl1keep, as FBGEMM's kernels and the roofline loop
; (runtime/row_prefetch.h) use. cmake/embed_bitcode.cmake adds each target's data layout.

define weak_odr hidden i32 @_halide_prefetch(i8* %line) #0 {
  call void @llvm.prefetch.p0i8(i8* %line, i32 0, i32 3, i32 1)
  ret i32 0
}

declare void @llvm.prefetch.p0i8(i8* nocapture readonly, i32 immarg, i32 immarg, i32 immarg)

attributes #0 = { alwaysinline nounwind }
