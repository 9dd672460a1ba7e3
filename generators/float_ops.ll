; Floating-point operations the lookup kernels need and Halide 14 cannot emit on their own
; (generators/llvm_helpers.h says on which targets each is used):
;
; qembed_rowwise_acc(acc, q, s, b, lo, width): one step of PyTorch's rowwise ops on
;   prepacked rows (generators/scale_bias_stage.h), fl32(fl64(s * q + fl32(acc + b))) for
;   float32 s, b, acc and a code q in [0, 255]. The scalar version is that formula (s * q
;   is exact in float64, so it is one float64 fma). The vector version takes one float32
;   fma, which rounds once, in every lane where that gives the same bits, and the float64
;   formula otherwise. The two differ only where the exact x = s * q + a (a = fl32(acc +
;   b)) is not a float64, so that fl64 can round it onto a float32 tie (1 + 2^-24 + 2^-55
;   rounds to 1 + 2^-24, whose float32 rounding is 1; x's own is 1 + 2^-23). x is a
;   float64 where a = 0, s = 0, or the exponents of s and a are close: with s = Ms 2^Es,
;   a = Ma 2^Ea, integers |Ms|, |Ma| < 2^24 (Es, Ea the exponents of their last bits),
;   |Ms q| < 2^32 and x = N 2^min(Es, Ea) with |N| < 2^53 when -28 <= Es - Ea <= 20. The
;   caller passes that window as bits of |a| (which order like |a|): lanes with
;   |a| - lo < width (unsigned) are exact; llvm_helpers.cpp derives lo and width from s.
;   Infinities and NaNs of s give the same bits both ways (IEEE rules); a outside the
;   window (infinite or NaN included) takes the float64 formula.
; qembed_f16_to_f32(bits): the float16 with these bits as a float32 (exact). Halide 14
;   emulates this cast with integer operations on x86 even where F16C converts 16 values
;   in one vcvtph2ps.
;
; Halide calls the scalar functions per element (pure externs); its code generator calls
; the xN versions on N lanes at a time (its naming convention for vector versions).

define weak_odr hidden float @qembed_rowwise_acc(float %acc, float %q, float %s, float %b,
                                                i32 %lo, i32 %width) #0 {
  %a = fadd float %acc, %b
  %s64 = fpext float %s to double
  %q64 = fpext float %q to double
  %a64 = fpext float %a to double
  %x = call double @llvm.fma.f64(double %s64, double %q64, double %a64)
  %r = fptrunc double %x to float
  ret float %r
}

; The vector versions, one per width Halide may call (cmake/embed_bitcode.cmake writes the
; block once per width, @W@ replaced): an exact width, so no lane is padding whose undefined
; value would decide the branch.
; @for_each_width 2 4 8 16
define weak_odr hidden <@W@ x float> @qembed_rowwise_accx@W@(<@W@ x float> %acc, <@W@ x float> %q,
                                                           <@W@ x float> %s, <@W@ x float> %b,
                                                           <@W@ x i32> %lo,
                                                           <@W@ x i32> %width) #0 {
entry:
  %a = fadd <@W@ x float> %acc, %b
  %a_abs = call <@W@ x float> @llvm.fabs.v@W@f32(<@W@ x float> %a)
  %a_mag = bitcast <@W@ x float> %a_abs to <@W@ x i32>
; @arch x86_64
  %a_off = sub <@W@ x i32> %a_mag, %lo
  %in_window = icmp ult <@W@ x i32> %a_off, %width
  %a_zero = icmp eq <@W@ x i32> %a_mag, zeroinitializer
  %exact = or <@W@ x i1> %in_window, %a_zero
  %exact_bits = bitcast <@W@ x i1> %exact to i@W@  ; kortest on AVX-512, movmsk on AVX2
  %all_exact = icmp eq i@W@ %exact_bits, -1
; @end_arch
; @arch arm_64
  ; AArch64 moves an i1 vector's lanes out one by one (LLVM turns any i1 reduction into
  ; that bitcast), so the test stays in int32 lanes: a lane is inexact when the sign bit
  ; of (off | ~(off - width)) & -|a| is set (off = |a| - lo < 0: below the window;
  ; off - width >= 0: above it; |a| = 0: exact; every operand is in [0, 2^31)), and one
  ; sminv finds any such lane.
  %a_off = sub <@W@ x i32> %a_mag, %lo
  %past = sub <@W@ x i32> %a_off, %width
  %minus_one = insertelement <@W@ x i32> undef, i32 -1, i32 0
  %all_ones = shufflevector <@W@ x i32> %minus_one, <@W@ x i32> undef, <@W@ x i32> zeroinitializer
  %not_past = xor <@W@ x i32> %past, %all_ones
  %outside = or <@W@ x i32> %a_off, %not_past
  %neg_mag = sub <@W@ x i32> zeroinitializer, %a_mag
  %inexact_sign = and <@W@ x i32> %outside, %neg_mag
  %least = call i32 @llvm.vector.reduce.smin.v@W@i32(<@W@ x i32> %inexact_sign)
  %all_exact = icmp sge i32 %least, 0
; @end_arch
  %r = call <@W@ x float> @qembed_rowwise_stepx@W@(i1 %all_exact, <@W@ x float> %s,
                                                   <@W@ x float> %q, <@W@ x float> %a)
  ret <@W@ x float> %r
}

; The end of both vector families' step: one float32 fma where the caller found every lane
; exact, the float64 formula otherwise.
define weak_odr hidden <@W@ x float> @qembed_rowwise_stepx@W@(i1 %all_exact, <@W@ x float> %s,
                                                            <@W@ x float> %q,
                                                            <@W@ x float> %a) #0 {
entry:
  br i1 %all_exact, label %fast, label %float64, !prof !0

fast:
  %r = call <@W@ x float> @llvm.fma.v@W@f32(<@W@ x float> %s, <@W@ x float> %q, <@W@ x float> %a)
  ret <@W@ x float> %r

float64:
  %s64 = fpext <@W@ x float> %s to <@W@ x double>
  %q64 = fpext <@W@ x float> %q to <@W@ x double>
  %a64 = fpext <@W@ x float> %a to <@W@ x double>
  %x = call <@W@ x double> @llvm.fma.v@W@f64(<@W@ x double> %s64, <@W@ x double> %q64,
                                           <@W@ x double> %a64)
  %r64 = fptrunc <@W@ x double> %x to <@W@ x float>
  ret <@W@ x float> %r64
}

declare <@W@ x float> @llvm.fabs.v@W@f32(<@W@ x float>)
declare i32 @llvm.vector.reduce.smin.v@W@i32(<@W@ x i32>)
declare <@W@ x float> @llvm.fma.v@W@f32(<@W@ x float>, <@W@ x float>, <@W@ x float>)
declare <@W@ x double> @llvm.fma.v@W@f64(<@W@ x double>, <@W@ x double>, <@W@ x double>)
; @end_for_each_width

; @arch x86_64
; The same function for targets whose widest float vector has 8 lanes (AVX2, x86 only):
; Halide calls the widest version a name has, and AVX2 narrows a 16-lane mask through byte
; packs where 8 lanes take one vmovmskps. llvm_helpers.cpp picks the name. AVX2 compares
; signed only (an unsigned one is a max, a compare and a not), so the window test runs
; on 2|a| (a shift drops the sign: no mask register) with both sides of
; 2|a| - 2 lo <u 2 width biased by 2^31, which makes it one signed compare.
define weak_odr hidden float @qembed_rowwise_acc8(float %acc, float %q, float %s, float %b,
                                                 i32 %lo, i32 %width) #0 {
  %r = call float @qembed_rowwise_acc(float %acc, float %q, float %s, float %b, i32 %lo,
                                      i32 %width)
  ret float %r
}

; @for_each_width 2 4 8
define weak_odr hidden <@W@ x float> @qembed_rowwise_acc8x@W@(<@W@ x float> %acc,
                                                            <@W@ x float> %q,
                                                            <@W@ x float> %s,
                                                            <@W@ x float> %b,
                                                            <@W@ x i32> %lo,
                                                            <@W@ x i32> %width) #0 {
entry:
  %a = fadd <@W@ x float> %acc, %b
  %a_bits = bitcast <@W@ x float> %a to <@W@ x i32>
  %one = insertelement <@W@ x i32> undef, i32 1, i32 0
  %ones = shufflevector <@W@ x i32> %one, <@W@ x i32> undef, <@W@ x i32> zeroinitializer
  %bias = insertelement <@W@ x i32> undef, i32 -2147483648, i32 0
  %biases = shufflevector <@W@ x i32> %bias, <@W@ x i32> undef, <@W@ x i32> zeroinitializer
  %mag2 = shl <@W@ x i32> %a_bits, %ones
  %lo2 = shl <@W@ x i32> %lo, %ones
  %lo2_biased = sub <@W@ x i32> %lo2, %biases      ; per row: loop-invariant across columns
  %width2 = shl <@W@ x i32> %width, %ones
  %width2_biased = xor <@W@ x i32> %width2, %biases
  %off_biased = sub <@W@ x i32> %mag2, %lo2_biased  ; (2|a| - 2 lo) ^ 2^31
  %in_window = icmp slt <@W@ x i32> %off_biased, %width2_biased
  %a_zero = icmp eq <@W@ x i32> %mag2, zeroinitializer
  %exact = or <@W@ x i1> %in_window, %a_zero
  %exact_bits = bitcast <@W@ x i1> %exact to i@W@  ; one vmovmskps
  %all_exact = icmp eq i@W@ %exact_bits, -1
  %r = call <@W@ x float> @qembed_rowwise_stepx@W@(i1 %all_exact, <@W@ x float> %s,
                                                   <@W@ x float> %q, <@W@ x float> %a)
  ret <@W@ x float> %r
}
; @end_for_each_width
; @end_arch

define weak_odr hidden float @qembed_f16_to_f32(i16 %bits) #0 {
  %h = bitcast i16 %bits to half
  %f = fpext half %h to float
  ret float %f
}

define weak_odr hidden <16 x float> @qembed_f16_to_f32x16(<16 x i16> %bits) #0 {
  %h = bitcast <16 x i16> %bits to <16 x half>
  %f = fpext <16 x half> %h to <16 x float>
  ret <16 x float> %f
}

declare double @llvm.fma.f64(double, double, double)

attributes #0 = { alwaysinline nounwind readnone }

; The float64 path is for rare lanes: keep it out of the loop body's straight line.
!0 = !{!"branch_weights", i32 1000000, i32 1}
