; Floating-point operations the lookup kernels need and Halide 14 cannot emit on their own
; (generators/llvm_helpers.h says on which targets each is used):
;
; qembed_fma_f64(a, b, c): fma(a, b, c) in float64, one rounding. Halide 14 has no fma
;   intrinsic, and strict_float (which the bit-exact kernels need) forbids LLVM to fuse
;   a * b + c. The prepacked formats' accumulate computes fl64(scale * q + acc) where the
;   product of a float32 and an 8-bit code is exact in float64: the fma rounds exactly
;   where the multiply-add does, in one instruction instead of two.
; qembed_f16_to_f32(bits): the float16 with these bits as a float32 (exact). Halide 14
;   emulates this cast with integer operations on x86 even where F16C converts 16 values
;   in one vcvtph2ps.
;
; Halide calls the scalar functions per element (pure externs); its code generator calls
; the xN versions on N lanes at a time (its naming convention for vector versions).

define weak_odr hidden double @qembed_fma_f64(double %a, double %b, double %c) #0 {
  %r = call double @llvm.fma.f64(double %a, double %b, double %c)
  ret double %r
}

define weak_odr hidden <8 x double> @qembed_fma_f64x8(<8 x double> %a, <8 x double> %b,
                                                      <8 x double> %c) #0 {
  %r = call <8 x double> @llvm.fma.v8f64(<8 x double> %a, <8 x double> %b, <8 x double> %c)
  ret <8 x double> %r
}

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
declare <8 x double> @llvm.fma.v8f64(<8 x double>, <8 x double>, <8 x double>)

attributes #0 = { alwaysinline nounwind readnone }
