#include "server/common/huge_pages.h"

#include <algorithm>

#if defined(__linux__)
#include <sys/mman.h>
#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25  // Linux 6.1; glibc 2.36's headers predate it
#endif
#endif

namespace evbus::common {

void HugePageTally::Add(const void* p, size_t bytes) {
  if (p == nullptr || bytes == 0) return;
  total_ += bytes;
  uintptr_t at = reinterpret_cast<uintptr_t>(p);
  const uintptr_t end = at + bytes;
  while (at < end) {
    const uintptr_t region = at & ~(uintptr_t{kRegion} - 1);
    const uintptr_t next = std::min<uintptr_t>(region + kRegion, end);
    bytes_[region] += next - at;
    at = next;
  }
}

size_t HugePageTally::Apply(size_t min_region_bytes) const {
  size_t collapsed = 0;
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  for (const auto& [region, bytes] : bytes_) {
    if (bytes < min_region_bytes) continue;
    void* start = reinterpret_cast<void*>(region);
    // MADV_HUGEPAGE marks the region's mapping (later faults there get
    // huge pages where THP is in "madvise" mode); MADV_COLLAPSE replaces the
    // pages already there. Either fails harmlessly (ENOMEM where the region
    // is not all mapped, EINVAL on older kernels, EAGAIN when no huge page
    // is free).
    madvise(start, kRegion, MADV_HUGEPAGE);
    if (madvise(start, kRegion, MADV_COLLAPSE) == 0) ++collapsed;
  }
#else
  (void)min_region_bytes;
#endif
  return collapsed;
}

}  // namespace evbus::common
