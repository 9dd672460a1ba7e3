/* A generated kernel linked straight into an app, without libqembed: the f32 lookup
 * pipeline's self-dispatching entry point (it picks the best compiled target for this
 * CPU on first call). The caller owns validation: indices must be in range. */
#include <stdio.h>
#include <string.h>

#include "qembed_kernels.h"

static halide_buffer_t view(void* host, struct halide_type_t type, halide_dimension_t* dims,
                            int n) {
  halide_buffer_t b;
  memset(&b, 0, sizeof b);
  b.host = (uint8_t*)host;
  b.type = type;
  b.dimensions = n;
  b.dim = dims;
  return b;
}

int main(void) {
  enum { ROWS = 10, DIM = 4, N = 3 };
  float table[ROWS * DIM], out[N * DIM], unused = 0.0f;
  for (int i = 0; i < ROWS * DIM; ++i) table[i] = (float)i;
  int32_t idx[N] = {9, 0, 4};

  const struct halide_type_t f32 = {halide_type_float, 32, 1}, i32 = {halide_type_int, 32, 1};
  halide_dimension_t tdims[2] = {{0, DIM, 1, 0}, {0, ROWS, DIM, 0}};
  halide_dimension_t odims[2] = {{0, DIM, 1, 0}, {0, N, DIM, 0}};
  halide_dimension_t idims[1] = {{0, N, 1, 0}}, qdims[1] = {{0, 1, 1, 0}};
  halide_buffer_t t = view(table, f32, tdims, 2), o = view(out, f32, odims, 2);
  halide_buffer_t in = view(idx, i32, idims, 1);
  halide_buffer_t s = view(&unused, f32, qdims, 1), z = view(&unused, f32, qdims, 1);

  const int rc = qembed_k_embedding_f32_int32(DIM, &t, &s, &z, &in, 0, 0.0, 2.0,
                                              /*prefetch_distance=*/16, &o);
  int bad = rc != 0;
  for (int r = 0; r < N && !bad; ++r) {
    bad = memcmp(&out[r * DIM], &table[idx[r] * DIM], sizeof(float) * DIM) != 0;
  }
  printf("qembed kernel qembed_k_embedding_f32_int32: rc %d, rows %s\n", rc,
         bad ? "WRONG" : "exact");
  return bad;
}
