/* qembed's C ABI from C: an 8-bit per-tensor Embedding, a lookup, and a rejected call. */
#include <stdio.h>

#include "qembed/qembed.h"

int main(void) {
  enum { ROWS = 16, DIM = 8 };
  float weight[ROWS * DIM];
  for (int i = 0; i < ROWS * DIM; ++i) weight[i] = (float)(i % 17) * 0.25f - 2.0f;

  const float scale = 0.25f, zero_point = 8.0f;
  const qembed_qparams qp = {QEMBED_PER_TENSOR_AFFINE, QEMBED_QUINT8, &scale, &zero_point, 1, 0};
  qembed_options opt = {0};
  opt.num_embeddings = ROWS;
  opt.embedding_dim = DIM;
  opt.padding_idx = QEMBED_NO_PADDING_IDX;
  opt.norm_type = 2.0;

  qembed_module* m = NULL;
  if (qembed_embedding_from_float(weight, &opt, &qp, &m) != QEMBED_OK) {
    fprintf(stderr, "from_float: %s\n", qembed_last_error());
    return 1;
  }
  const int32_t idx[2] = {5, 0};
  float out[2 * DIM];
  int bad = qembed_embedding_forward(m, idx, QEMBED_INT32, 2, out, 2 * DIM) != QEMBED_OK;
  /* Every weight is a multiple of the scale inside the code range: lookups are exact. */
  for (int d = 0; d < DIM && !bad; ++d) bad = out[d] != weight[5 * DIM + d];

  const int32_t wrong[1] = {ROWS};
  const qembed_status st = qembed_embedding_forward(m, wrong, QEMBED_INT32, 1, out, DIM);
  printf("qembed C ABI on %s: row 5 %s; index %d rejected: %s\n", qembed_kernel_target(),
         bad ? "WRONG" : "exact", ROWS, st == QEMBED_ERR_OUT_OF_RANGE ? qembed_last_error() : "NO");
  qembed_module_free(m);
  return bad || st != QEMBED_ERR_OUT_OF_RANGE;
}
