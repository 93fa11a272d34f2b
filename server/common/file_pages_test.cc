#include "server/common/file_pages.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <string>

#include "gtest/gtest.h"
#include "server/common/proc_status.h"
#include "tests/testing/temp_dir.h"

namespace evbus::common {
namespace {

constexpr long kTmpfsMagic = 0x01021994;

// A read-only mapping of a file, fully read: its pages count in RssFile
// until they are released.
TEST(FilePagesTest, ReleasesReadOnlyFileMappings) {
  evbus::testing::TempDir dir;
  struct statfs fs;
  ASSERT_EQ(::statfs(dir.path().c_str(), &fs), 0);
  if (fs.f_type == kTmpfsMagic) GTEST_SKIP() << "tmpfs pages are not RssFile";
  const std::string path = dir.Join("data");
  constexpr size_t kSize = 8 << 20;
  {
    const int fd = ::open(path.c_str(), O_CREAT | O_WRONLY, 0600);
    ASSERT_GE(fd, 0);
    const std::string chunk(1 << 20, 'x');
    for (size_t done = 0; done < kSize; done += chunk.size()) {
      ASSERT_EQ(::write(fd, chunk.data(), chunk.size()),
                static_cast<ssize_t>(chunk.size()));
    }
    ASSERT_EQ(::fsync(fd), 0);  // clean pages: reclaimable
    ::close(fd);
  }
  const int fd = ::open(path.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  void* map = ::mmap(nullptr, kSize, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  ASSERT_NE(map, MAP_FAILED);
  const int64_t before = ProcStatusKb(::getpid(), "RssFile");
  ASSERT_GT(before, 0);
  volatile char sum = 0;
  for (size_t i = 0; i < kSize; i += 4096) {
    sum = static_cast<char>(sum + static_cast<const char*>(map)[i]);
  }
  const int64_t touched = ProcStatusKb(::getpid(), "RssFile");
  EXPECT_GE(touched - before, 6 << 10) << "the file's pages are mapped";

  absl::StatusOr<ReleasedFilePages> released = ReleaseFileBackedPages();
  if (released.status().code() == absl::StatusCode::kFailedPrecondition) {
    ::munmap(map, kSize);
    GTEST_SKIP() << released.status();
  }
  ASSERT_TRUE(released.ok()) << released.status();
  EXPECT_GE(released->mappings, 1);
  EXPECT_GE(released->rss_file_before_kb, touched - 64);
  EXPECT_LE(released->rss_file_after_kb, touched - (6 << 10));
  // Still readable: the pages fault back in.
  EXPECT_EQ(static_cast<const char*>(map)[kSize - 1], 'x');
  ::munmap(map, kSize);
}

}  // namespace
}  // namespace evbus::common
