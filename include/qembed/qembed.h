/* qembed C ABI: quantized Embedding / EmbeddingBag with the semantics of PyTorch's
 * reference quantized modules (torch.ao.nn.quantized.reference). C99, exported from
 * libqembed.so. Every call validates its inputs; a failed call returns non-zero, sets a
 * message (qembed_last_error) naming the argument and the rule it broke, and leaves
 * `out` and the module untouched. */
#ifndef QEMBED_QEMBED_H
#define QEMBED_QEMBED_H

#include <stdint.h>

#if defined(_WIN32)
#define QEMBED_API __declspec(dllexport)
#else
#define QEMBED_API __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* The declarations below keep the layout of the specified C ABI. */
/* clang-format off */
#define QEMBED_NO_PADDING_IDX INT64_MIN
typedef struct qembed_module qembed_module;
typedef enum { QEMBED_OK = 0, QEMBED_ERR_INVALID_ARGUMENT = 1, QEMBED_ERR_OUT_OF_RANGE = 2,
               QEMBED_ERR_UNSUPPORTED = 3, QEMBED_ERR_INTERNAL = 4 } qembed_status;
typedef enum { QEMBED_QSCHEME_NONE = 0, QEMBED_PER_TENSOR_AFFINE = 1, QEMBED_PER_CHANNEL_AFFINE = 2,
               QEMBED_PER_CHANNEL_AFFINE_FLOAT_QPARAMS = 3 } qembed_qscheme;
typedef enum { QEMBED_FLOAT32 = 0, QEMBED_FLOAT16 = 1, QEMBED_QUINT8 = 2, QEMBED_QINT8 = 3,
               QEMBED_QUINT4X2 = 4, QEMBED_QINT32 = 5 } qembed_dtype;
typedef enum { QEMBED_MODE_SUM = 0, QEMBED_MODE_MEAN = 1, QEMBED_MODE_MAX = 2 } qembed_mode;
typedef enum { QEMBED_INT32 = 0, QEMBED_INT64 = 1 } qembed_index_type;
typedef struct {
  qembed_qscheme qscheme; qembed_dtype dtype;
  const float* scale;       /* num_qparams values */
  const float* zero_point;  /* num_qparams values; integral for the two affine schemes */
  int64_t num_qparams;      /* 1 for per-tensor; the size of `axis` for per-channel */
  int64_t axis;             /* per-channel only: 0 or 1 */
} qembed_qparams;
typedef struct {
  int64_t num_embeddings, embedding_dim;
  int64_t padding_idx;      /* QEMBED_NO_PADDING_IDX, or in [-num_embeddings, num_embeddings) */
  int has_max_norm; double max_norm; double norm_type;
  qembed_mode mode;         /* EmbeddingBag only */
  int include_last_offset;  /* EmbeddingBag only */
} qembed_options;
/* weight: row-major num_embeddings x embedding_dim float32; qparams NULL = PyTorch's default */
QEMBED_API qembed_status qembed_embedding_from_float(const float* weight, const qembed_options* options,
                                          const qembed_qparams* qparams, qembed_module** out);
QEMBED_API qembed_status qembed_embedding_bag_from_float(const float* weight, const qembed_options* options,
                                              const qembed_qparams* qparams, qembed_module** out);
/* packed: num_embeddings rows written by PyTorch's embedding_bag_{byte,4bit,2bit}_prepack
 * (bits 8, 4, 2), size bytes; served with those ops' numerics (mode sum only). */
QEMBED_API qembed_status qembed_embedding_bag_from_prepacked(const uint8_t* packed, int64_t size, int bits,
                                                  const qembed_options* options, qembed_module** out);
QEMBED_API void qembed_module_free(qembed_module* module);
/* out_len: number of floats available at out */
QEMBED_API qembed_status qembed_embedding_forward(const qembed_module* module, const void* indices,
                                       qembed_index_type index_type, int64_t num_indices,
                                       float* out, int64_t out_len);
/* offsets use index_type too; per_sample_weights NULL or num_indices floats */
QEMBED_API qembed_status qembed_embedding_bag_forward(const qembed_module* module, const void* indices,
                                           int64_t num_indices, const void* offsets, int64_t num_offsets,
                                           qembed_index_type index_type, const float* per_sample_weights,
                                           float* out, int64_t out_len);
QEMBED_API qembed_status qembed_get_weight(const qembed_module* module, float* out, int64_t out_len);
QEMBED_API const char* qembed_last_error(void);   /* this thread's message for its last failed call */
QEMBED_API const char* qembed_kernel_target(void); /* Halide target of the kernels running on this CPU */
/* Module files: safetensors with PyTorch's state_dict names and the options in its
 * metadata (README, "Module files"). save writes through a temporary file renamed into
 * place; load refuses a truncated, corrupt or mismatched file with a message and leaves
 * *out untouched. load_buffer reads a file image held in memory. */
QEMBED_API qembed_status qembed_module_save(const qembed_module* module, const char* path);
QEMBED_API qembed_status qembed_module_load(const char* path, qembed_module** out);
QEMBED_API qembed_status qembed_module_load_buffer(const void* data, int64_t size, qembed_module** out);
/* What a module is: its options (and, when non-NULL, *is_embedding_bag = 0 or 1). */
QEMBED_API qembed_status qembed_module_options(const qembed_module* module, qembed_options* out,
                                    int* is_embedding_bag);
/* Threads a forward call may use: 0 = one per core (the default), at most 256. Not to be
 * called while a forward runs on another thread. */
QEMBED_API qembed_status qembed_set_num_threads(int num_threads);

/* clang-format on */

#ifdef __cplusplus
}
#endif

#endif /* QEMBED_QEMBED_H */
