; 4-bit codes as table lookups, for AVX-512 targets. The dequantize of rows with fused float
; qparams (generators/dequantize_stage.cpp): a row's 16 possible values
; fl(fl(q - zp) * scale), q = 0..15, fill one zmm register, so 16 columns dequantize with
; one vpermps (which reads the low 4 bits of each index) instead of a convert, a
; subtract and a multiply: the same roundings of the same operands, so the same bits.
;
; Halide calls qembed_dequant_u4(code, zp, scale) per element (a pure extern), and its
; code generator calls the x16 version on 16 lanes at a time (its naming convention for
; vector versions). Bits of `code` above the low 4 are ignored, so callers may pass a
; shifted byte without masking it. The lookup needs zp and scale to be the same in all
; 16 lanes (one row's); the x16 version checks that and computes lane by lane when not.
; In the kernels they are broadcasts of one row's qparams, and LLVM folds the check away.

define weak_odr hidden float @qembed_dequant_u4(i32 %code, float %zp, float %scale) #0 {
  %q = and i32 %code, 15
  %qf = sitofp i32 %q to float
  %d = fsub float %qf, %zp
  %v = fmul float %d, %scale
  ret float %v
}

define weak_odr hidden <16 x float> @qembed_dequant_u4x16(<16 x i32> %code, <16 x float> %zp,
                                                          <16 x float> %scale) #0 {
entry:
  %zp0 = shufflevector <16 x float> %zp, <16 x float> poison, <16 x i32> zeroinitializer
  %s0 = shufflevector <16 x float> %scale, <16 x float> poison, <16 x i32> zeroinitializer
  ; Uniform lanes: compared as bits (a NaN is equal to itself here).
  %zpi = bitcast <16 x float> %zp to <16 x i32>
  %zp0i = bitcast <16 x float> %zp0 to <16 x i32>
  %si = bitcast <16 x float> %scale to <16 x i32>
  %s0i = bitcast <16 x float> %s0 to <16 x i32>
  %same_zp = icmp eq <16 x i32> %zpi, %zp0i
  %same_s = icmp eq <16 x i32> %si, %s0i
  %same = and <16 x i1> %same_zp, %same_s
  %mask = bitcast <16 x i1> %same to i16
  %uniform = icmp eq i16 %mask, -1
  br i1 %uniform, label %lookup, label %per_lane
lookup:
  %d = fsub <16 x float> <float 0.0, float 1.0, float 2.0, float 3.0, float 4.0, float 5.0,
                          float 6.0, float 7.0, float 8.0, float 9.0, float 10.0, float 11.0,
                          float 12.0, float 13.0, float 14.0, float 15.0>, %zp0
  %table = fmul <16 x float> %d, %s0
  %looked_up = call <16 x float> @llvm.x86.avx512.permvar.sf.512(<16 x float> %table,
                                                                   <16 x i32> %code)
  br label %done
per_lane:
  %q = and <16 x i32> %code, <i32 15, i32 15, i32 15, i32 15, i32 15, i32 15, i32 15, i32 15,
                              i32 15, i32 15, i32 15, i32 15, i32 15, i32 15, i32 15, i32 15>
  %qf = sitofp <16 x i32> %q to <16 x float>
  %d2 = fsub <16 x float> %qf, %zp
  %computed = fmul <16 x float> %d2, %scale
  br label %done
done:
  %v = phi <16 x float> [ %looked_up, %lookup ], [ %computed, %per_lane ]
  ret <16 x float> %v
}

; qembed_u4_code(code): the low 4 bits of `code` as a float32, for the prepacked 4-bit rows
; (generators/scale_bias_stage.cpp), whose codes enter an fma as they are: the same
; lookup with the table 0..15, one vpermps for a mask and a convert.
define weak_odr hidden float @qembed_u4_code(i32 %code) #0 {
  %q = and i32 %code, 15
  %qf = sitofp i32 %q to float
  ret float %qf
}

define weak_odr hidden <16 x float> @qembed_u4_codex16(<16 x i32> %code) #0 {
  %qf = call <16 x float> @llvm.x86.avx512.permvar.sf.512(
      <16 x float> <float 0.0, float 1.0, float 2.0, float 3.0, float 4.0, float 5.0, float 6.0,
                    float 7.0, float 8.0, float 9.0, float 10.0, float 11.0, float 12.0,
                    float 13.0, float 14.0, float 15.0>, <16 x i32> %code)
  ret <16 x float> %qf
}

declare <16 x float> @llvm.x86.avx512.permvar.sf.512(<16 x float>, <16 x i32>)

attributes #0 = { alwaysinline nounwind readnone }
