#include "server/functions/uid_block.h"

#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"

namespace evbus::functions {
namespace {

using ::testing::HasSubstr;

// A range no test machine gives users, of three blocks. ctest runs the
// cases of this file as separate processes, two at once, and a claim kills
// the processes of the uids it takes: the cases that start processes use
// uids of their own, outside every other case's ranges.
constexpr uid_t kFirst = 91000;
constexpr uid_t kLast = 93999;
constexpr uid_t kChainUid = 96009;   // KillsAProcessForkingInALoop
constexpr uid_t kLeftFirst = 97000;  // KillsWhatAnEarlierHolderLeftRunning
constexpr uid_t kLeftLast = 97999;

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
              HasSubstr("every block of 91000-93999 is held by another "
                        "evbusd"));
  // Blocks are aligned whatever the range: a range inside a held block
  // (given to another daemon) cannot take any of its uids.
  EXPECT_FALSE(FunctionUidBlock::Claim(91500, 91600, dir_.path()).ok());
  // A released block is taken again.
  b->reset();
  auto e = FunctionUidBlock::Claim(kFirst, kLast, dir_.path());
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ((*e)->first(), kFirst + 1000);
  // A range smaller than a block uses its part of the block.
  auto small = FunctionUidBlock::Claim(94005, 94009, dir_.path());
  ASSERT_TRUE(small.ok()) << small.status();
  EXPECT_EQ((*small)->first(), 94005u);
  EXPECT_EQ((*small)->last(), 94009u);
  // A range across blocks takes the first free block's part of it.
  auto across = FunctionUidBlock::Claim(94500, 95999, dir_.path());
  ASSERT_TRUE(across.ok()) << across.status();
  EXPECT_EQ((*across)->first(), 95000u);
  EXPECT_EQ((*across)->last(), 95999u);
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

// Whether every process holding the write end of `pipe_fds` is gone
// (the read end sees a hang-up), waiting at most `ms`.
bool WritersGone(int read_fd, int ms) {
  pollfd p{read_fd, POLLIN, 0};
  return ::poll(&p, 1, ms) > 0 && (p.revents & POLLHUP) != 0;
}

TEST_F(FunctionUidBlockTest, KillsAProcessForkingInALoop) {
  // A process of a block's uid that keeps forking (each child exits at
  // once) escapes a kill by pid found in /proc; kill(-1) as the uid does
  // not let it. Every link of the chain holds the write end of a pipe, so
  // the chain is alive exactly while the read end sees no hang-up.
  int chain[2];
  ASSERT_EQ(::pipe(chain), 0);
  const pid_t child = ::fork();
  if (child == 0) {
    ::close(chain[0]);
    if (::setgid(kChainUid) != 0 || ::setuid(kChainUid) != 0) ::_exit(1);
    ::setsid();
    for (int i = 0; i < 1000000; ++i) {  // bounded
      const pid_t p = ::fork();
      if (p > 0) ::_exit(0);  // the parent goes, the child carries on
      if (p < 0) ::usleep(1000);
    }
    ::_exit(0);
  }
  ::close(chain[1]);
  int status = 0;
  ::waitpid(child, &status, 0);  // the first parent exits at once
  ASSERT_FALSE(WritersGone(chain[0], 200)) << "the chain did not start";
  KillProcessesOfUids(kChainUid, kChainUid);
  EXPECT_TRUE(WritersGone(chain[0], 2000)) << "the chain survived";
  ::close(chain[0]);
}

TEST_F(FunctionUidBlockTest, KillsWhatAnEarlierHolderLeftRunning) {
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t child = ::fork();
  if (child == 0) {
    ::close(ready[0]);
    if (::setgid(kLeftFirst + 7) != 0 || ::setuid(kLeftFirst + 7) != 0) {
      ::_exit(1);
    }
    (void)!::write(ready[1], "x", 1);
    for (int i = 0; i < 600; ++i) ::sleep(1);  // bounded: 10 minutes
    ::_exit(0);
  }
  ::close(ready[1]);
  char c = 0;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  ::close(ready[0]);
  auto block = FunctionUidBlock::Claim(kLeftFirst, kLeftLast, dir_.path());
  ASSERT_TRUE(block.ok()) << block.status();
  EXPECT_EQ((*block)->killed(), 1);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(WTERMSIG(status), SIGKILL);
}

TEST_F(FunctionUidBlockTest, TheLockDirectoryMustBeEvbusdsAlone) {
  // Claim creates it 0700, and narrows one of its own others may read...
  const std::string fresh = dir_.Join("fresh");
  EXPECT_TRUE(FunctionUidBlock::Claim(kFirst, kLast, fresh).ok());
  struct stat st;
  ASSERT_EQ(::stat(fresh.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  const std::string readable = dir_.Join("readable");
  ASSERT_EQ(::mkdir(readable.c_str(), 0755), 0);
  EXPECT_TRUE(FunctionUidBlock::Claim(kFirst, kLast, readable).ok());
  // ...but not one others may write, a symlink, or one of someone else.
  const std::string open = dir_.Join("open");
  ASSERT_EQ(::mkdir(open.c_str(), 0777), 0);
  ASSERT_EQ(::chmod(open.c_str(), 0777), 0);
  EXPECT_FALSE(FunctionUidBlock::Claim(kFirst, kLast, open).ok());
  const std::string link = dir_.Join("link");
  ASSERT_EQ(::symlink(readable.c_str(), link.c_str()), 0);
  EXPECT_FALSE(FunctionUidBlock::Claim(kFirst, kLast, link).ok());
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
