// libFuzzer target: drives the C ABI with arbitrary options, qparams, tables, indices,
// offsets, per-sample weights and output sizes. Every buffer's declared length is its
// real length (the ABI cannot check pointers); everything else is the fuzzer's. Beyond
// "no crash, no sanitizer report" it checks the error contract: a failed call leaves a
// message and an untouched output, and a failed create returns no module.
#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "c_callers.h"
#include "qembed/qembed.h"

namespace {

void require(bool ok) {
  if (!ok) std::abort();
}

// Stores any int in a C enum field, as a C caller may.
template <typename E>
void set_raw(E* field, int v) {
  static_assert(sizeof(E) == sizeof(int), "C ABI enums are int-sized");
  std::memcpy(field, &v, sizeof v);
}

constexpr float kCanary = -12345.5f;

// Runs `call` on an output of `len` floats; on failure the output must be untouched.
template <typename Call>
void checked_output(int64_t len, Call&& call) {
  std::vector<float> out(static_cast<size_t>(len), kCanary);
  const qembed_status s = call(out.data(), len);
  if (s != QEMBED_OK) {
    require(qembed_last_error()[0] != '\0');
    for (float x : out) require(std::memcmp(&x, &kCanary, sizeof x) == 0);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  qembed_set_num_threads(1 + in.ConsumeIntegralInRange<int>(0, 2));

  qembed_options o{};
  o.num_embeddings = in.ConsumeIntegralInRange<int64_t>(-2, 48);
  o.embedding_dim = in.ConsumeIntegralInRange<int64_t>(-2, 20);
  o.padding_idx = in.ConsumeBool() ? in.ConsumeIntegralInRange<int64_t>(-60, 60)
                                   : in.ConsumeIntegral<int64_t>();
  o.has_max_norm = in.ConsumeIntegralInRange<int>(-1, 2);
  o.max_norm = in.ConsumeFloatingPoint<double>();
  o.norm_type = in.ConsumeBool() ? 2.0 : in.ConsumeFloatingPoint<double>();
  set_raw(&o.mode, in.ConsumeIntegralInRange<int>(-1, 4));
  o.include_last_offset = in.ConsumeIntegralInRange<int>(-1, 2);

  // The table: rows x dim floats when both are sane (else one float, and create must
  // refuse the sizes).
  const int64_t n =
      o.num_embeddings > 0 && o.embedding_dim > 0 ? o.num_embeddings * o.embedding_dim : 1;
  std::vector<float> weight(static_cast<size_t>(n));
  for (float& w : weight)
    w = in.ConsumeBool() ? in.ConsumeFloatingPointInRange<float>(-4, 4)
                         : in.ConsumeFloatingPoint<float>();

  qembed_qparams q{};
  const bool default_qparams = in.ConsumeBool();
  const int64_t nq = in.ConsumeIntegralInRange<int64_t>(0, 64);
  std::vector<float> scale(static_cast<size_t>(nq)), zp(static_cast<size_t>(nq));
  if (!default_qparams) {
    set_raw(&q.qscheme, in.ConsumeIntegralInRange<int>(-1, 5));
    set_raw(&q.dtype, in.ConsumeIntegralInRange<int>(-1, 7));
    for (int64_t i = 0; i < nq; ++i) {
      scale[i] = in.ConsumeBool() ? in.ConsumeFloatingPointInRange<float>(1e-4f, 1.0f)
                                  : in.ConsumeFloatingPoint<float>();
      zp[i] = in.ConsumeBool() ? static_cast<float>(in.ConsumeIntegralInRange<int>(-130, 260))
                               : in.ConsumeFloatingPoint<float>();
    }
    q.scale = nq > 0 && in.ConsumeBool() ? scale.data() : nullptr;
    q.zero_point = nq > 0 && in.ConsumeBool() ? zp.data() : nullptr;
    q.num_qparams = in.ConsumeBool() ? nq : in.ConsumeIntegral<int64_t>();
    if (q.num_qparams > nq) q.num_qparams = nq;  // never claim more than exists
    q.axis = in.ConsumeIntegralInRange<int64_t>(-2, 3);
  }

  const bool bag = in.ConsumeBool();
  // Or a prepacked table: any bits, any bytes, a size at most what exists (usually the
  // size the options imply).
  const bool prepacked = bag && in.ConsumeBool();
  std::vector<uint8_t> packed;
  int bits = 0;
  int64_t packed_size = 0;
  if (prepacked) {
    bits = in.ConsumeBool() ? 8 >> in.ConsumeIntegralInRange<int>(0, 2)
                            : in.ConsumeIntegralInRange<int>(-1, 9);
    const int64_t d = o.embedding_dim, b = bits > 0 ? bits : 8;
    const int64_t want =
        o.num_embeddings > 0 && d > 0 ? o.num_embeddings * ((d * b + 7) / 8 + (b == 8 ? 8 : 4)) : 0;
    packed = in.ConsumeBytes<uint8_t>(static_cast<size_t>(std::min<int64_t>(want, 4096)));
    packed.resize(static_cast<size_t>(std::min<int64_t>(want, 4096)));
    packed_size = in.ConsumeBool()
                      ? static_cast<int64_t>(packed.size())
                      : in.ConsumeIntegralInRange<int64_t>(-1, static_cast<int64_t>(packed.size()));
  }
  qembed_module* m = reinterpret_cast<qembed_module*>(0x1);  // must be overwritten or nulled
  const qembed_status created =
      prepacked ? qembed_embedding_bag_from_prepacked(in.ConsumeBool() ? packed.data() : nullptr,
                                                      packed_size, bits,
                                                      in.ConsumeBool() ? &o : nullptr, &m)
                : (bag ? qembed_embedding_bag_from_float : qembed_embedding_from_float)(
                      in.ConsumeBool() ? weight.data() : nullptr, in.ConsumeBool() ? &o : nullptr,
                      default_qparams ? nullptr : &q, &m);
  if (created != QEMBED_OK) {
    require(qembed_last_error()[0] != '\0');
    return 0;
  }
  require(m != nullptr);

  // Indices and offsets of the type passed (an invalid type value passes int64 arrays,
  // which the ABI must refuse before reading), any values; weights NULL or one per index.
  const int raw_type = in.ConsumeBool() ? in.ConsumeIntegralInRange<int>(0, 1)
                                        : in.ConsumeIntegralInRange<int>(-1, 3);
  const size_t ni = in.ConsumeIntegralInRange<size_t>(0, 300);
  const size_t no = in.ConsumeIntegralInRange<size_t>(0, 40);
  std::vector<int64_t> idx64(ni), off64(no);
  for (auto& v : idx64) {
    v = in.ConsumeBool() ? in.ConsumeIntegralInRange<int64_t>(-3, 50)
                         : in.ConsumeIntegral<int64_t>();
  }
  int64_t run = 0;
  for (auto& v : off64) {
    v = in.ConsumeBool() ? (run += in.ConsumeIntegralInRange<int64_t>(0, 12))
                         : in.ConsumeIntegral<int64_t>();
  }
  std::vector<int32_t> idx32(idx64.begin(), idx64.end()), off32(off64.begin(), off64.end());
  std::vector<float> psw(ni);
  for (float& w : psw) w = in.ConsumeFloatingPointInRange<float>(-2, 2);
  const bool i32 = raw_type == 0;
  const void* indices = i32 ? static_cast<const void*>(idx32.data()) : idx64.data();
  const void* offsets = i32 ? static_cast<const void*>(off32.data()) : off64.data();
  const int64_t out_len = in.ConsumeIntegralInRange<int64_t>(0, 48 * 20 + 8);
  // Counts never exceed the arrays (negative ones must be refused).
  const int64_t count_i = in.ConsumeBool()
                              ? static_cast<int64_t>(ni)
                              : in.ConsumeIntegralInRange<int64_t>(-1, static_cast<int64_t>(ni));
  const int64_t count_o = in.ConsumeIntegralInRange<int64_t>(-1, static_cast<int64_t>(no));
  const bool with_weights = in.ConsumeBool();

  if (bag) {
    checked_output(out_len, [&](float* out, int64_t len) {
      return fz_embedding_bag_forward(m, indices, count_i, offsets, count_o, raw_type,
                                      with_weights ? psw.data() : nullptr, out, len);
    });
  } else {
    checked_output(out_len, [&](float* out, int64_t len) {
      return fz_embedding_forward(m, indices, raw_type, count_i, out, len);
    });
  }
  checked_output(in.ConsumeIntegralInRange<int64_t>(0, 48 * 20 + 1),
                 [&](float* out, int64_t len) { return qembed_get_weight(m, out, len); });
  qembed_module_free(m);
  return 0;
}
