#include "server/common/huge_pages.h"

#include <algorithm>
#include <fstream>
#include <string>

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

namespace {

// False when the kernel has no transparent huge pages or the administrator
// set them to "never".
bool TransparentHugePagesAllowed() {
  std::ifstream f("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string line;
  if (!std::getline(f, line)) return false;  // no THP support
  return line.find("[never]") == std::string::npos;
}

}  // namespace

size_t HugePageTally::Apply(size_t min_region_bytes) const {
  size_t collapsed = 0;
#if defined(__linux__)
  if (!TransparentHugePagesAllowed()) return 0;
  for (const auto& [region, bytes] : bytes_) {
    if (bytes < min_region_bytes) continue;
    // Only MADV_COLLAPSE: it replaces the pages already there, and refuses
    // memory marked MADV_NOHUGEPAGE. (MADV_HUGEPAGE would clear such a mark,
    // and reach every mapping the region overlaps.) It fails harmlessly
    // where the region is not one whole mapping, on older kernels (EINVAL)
    // and when no huge page is free (EAGAIN).
    if (madvise(reinterpret_cast<void*>(region), kRegion, MADV_COLLAPSE) == 0) {
      ++collapsed;
    }
  }
#else
  (void)min_region_bytes;
#endif
  return collapsed;
}

}  // namespace evbus::common
