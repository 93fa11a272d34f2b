#include "server/functions/uid_block.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"

namespace evbus::functions {
namespace {

using ::testing::HasSubstr;

// A range no test machine gives users, of three blocks.
constexpr uid_t kFirst = 91000;
constexpr uid_t kLast = 93999;

class FunctionUidBlockTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to switch users";
  }
  testing::TempDir dir_;
};

TEST_F(FunctionUidBlockTest, EachClaimGetsABlockOfItsOwn) {
  auto a = FunctionUidBlock::Claim(kFirst, kLast, dir_.path());
  auto b = FunctionUidBlock::Claim(kFirst, kLast, dir_.path());
  auto c = FunctionUidBlock::Claim(kFirst, kLast, dir_.path());
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ((*a)->first(), kFirst);
  EXPECT_EQ((*a)->last(), kFirst + 999);
  EXPECT_EQ((*b)->first(), kFirst + 1000);
  EXPECT_EQ((*c)->first(), kFirst + 2000);
  EXPECT_EQ((*c)->last(), kLast);
  // All held: the next one is refused, saying why.
  auto d = FunctionUidBlock::Claim(kFirst, kLast, dir_.path());
  ASSERT_FALSE(d.ok());
  EXPECT_THAT(d.status().message(),
              HasSubstr("all 3 blocks of 91000-93999 are held by other "
                        "evbusd processes"));
  // A released block is taken again.
  b->reset();
  auto e = FunctionUidBlock::Claim(kFirst, kLast, dir_.path());
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ((*e)->first(), kFirst + 1000);
  // A range smaller than a block is one block.
  auto small = FunctionUidBlock::Claim(94000, 94009, dir_.path());
  ASSERT_TRUE(small.ok()) << small.status();
  EXPECT_EQ((*small)->last(), 94009u);
}

TEST_F(FunctionUidBlockTest, RefusesRangesHoldingUsersOfTheSystem) {
  // uid 1 is daemon (or some system user) on every Debian system; root's
  // group 0 is left out on purpose (ranges start at 1).
  auto r = FunctionUidBlock::Claim(1, 5, dir_.path());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(r.status().message(), HasSubstr("function_uids: 1-5 holds "));
  EXPECT_THAT(r.status().message(), HasSubstr("of this system"));
  auto nobody = FunctionUidBlock::Claim(65530, 65540, dir_.path());
  ASSERT_FALSE(nobody.ok());
  EXPECT_THAT(nobody.status().message(), HasSubstr("(65534)"));
}

TEST_F(FunctionUidBlockTest, KillsWhatAnEarlierHolderLeftRunning) {
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t child = ::fork();
  if (child == 0) {
    ::close(ready[0]);
    if (::setgid(kFirst + 7) != 0 || ::setuid(kFirst + 7) != 0) ::_exit(1);
    (void)!::write(ready[1], "x", 1);
    for (int i = 0; i < 600; ++i) ::sleep(1);  // bounded: 10 minutes
    ::_exit(0);
  }
  ::close(ready[1]);
  char c = 0;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  ::close(ready[0]);
  auto block = FunctionUidBlock::Claim(kFirst, kLast, dir_.path());
  ASSERT_TRUE(block.ok()) << block.status();
  EXPECT_EQ((*block)->killed(), 1);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(WTERMSIG(status), SIGKILL);
}

TEST_F(FunctionUidBlockTest, TheLockDirectoryMustBeEvbusdsAlone) {
  const std::string open = dir_.Join("open");
  ASSERT_EQ(::mkdir(open.c_str(), 0777), 0);
  ASSERT_EQ(::chmod(open.c_str(), 0777), 0);
  // Claim narrows a directory it may own...
  EXPECT_TRUE(FunctionUidBlock::Claim(kFirst, kLast, open).ok());
  // ...but not one that belongs to someone else.
  const std::string theirs = dir_.Join("theirs");
  ASSERT_EQ(::mkdir(theirs.c_str(), 0700), 0);
  ASSERT_EQ(::chown(theirs.c_str(), 65534, 65534), 0);
  auto r = FunctionUidBlock::Claim(kFirst, kLast, theirs);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("must be a directory of "
                                              "evbusd's alone"));
}

}  // namespace
}  // namespace evbus::functions
