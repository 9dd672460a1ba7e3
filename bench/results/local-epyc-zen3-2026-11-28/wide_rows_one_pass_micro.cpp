// Evidence kept with these results (not built by the project): for wide 8-bit rows on
// AVX2, do column tiles of 64 (8 register accumulators, one pass over the bag per tile, as
// the kernels do) lose to one pass per row with the bag's accumulators in an L1-resident
// array (each row's lines read and prefetched together)? Same adds in the same order: the
// same bits (it prints DIFFERENT otherwise). 10 bags of 100, prefetch distance 32.
//   g++ -O2 -mavx2 -mfma -ffp-contract=off -o micro wide_rows_one_pass_micro.cpp
//   ./micro D ROWS      (D a multiple of 64)
// On this VM, us per call, tiles / one pass (two or three runs each):
//   D=128: 2000 rows 17.5-21.2 / 23.0-26.1; 2M rows (cold) 57.7-68.2 / 83.8-98.1
//   D=512: 2000 rows 73.0-76.0 / 76.2-77.0; 2M rows (cold) 224.8-279.3 / 372.7-408.6
// The tiles win, cold by 1.4x-1.7x: the kernels keep them.
#include <immintrin.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>
static inline void pf(const void* p) { asm volatile("prefetcht0 %0" : : "m"(*(const char*)p)); }
static int D, RB;  // row bytes = D + 8 (scale, zp)
static const int BAG = 100, BAGS = 10, DIST = 32;
__attribute__((noinline)) void tiles(const uint8_t* T, const int64_t* idx, int n, float* out) {
  for (int b = 0; b < BAGS; ++b) {
    for (int t = 0; t < D; t += 64) {
      __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0,
             a7 = a0;
      for (int j = b * BAG; j < (b + 1) * BAG; ++j) {
        const uint8_t* ah = T + idx[std::min(j + DIST, n - 1)] * RB;
        pf(ah + t);
        pf(ah + t + 63);
        pf(ah + RB - 1);
        const uint8_t* r = T + idx[j] * RB;
        float s, z;
        memcpy(&s, r + D, 4);
        memcpy(&z, r + D + 4, 4);
        const __m256 S = _mm256_set1_ps(s), Z = _mm256_set1_ps(z);
#define STEP(k, a)                                                                           \
  a = _mm256_add_ps(                                                                         \
      a, _mm256_mul_ps(_mm256_sub_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(                \
                                         _mm_loadl_epi64((const __m128i*)(r + t + 8 * k)))), \
                                     Z),                                                     \
                       S));
        STEP(0, a0)
        STEP(1, a1) STEP(2, a2) STEP(3, a3) STEP(4, a4) STEP(5, a5) STEP(6, a6) STEP(7, a7)
      }
      float* o = out + b * D + t;
      _mm256_storeu_ps(o, a0);
      _mm256_storeu_ps(o + 8, a1);
      _mm256_storeu_ps(o + 16, a2);
      _mm256_storeu_ps(o + 24, a3);
      _mm256_storeu_ps(o + 32, a4);
      _mm256_storeu_ps(o + 40, a5);
      _mm256_storeu_ps(o + 48, a6);
      _mm256_storeu_ps(o + 56, a7);
    }
  }
}
__attribute__((noinline)) void rowmajor(const uint8_t* T, const int64_t* idx, int n, float* out) {
  alignas(64) float acc[4096];
  for (int b = 0; b < BAGS; ++b) {
    for (int c = 0; c < D; c += 8) _mm256_store_ps(acc + c, _mm256_setzero_ps());
    for (int j = b * BAG; j < (b + 1) * BAG; ++j) {
      const uint8_t* ah = T + idx[std::min(j + DIST, n - 1)] * RB;
      for (int l = 0; l < RB; l += 64) pf(ah + l);
      pf(ah + RB - 1);
      const uint8_t* r = T + idx[j] * RB;
      float s, z;
      memcpy(&s, r + D, 4);
      memcpy(&z, r + D + 4, 4);
      const __m256 S = _mm256_set1_ps(s), Z = _mm256_set1_ps(z);
      for (int c = 0; c < D; c += 16) {
        __m256 v0 =
            _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i*)(r + c))));
        __m256 v1 =
            _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i*)(r + c + 8))));
        _mm256_store_ps(acc + c, _mm256_add_ps(_mm256_load_ps(acc + c),
                                               _mm256_mul_ps(_mm256_sub_ps(v0, Z), S)));
        _mm256_store_ps(acc + c + 8, _mm256_add_ps(_mm256_load_ps(acc + c + 8),
                                                   _mm256_mul_ps(_mm256_sub_ps(v1, Z), S)));
      }
    }
    memcpy(out + b * D, acc, D * 4);
  }
}
int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s D ROWS\n", argv[0]);
    return 2;
  }
  D = atoi(argv[1]);
  const int64_t rows = atoll(argv[2]);
  RB = D + 8;
  std::vector<uint8_t> T(rows * RB);
  std::mt19937_64 g(1);
  for (int64_t i = 0; i < rows; ++i) {
    uint8_t* r = T.data() + i * RB;
    for (int c = 0; c < D; ++c) r[c] = g();
    float s = 0.01f + (g() % 1000) * 1e-5f, z = (g() % 1000) * 0.137f;
    memcpy(r + D, &s, 4);
    memcpy(r + D + 4, &z, 4);
  }
  const int n = BAGS * BAG, sets = 200;
  std::vector<int64_t> idx(n * sets);
  for (auto& i : idx) i = g() % rows;
  std::vector<float> a(BAGS * D), b(BAGS * D);
  for (int rep = 0; rep < 4; ++rep) {
    double sa = 0, sb = 0;  // each loop on its own index sets (half the sets apart)
    for (int s = 0; s < sets; ++s) {
      auto t0 = std::chrono::steady_clock::now();
      tiles(T.data(), idx.data() + s * n, n, a.data());
      auto t1 = std::chrono::steady_clock::now();
      rowmajor(T.data(), idx.data() + ((s + sets / 2) % sets) * n, n, b.data());
      auto t2 = std::chrono::steady_clock::now();
      sa += std::chrono::duration<double, std::micro>(t1 - t0).count();
      sb += std::chrono::duration<double, std::micro>(t2 - t1).count();
    }
    printf("D=%d rows=%lld: tiles %.1f us/call  rowmajor %.1f us/call\n", D, (long long)rows,
           sa / sets, sb / sets);
    tiles(T.data(), idx.data(), n, a.data());
    rowmajor(T.data(), idx.data(), n, b.data());
    if (memcmp(a.data(), b.data(), a.size() * 4) != 0) printf("DIFFERENT\n");
  }
}
