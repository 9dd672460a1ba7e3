/* See c_callers.c. */
#ifndef QEMBED_FUZZ_C_CALLERS_H
#define QEMBED_FUZZ_C_CALLERS_H
#include "qembed/qembed.h"
#ifdef __cplusplus
extern "C" {
#endif
qembed_status fz_embedding_forward(const qembed_module* m, const void* indices, int index_type,
                                   int64_t num_indices, float* out, int64_t out_len);
qembed_status fz_embedding_bag_forward(const qembed_module* m, const void* indices,
                                       int64_t num_indices, const void* offsets,
                                       int64_t num_offsets, int index_type,
                                       const float* per_sample_weights, float* out,
                                       int64_t out_len);
#ifdef __cplusplus
}
#endif
#endif
