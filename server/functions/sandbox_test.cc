#include "server/functions/sandbox.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace evbus::functions {
namespace {

using ::testing::ElementsAre;

TEST(PrivateDirsForTest, LeavesOutWhatHoldsSomethingTheChildNeeds) {
  EXPECT_THAT(
      PrivateDirsFor({"/var/lib/evbus/functions/code/f/1", "/usr/bin/python3"}),
      ElementsAre("/tmp", "/var/tmp", "/dev/shm", "/run/lock"));
  // A data directory under /tmp or /var/tmp keeps that one shared.
  EXPECT_THAT(PrivateDirsFor({"/tmp/evbus-it-1/functions/code/f/1"}),
              ElementsAre("/var/tmp", "/dev/shm", "/run/lock"));
  EXPECT_THAT(
      PrivateDirsFor({"/var/tmp/data/functions/runtimes", "/usr/bin/node"}),
      ElementsAre("/tmp", "/dev/shm", "/run/lock"));
  EXPECT_THAT(
      PrivateDirsFor({"/dev/shm/x", "/tmp/y", "/var/tmp/z", "/run/lock/w"}),
      ElementsAre());
  // Only whole path components count.
  EXPECT_THAT(PrivateDirsFor({"/tmpdata/code", "/var/tmpx"}),
              ElementsAre("/tmp", "/var/tmp", "/dev/shm", "/run/lock"));
}

}  // namespace
}  // namespace evbus::functions
