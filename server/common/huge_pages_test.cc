#include "server/common/huge_pages.h"

#include <sys/mman.h>

#include <cstdint>
#include <cstring>

#include "gtest/gtest.h"

namespace evbus::common {
namespace {

TEST(HugePageTallyTest, CountsBytesPerRegion) {
  HugePageTally tally;
  const uintptr_t base = uintptr_t{64} * HugePageTally::kRegion;
  // 1 MB inside one region, then 3 MB from the middle of the next: three
  // regions, the spanning range split at the boundaries.
  tally.Add(reinterpret_cast<const void*>(base), 1 << 20);
  tally.Add(reinterpret_cast<const void*>(base + 3 * (1 << 20)), 3 << 20);
  tally.Add(nullptr, 100);  // ignored
  EXPECT_EQ(tally.total(), size_t{4} << 20);
  EXPECT_EQ(tally.regions(), 3u);
}

// Apply only collapses: contents stay as they were, and a region
// below the threshold is not touched. (Whether the kernel collapses depends
// on its version and THP settings, so only the count's bound is checked.)
TEST(HugePageTallyTest, ApplyKeepsTheContents) {
  const size_t size = 3 * HugePageTally::kRegion;
  void* map = mmap(nullptr, size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(map, MAP_FAILED);
  // The whole region inside the mapping.
  const uintptr_t region =
      (reinterpret_cast<uintptr_t>(map) + HugePageTally::kRegion - 1) &
      ~(uintptr_t{HugePageTally::kRegion} - 1);
  auto* bytes = reinterpret_cast<unsigned char*>(region);
  for (size_t i = 0; i < HugePageTally::kRegion; i += 4096) {
    bytes[i] = static_cast<unsigned char>(i / 4096);
  }
  HugePageTally tally;
  tally.Add(bytes, HugePageTally::kRegion);
  EXPECT_EQ(tally.Apply(HugePageTally::kRegion + 1), 0u);  // below threshold
  EXPECT_LE(tally.Apply(1), 1u);
  for (size_t i = 0; i < HugePageTally::kRegion; i += 4096) {
    ASSERT_EQ(bytes[i], static_cast<unsigned char>(i / 4096)) << i;
  }
  munmap(map, size);
}

}  // namespace
}  // namespace evbus::common
