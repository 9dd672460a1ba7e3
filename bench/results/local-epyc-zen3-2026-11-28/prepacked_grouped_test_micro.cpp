// Evidence kept with these results (not built by the project): the prepacked 8-bit bag
// sum's exactness test (generators/float_ops.ll: a float32 fma where every lane of a vector
// is inside its window, the float64 formula otherwise) costs a compare, a mask and a branch
// per 8 lanes on AVX2. Would one test per 64-column tile (the 8 vectors' masks ANDed, one
// branch) be cheaper? Same formula, same bits (it prints "same"); L1-resident rows.
//   g++ -O2 -mavx2 -mfma -ffp-contract=off -o pp prepacked_grouped_test_micro.cpp
//   ./pp D ROWS
// On this VM, us per call of 10 bags of 100 (5 rounds each), per vector / per tile:
//   D=128, 2000 rows: 41.5-45.1 / 48.2-50.7; again (2 rounds) 46.1-50.3 / 51.7-53.4
//   D=512, 2000 rows: 146.9-201.9 / 177.9-231.1 (slower in every round)
// One test per tile keeps all 8 sums (acc + bias) live until the branch: with the 8
// accumulators that is more than AVX2's 16 registers. Not applied. (The kernel's own
// prepacked D=128 call on 2000 rows took 35.3-50.0 us in qembed_bench --paired --rows=2000:
// the same cost as the per-vector loop here.)
#include <immintrin.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>
static int D, RB;
static const int BAG = 100, BAGS = 10;
static inline __m256 slow(__m256 s, __m256 q, __m256 a) {
  __m256d r0 = _mm256_fmadd_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(s)),
                               _mm256_cvtps_pd(_mm256_castps256_ps128(q)),
                               _mm256_cvtps_pd(_mm256_castps256_ps128(a)));
  __m256d r1 = _mm256_fmadd_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(s, 1)),
                               _mm256_cvtps_pd(_mm256_extractf128_ps(q, 1)),
                               _mm256_cvtps_pd(_mm256_extractf128_ps(a, 1)));
  return _mm256_set_m128(_mm256_cvtpd_ps(r1), _mm256_cvtpd_ps(r0));
}
struct Row {
  __m256 S, B;
  __m256i lo2b, w2b;
};
static inline Row row_of(const uint8_t* r) {
  float s, b;
  memcpy(&s, r + D, 4);
  memcpy(&b, r + D + 4, 4);
  uint32_t sb;
  memcpy(&sb, &s, 4);
  int32_t e = sb & 0x7f800000;
  int32_t lo = std::max(e - (20 << 23), 0);
  int32_t hi = std::min(e, (255 - 29) << 23) + (29 << 23);
  if ((sb & 0x7fffffff) == 0) hi = 255 << 23;
  Row R;
  R.S = _mm256_set1_ps(s);
  R.B = _mm256_set1_ps(b);
  R.lo2b = _mm256_set1_epi32((int32_t)((uint32_t)(2 * lo) - 0x80000000u));
  R.w2b = _mm256_set1_epi32((int32_t)((uint32_t)(2 * (hi - lo)) ^ 0x80000000u));
  return R;
}
static inline __m256i exact(__m256 a, const Row& R) {
  __m256i m2 = _mm256_add_epi32(_mm256_castps_si256(a), _mm256_castps_si256(a));
  __m256i off = _mm256_sub_epi32(m2, R.lo2b);
  return _mm256_or_si256(_mm256_cmpgt_epi32(R.w2b, off),
                         _mm256_cmpeq_epi32(m2, _mm256_setzero_si256()));
}
static inline __m256 q8(const uint8_t* p) {
  return _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i*)p)));
}
template <int GROUPED>
__attribute__((noinline)) void run(const uint8_t* T, const int64_t* idx, float* out) {
  for (int b = 0; b < BAGS; ++b)
    for (int t = 0; t < D; t += 64) {
      __m256 acc[8];
      for (int k = 0; k < 8; ++k) acc[k] = _mm256_setzero_ps();
      for (int j = b * BAG; j < (b + 1) * BAG; ++j) {
        const uint8_t* r = T + idx[j] * RB;
        Row R = row_of(r);
        if (GROUPED) {
          __m256 a[8];
          __m256i all = _mm256_set1_epi32(-1);
          for (int k = 0; k < 8; ++k) {
            a[k] = _mm256_add_ps(acc[k], R.B);
            all = _mm256_and_si256(all, exact(a[k], R));
          }
          if (__builtin_expect(_mm256_movemask_ps(_mm256_castsi256_ps(all)) == 0xff, 1)) {
            for (int k = 0; k < 8; ++k) acc[k] = _mm256_fmadd_ps(R.S, q8(r + t + 8 * k), a[k]);
          } else {
            for (int k = 0; k < 8; ++k) acc[k] = slow(R.S, q8(r + t + 8 * k), a[k]);
          }
        } else {
          for (int k = 0; k < 8; ++k) {
            __m256 a = _mm256_add_ps(acc[k], R.B);
            __m256 q = q8(r + t + 8 * k);
            if (__builtin_expect(_mm256_movemask_ps(_mm256_castsi256_ps(exact(a, R))) == 0xff, 1))
              acc[k] = _mm256_fmadd_ps(R.S, q, a);
            else
              acc[k] = slow(R.S, q, a);
          }
        }
      }
      for (int k = 0; k < 8; ++k) _mm256_storeu_ps(out + b * D + t + 8 * k, acc[k]);
    }
}
int main(int argc, char** argv) {
  if (argc != 3 || atoi(argv[1]) < 64 || atoi(argv[1]) % 64 != 0 || atoll(argv[2]) < 1) {
    fprintf(stderr, "usage: %s D ROWS   (D a multiple of 64)\n", argv[0]);
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
    float s = 0.01f + (g() % 1000) * 1e-5f, z = -(float)(g() % 1000) * 0.0137f;
    memcpy(r + D, &s, 4);
    memcpy(r + D + 4, &z, 4);
  }
  const int n = BAGS * BAG, sets = 100;
  std::vector<int64_t> idx(n * sets);
  for (auto& i : idx) i = g() % rows;
  std::vector<float> a(BAGS * D), b(BAGS * D);
  for (int rep = 0; rep < 5; ++rep) {
    double t0s = 0, t1s = 0;
    for (int s = 0; s < sets; ++s) {
      auto t0 = std::chrono::steady_clock::now();
      run<0>(T.data(), idx.data() + s * n, a.data());
      auto t1 = std::chrono::steady_clock::now();
      run<1>(T.data(), idx.data() + ((s + 50) % sets) * n, b.data());
      auto t2 = std::chrono::steady_clock::now();
      t0s += std::chrono::duration<double, std::micro>(t1 - t0).count();
      t1s += std::chrono::duration<double, std::micro>(t2 - t1).count();
    }
    run<0>(T.data(), idx.data(), a.data());
    run<1>(T.data(), idx.data(), b.data());
    printf("D=%d rows=%lld per-vector %.1f grouped %.1f %s\n", D, (long long)rows, t0s / sets,
           t1s / sets, memcmp(a.data(), b.data(), a.size() * 4) ? "DIFFERENT" : "same");
  }
}
