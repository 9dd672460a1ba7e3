// Memory for stored tables (and the benchmark's same-geometry copies): 64-byte aligned,
// and on Linux backed by transparent huge pages when the table is at least one huge page.
// A forward reads rows at random: with 4 KiB pages nearly every row of a big table is
// also a TLB miss; 2 MiB pages keep a few GiB within reach of the TLB. With THP in
// "madvise" mode (a common default) the advice is what turns them on.
#pragma once

#include <cstddef>
#include <cstdlib>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace qembed::detail {

inline constexpr size_t kHugePageBytes = size_t{2} << 20;

// Returns nullptr when out of memory; free with std::free.
inline void* allocate_table_memory(size_t size) {
  const bool huge = size >= kHugePageBytes;
  const size_t align = huge ? kHugePageBytes : 64;
  const size_t rounded = size == 0 ? align : (size + align - 1) / align * align;
  void* p = std::aligned_alloc(align, rounded);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  if (p != nullptr && huge) madvise(p, rounded, MADV_HUGEPAGE);  // advice only; may be ignored
#endif
  return p;
}

}  // namespace qembed::detail
