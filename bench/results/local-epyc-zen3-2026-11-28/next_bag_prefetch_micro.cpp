// Evidence kept with these results (not built by the project): in a bag's later column
// passes the kernels' per-tile prefetch finds most lines already fetched by the first
// pass (the tile-0 span and the qparams' line cover a row of up to 3 lines), so memory
// idles while those passes compute. Does asking for the NEXT bag's whole rows in passes
// 1..P-1 (spread evenly, on top of the per-tile requests) keep memory busy and win?
// Same adds in the same order: the same bits (it prints DIFFERENT otherwise). 10 bags of
// 100, 8-bit rows of D + 8 bytes, prefetch distance 32 (the AVX2 schedule's).
//   g++ -O2 -mavx2 -mfma -ffp-contract=off -o micro next_bag_prefetch_micro.cpp
//   ./micro D ROWS [DIST]      (D a multiple of 64)
// On this VM, 4M rows (cold), median call of 400, per-tile / plus next bag, five rounds:
//   D=128: 144.8/151.9, 138.1/144.5, 147.5/154.3, 149.1/155.6, 149.9/157.0 us
//   D=256: 131.6/251.4, 131.2/252.4, 153.6/284.1, 136.4/265.2, 157.8/271.5 us
// Slower (D=256 by 1.9x): the extra requests fill the fill buffers and the L1 that the
// current passes need. A first version that instead moved all prefetching to one whole
// row every P-th iteration, DIST entries ahead of the bag's start, was slower still
// (D=128 1.6x, D=256 1.9x): the rows late in a bag were asked for after their first pass.
// Not applied.
#include <immintrin.h>
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>
static inline void pf(const void* p) { asm volatile("prefetcht0 %0" : : "m"(*(const char*)p)); }
static int D, RB, P;
static const int BAG = 100, BAGS = 10;
static int DIST = 32;
template <bool RATE>
__attribute__((noinline)) void tiles(const uint8_t* T, const int64_t* idx, int n, float* out) {
  for (int b = 0; b < BAGS; ++b) {
    for (int t = 0; t < D; t += 64) {
      __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
      const int pass = t / 64;
      for (int r = 0; r < BAG; ++r) {
        const int j = b * BAG + r;
        {
          const uint8_t* ah = T + idx[std::min(j + DIST, n - 1)] * RB;
          pf(ah + t);
          pf(ah + t + 63);
          pf(ah + RB - 1);
        }
        if (RATE && pass > 0) {  // the next bag's rows, spread over passes 1..P-1
          const int k = (pass - 1) * BAG + r;
          if (k % (P - 1) == 0) {
            const uint8_t* ah = T + idx[std::min((b + 1) * BAG + k / (P - 1), n - 1)] * RB;
            for (int l = 0; l < RB; l += 64) pf(ah + l);
            pf(ah + RB - 1);
          }
        }
        const uint8_t* row = T + idx[j] * RB;
        float s, z;
        memcpy(&s, row + D, 4);
        memcpy(&z, row + D + 4, 4);
        const __m256 S = _mm256_set1_ps(s), Z = _mm256_set1_ps(z);
#define STEP(k, a) a = _mm256_add_ps(a, _mm256_mul_ps(_mm256_sub_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i*)(row + t + 8 * k)))), Z), S));
        STEP(0, a0) STEP(1, a1) STEP(2, a2) STEP(3, a3) STEP(4, a4) STEP(5, a5) STEP(6, a6) STEP(7, a7)
      }
      float* o = out + b * D + t;
      _mm256_storeu_ps(o, a0); _mm256_storeu_ps(o + 8, a1); _mm256_storeu_ps(o + 16, a2);
      _mm256_storeu_ps(o + 24, a3); _mm256_storeu_ps(o + 32, a4); _mm256_storeu_ps(o + 40, a5);
      _mm256_storeu_ps(o + 48, a6); _mm256_storeu_ps(o + 56, a7);
    }
  }
}
int main(int argc, char** argv) {
  if (argc < 3) { fprintf(stderr, "usage: %s D ROWS [DIST]\n", argv[0]); return 2; }
  D = atoi(argv[1]);
  const int64_t rows = atoll(argv[2]);
  if (argc > 3) DIST = atoi(argv[3]);
  RB = D + 8; P = D / 64;
  std::vector<uint8_t> T(rows * RB);
  std::mt19937_64 g(1);
  for (size_t i = 0; i + 8 <= T.size(); i += 8) { uint64_t v = g(); memcpy(&T[i], &v, 8); }
  for (int64_t i = 0; i < rows; ++i) {
    uint8_t* r = T.data() + i * RB;
    float s = 0.01f + (g() % 1000) * 1e-5f, z = (g() % 1000) * 0.137f;
    memcpy(r + D, &s, 4); memcpy(r + D + 4, &z, 4);
  }
  const int n = BAGS * BAG, sets = 400;
  std::vector<int64_t> idx(n * sets);
  for (auto& i : idx) i = g() % rows;
  std::vector<float> a(BAGS * D), b(BAGS * D);
  for (int rep = 0; rep < 5; ++rep) {
    std::vector<double> ta, tb;
    for (int s = 0; s < sets; ++s) {
      auto t0 = std::chrono::steady_clock::now();
      tiles<false>(T.data(), idx.data() + s * n, n, a.data());
      auto t1 = std::chrono::steady_clock::now();
      tiles<true>(T.data(), idx.data() + ((s + sets / 2) % sets) * n, n, b.data());
      auto t2 = std::chrono::steady_clock::now();
      ta.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
      tb.push_back(std::chrono::duration<double, std::micro>(t2 - t1).count());
    }
    std::nth_element(ta.begin(), ta.begin() + sets / 2, ta.end());
    std::nth_element(tb.begin(), tb.begin() + sets / 2, tb.end());
    printf("D=%d rows=%lld dist=%d: per-tile %.1f us  rate-matched %.1f us  (median call)\n", D, (long long)rows, DIST, ta[sets / 2], tb[sets / 2]);
    tiles<false>(T.data(), idx.data(), n, a.data());
    tiles<true>(T.data(), idx.data(), n, b.data());
    if (memcmp(a.data(), b.data(), a.size() * 4) != 0) printf("DIFFERENT\n");
  }
}
