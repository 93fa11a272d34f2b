#include "server/common/ids.h"

#include <set>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace evbus::common {
namespace {

TEST(IdsTest, UuidV4Shape) {
  std::string id = NewUuidV4();
  EXPECT_TRUE(IsUuid(id)) << id;
  EXPECT_EQ(id[14], '4');  // version nibble
  EXPECT_TRUE(id[19] == '8' || id[19] == '9' || id[19] == 'a' ||
              id[19] == 'b');  // RFC 4122 variant
}

TEST(IdsTest, Unique) {
  std::set<std::string> seen;
  for (int i = 0; i < 10000; ++i) seen.insert(NewUuidV4());
  EXPECT_EQ(seen.size(), 10000u);
}

TEST(IdsTest, UniqueAcrossThreads) {
  // Each thread seeds its own generator; no two may share a sequence.
  std::vector<std::vector<std::string>> ids(4);
  std::vector<std::thread> threads;
  for (auto& v : ids) {
    threads.emplace_back([&v] {
      for (int i = 0; i < 5000; ++i) v.push_back(NewUuidV4());
    });
  }
  for (std::thread& t : threads) t.join();
  std::set<std::string> seen;
  for (const auto& v : ids) {
    for (const std::string& id : v) {
      EXPECT_TRUE(IsUuid(id)) << id;
      seen.insert(id);
    }
  }
  EXPECT_EQ(seen.size(), 20000u);
}

TEST(IdsTest, RejectsNonUuids) {
  EXPECT_FALSE(IsUuid(""));
  EXPECT_FALSE(IsUuid("0cc35aee-07b3-415a-a941-9c1f1a35795"));
  EXPECT_FALSE(IsUuid("0cc35aee_07b3-415a-a941-9c1f1a357958"));
  EXPECT_FALSE(IsUuid("0cc35aee-07b3-415a-a941-9c1f1a35795g"));
}

}  // namespace
}  // namespace evbus::common
