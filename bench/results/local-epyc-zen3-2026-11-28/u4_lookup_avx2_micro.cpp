// Evidence kept with these results (not built by the project): does a 16-entry lookup
// (two vpermps and a blend per 8 codes, as the AVX-512 kernels look 16 up in one) beat the
// convert, subtract and multiply for 4-bit rows on AVX2? Both loops accumulate 64-column
// tiles of D = 128 rows that stay in L1, bit for bit the same sums (same=1).
//   g++ -O2 -mavx2 -mfma -ffp-contract=off -o micro u4_lookup_avx2_micro.cpp && ./micro
// On this VM (Zen 3), three runs: convert 16.2-18.1 ns/row, lookup 23.2-23.9: the lookup loses.
#include <immintrin.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>
static const int D = 128, ROWS = 256, BAG = 100, BAGS = 2000;
struct Row {
  uint8_t q[D / 2];
  float s, zp;
};
__attribute__((noinline)) void conv(const Row* rows, const int* idx, float* out) {
  const __m256i mask = _mm256_set1_epi32(15);
  for (int b = 0; b < BAGS; ++b) {
    for (int t = 0; t < D; t += 64) {  // 64 columns: 8 accumulators (even/odd x 4)
      __m256 acc[8];
      for (int k = 0; k < 8; ++k) acc[k] = _mm256_setzero_ps();
      for (int j = 0; j < BAG; ++j) {
        const Row& r = rows[idx[b * BAG + j]];
        const __m256 zp = _mm256_set1_ps(r.zp), s = _mm256_set1_ps(r.s);
        for (int k = 0; k < 4; ++k) {
          __m256i w = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i*)(r.q + t / 2 + 8 * k)));
          __m256 e = _mm256_cvtepi32_ps(_mm256_and_si256(w, mask));
          __m256 o = _mm256_cvtepi32_ps(_mm256_srli_epi32(w, 4));
          acc[2 * k] = _mm256_add_ps(acc[2 * k], _mm256_mul_ps(_mm256_sub_ps(e, zp), s));
          acc[2 * k + 1] = _mm256_add_ps(acc[2 * k + 1], _mm256_mul_ps(_mm256_sub_ps(o, zp), s));
        }
      }
      for (int k = 0; k < 8; ++k) _mm256_storeu_ps(out + b * D + t + 8 * k, acc[k]);
    }
  }
}
__attribute__((noinline)) void lut(const Row* rows, const int* idx, float* out) {
  const __m256 lo_k = _mm256_setr_ps(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256 hi_k = _mm256_setr_ps(8, 9, 10, 11, 12, 13, 14, 15);
  for (int b = 0; b < BAGS; ++b) {
    for (int t = 0; t < D; t += 64) {
      __m256 acc[8];
      for (int k = 0; k < 8; ++k) acc[k] = _mm256_setzero_ps();
      for (int j = 0; j < BAG; ++j) {
        const Row& r = rows[idx[b * BAG + j]];
        const __m256 zp = _mm256_set1_ps(r.zp), s = _mm256_set1_ps(r.s);
        const __m256 tlo = _mm256_mul_ps(_mm256_sub_ps(lo_k, zp), s);
        const __m256 thi = _mm256_mul_ps(_mm256_sub_ps(hi_k, zp), s);
        for (int k = 0; k < 4; ++k) {
          __m256i w = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i*)(r.q + t / 2 + 8 * k)));
          __m256i o = _mm256_srli_epi32(w, 4);
          __m256 ev =
              _mm256_blendv_ps(_mm256_permutevar8x32_ps(tlo, w), _mm256_permutevar8x32_ps(thi, w),
                               _mm256_castsi256_ps(_mm256_slli_epi32(w, 28)));
          __m256 ov =
              _mm256_blendv_ps(_mm256_permutevar8x32_ps(tlo, o), _mm256_permutevar8x32_ps(thi, o),
                               _mm256_castsi256_ps(_mm256_slli_epi32(o, 28)));
          acc[2 * k] = _mm256_add_ps(acc[2 * k], ev);
          acc[2 * k + 1] = _mm256_add_ps(acc[2 * k + 1], ov);
        }
      }
      for (int k = 0; k < 8; ++k) _mm256_storeu_ps(out + b * D + t + 8 * k, acc[k]);
    }
  }
}
int main() {
  std::mt19937 g(1);
  std::vector<Row> rows(ROWS);
  for (auto& r : rows) {
    for (auto& q : r.q) q = g();
    r.s = 0.01f + (g() % 1000) * 1e-5f;
    r.zp = (g() % 1000) * 0.0137f;
  }
  std::vector<int> idx(BAGS * BAG);
  for (auto& i : idx) i = g() % ROWS;
  std::vector<float> a(BAGS * D), b(BAGS * D);
  for (int rep = 0; rep < 5; ++rep) {
    auto t0 = std::chrono::steady_clock::now();
    conv(rows.data(), idx.data(), a.data());
    auto t1 = std::chrono::steady_clock::now();
    lut(rows.data(), idx.data(), b.data());
    auto t2 = std::chrono::steady_clock::now();
    double n = double(BAGS) * BAG;
    printf("conv %.2f ns/row  lut %.2f ns/row  same=%d\n",
           std::chrono::duration<double, std::nano>(t1 - t0).count() / n,
           std::chrono::duration<double, std::nano>(t2 - t1).count() / n,
           memcmp(a.data(), b.data(), a.size() * 4) == 0);
  }
}
