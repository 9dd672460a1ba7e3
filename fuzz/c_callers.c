/* The fuzzer's calls into the C ABI, made from C: a C caller may pass any int where the
 * ABI takes an enum (in C++, the harness itself could not hold such a value). */
#include "c_callers.h"

qembed_status fz_embedding_forward(const qembed_module* m, const void* indices, int index_type,
                                   int64_t num_indices, float* out, int64_t out_len) {
  return qembed_embedding_forward(m, indices, (qembed_index_type)index_type, num_indices, out,
                                  out_len);
}

qembed_status fz_embedding_bag_forward(const qembed_module* m, const void* indices,
                                       int64_t num_indices, const void* offsets,
                                       int64_t num_offsets, int index_type,
                                       const float* per_sample_weights, float* out,
                                       int64_t out_len) {
  return qembed_embedding_bag_forward(m, indices, num_indices, offsets, num_offsets,
                                      (qembed_index_type)index_type, per_sample_weights, out,
                                      out_len);
}
