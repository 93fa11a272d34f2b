// File: server/common/huge_pages.h
//
// Transparent huge pages for a large structure read at random: a matcher's
// index and compiled patterns. Each event touches a few hundred scattered
// cache lines of them; with 4 KB pages most of those touches also miss the
// TLB and walk the page tables. HugePageTally counts which 2 MB regions of
// the address space the structure's memory lies in, and Apply() asks Linux
// to back the regions holding enough of it with huge pages (MADV_COLLAPSE,
// which copies the pages there into one). Other memory in those regions (it
// is malloc's heap) comes along; regions holding little of the structure
// are left alone, so one Apply() grows the resident size by at most the
// unpopulated pages of the regions chosen. Nothing else is marked: memory
// freed later may be split back into 4 KB pages by the kernel, and ranges
// marked MADV_NOHUGEPAGE are refused by it.
//
// Best effort: without Linux, on kernels before 6.1 (no MADV_COLLAPSE), or
// with transparent huge pages set to "never"
// (/sys/kernel/mm/transparent_hugepage/enabled), Apply() changes nothing and
// reports 0 regions.
//
// Thread safety: thread-compatible.
//
// Example:
//   HugePageTally tally;
//   tally.Add(v.data(), v.capacity() * sizeof(v[0]));
//   if (tally.total() >= (8 << 20)) tally.Apply(256 << 10);
#pragma once

#include <cstddef>
#include <cstdint>

#include "absl/container/flat_hash_map.h"

namespace evbus::common {

class HugePageTally {
 public:
  static constexpr size_t kRegion = size_t{2} << 20;

  // Counts [p, p + bytes) toward the regions it spans.
  void Add(const void* p, size_t bytes);
  size_t total() const { return total_; }
  size_t regions() const { return bytes_.size(); }

  // Collapses each region holding at least `min_region_bytes` counted bytes
  // into a huge page. Returns how many regions were collapsed.
  size_t Apply(size_t min_region_bytes) const;

 private:
  absl::flat_hash_map<uintptr_t, size_t> bytes_;  // region start -> bytes
  size_t total_ = 0;
};

}  // namespace evbus::common
