// libFuzzer target: the module-file loader (qembed_module_load_buffer) on arbitrary
// bytes. Beyond "no crash, no sanitizer report": a refused file leaves a message and no
// module; an accepted one runs (options, get_weight, a forward of every row) and saves
// to a file that loads back to the same weights bit for bit.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "qembed/qembed.h"

namespace {

void require(bool ok) {
  if (!ok) std::abort();
}

// Bounded work per input: the loader bounds the table by the input's size, but a
// forward of every row of a large accepted table would slow the fuzzer down.
constexpr int64_t kMaxCheckedElements = int64_t{1} << 20;

std::vector<float> weights(const qembed_module* m, int64_t n) {
  std::vector<float> w(static_cast<size_t>(n));
  require(qembed_get_weight(m, w.data(), n) == QEMBED_OK);
  return w;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  qembed_module* sentinel = reinterpret_cast<qembed_module*>(uintptr_t{0x40});
  qembed_module* m = sentinel;
  if (qembed_module_load_buffer(data, static_cast<int64_t>(size), &m) != QEMBED_OK) {
    require(m == sentinel);
    require(qembed_last_error()[0] != '\0');
    return 0;
  }
  qembed_options o{};
  int is_bag = -1;
  require(qembed_module_options(m, &o, &is_bag) == QEMBED_OK);
  require(is_bag == 0 || is_bag == 1);
  require(o.num_embeddings >= 1 && o.embedding_dim >= 1);
  const int64_t n = o.num_embeddings * o.embedding_dim;
  if (n <= kMaxCheckedElements) {
    const std::vector<float> w = weights(m, n);
    std::vector<int64_t> idx(static_cast<size_t>(o.num_embeddings));
    for (int64_t i = 0; i < o.num_embeddings; ++i) idx[static_cast<size_t>(i)] = i;
    std::vector<float> out(static_cast<size_t>(n));
    if (is_bag == 0) {
      require(qembed_embedding_forward(m, idx.data(), QEMBED_INT64, o.num_embeddings, out.data(),
                                       n) == QEMBED_OK);
    } else {
      std::vector<int64_t> off(static_cast<size_t>(o.num_embeddings) + 1);
      for (int64_t i = 0; i <= o.num_embeddings; ++i) off[static_cast<size_t>(i)] = i;
      const int64_t num_off = o.num_embeddings + (o.include_last_offset ? 1 : 0);
      require(qembed_embedding_bag_forward(m, idx.data(), o.num_embeddings, off.data(), num_off,
                                           QEMBED_INT64, nullptr, out.data(), n) == QEMBED_OK);
    }
    // Save and load back: the same weights, bit for bit.
    static const std::string path = "/tmp/qembed_fuzz_loader_" + std::to_string(::getpid());
    require(qembed_module_save(m, path.c_str()) == QEMBED_OK);
    qembed_module* back = nullptr;
    require(qembed_module_load(path.c_str(), &back) == QEMBED_OK);
    const std::vector<float> w2 = weights(back, n);
    require(std::memcmp(w.data(), w2.data(), w.size() * sizeof(float)) == 0);
    qembed_module_free(back);
    std::remove(path.c_str());
  }
  qembed_module_free(m);
  return 0;
}
