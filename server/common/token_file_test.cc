#include "server/common/token_file.h"

#include <sys/stat.h>

#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"

namespace evbus::common {
namespace {

using ::testing::HasSubstr;

class TokenFileTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& text) {
    const std::string path = dir_.path() + "/token";
    std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
    return path;
  }
  testing::TempDir dir_;
};

TEST_F(TokenFileTest, OneLineWithOrWithoutNewline) {
  EXPECT_EQ(*LoadTokenFile(Write("0123456789abcdef\n"), "f"),
            "0123456789abcdef");
  EXPECT_EQ(*LoadTokenFile(Write("0123456789abcdef\r\n"), "f"),
            "0123456789abcdef");
  EXPECT_EQ(*LoadTokenFile(Write("0123456789abcdef-_=+/~!"), "f"),
            "0123456789abcdef-_=+/~!");
}

TEST_F(TokenFileTest, ErrorsNameTheFieldAndTheFile) {
  absl::StatusOr<std::string> missing =
      LoadTokenFile(dir_.path() + "/none", "grpc_token_file");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(missing.status().message(),
              HasSubstr("grpc_token_file: cannot read " + dir_.path()));

  absl::StatusOr<std::string> short_token =
      LoadTokenFile(Write("short\n"), "--token-file");
  ASSERT_FALSE(short_token.ok());
  EXPECT_THAT(short_token.status().message(),
              HasSubstr("--token-file: " + dir_.path() +
                        "/token: the token "
                        "must be 16 to 512 characters long (it is 5)"));

  EXPECT_FALSE(LoadTokenFile(Write(std::string(513, 'a')), "f").ok());
  absl::StatusOr<std::string> huge =
      LoadTokenFile(Write(std::string(1 << 20, 'a')), "f");
  ASSERT_FALSE(huge.ok());
  EXPECT_THAT(huge.status().message(), HasSubstr("(it is longer)"));
  // Not a regular file: refused without reading (a FIFO would block).
  const std::string fifo = dir_.path() + "/fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  absl::StatusOr<std::string> from_fifo = LoadTokenFile(fifo, "f");
  ASSERT_FALSE(from_fifo.ok());
  EXPECT_THAT(from_fifo.status().message(),
              HasSubstr(fifo + " is not a regular file"));
  EXPECT_THAT(LoadTokenFile(dir_.path(), "f").status().message(),
              HasSubstr("is not a regular file"));
  EXPECT_THAT(LoadTokenFile("/dev/zero", "f").status().message(),
              HasSubstr("is not a regular file"));
  EXPECT_TRUE(LoadTokenFile(Write(std::string(512, 'a')), "f").ok());
  EXPECT_FALSE(LoadTokenFile(Write(""), "f").ok());
  for (const char* bad : {"0123456789 abcdef", "0123456789abcdef\n\n",
                          "0123456789\tabcdef", "0123456789abcdef\x80"}) {
    absl::StatusOr<std::string> t = LoadTokenFile(Write(bad), "f");
    ASSERT_FALSE(t.ok()) << bad;
    EXPECT_THAT(t.status().message(), HasSubstr("printable ASCII")) << bad;
  }
}

}  // namespace
}  // namespace evbus::common
