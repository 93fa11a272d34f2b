#include "server/functions/code_package.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"

namespace evbus::functions {
namespace {

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)),
                     std::istreambuf_iterator<char>());
}

TEST(CodePackage, UnpacksAZipMadeByPythonsZipfile) {
  testing::TempDir dir;
  std::string zip = dir.Join("code.zip");
  std::string script =
      "import zipfile,sys\n"
      "with zipfile.ZipFile(sys.argv[1],'w') as z:\n"
      "  z.writestr('app.py','def h(e,c):\\n  return 1\\n', "
      "compress_type=zipfile.ZIP_DEFLATED)\n"
      "  z.writestr('lib/data.txt','x'*1000, "
      "compress_type=zipfile.ZIP_STORED)\n"
      "  i=zipfile.ZipInfo('bootstrap'); i.external_attr=(0o755<<16); "
      "i.create_system=3\n"
      "  z.writestr(i,'#!/bin/sh\\n')\n";
  std::ofstream(dir.Join("mk.py")) << script;
  ASSERT_EQ(std::system(
                ("/usr/bin/python3 " + dir.Join("mk.py") + " " + zip).c_str()),
            0);
  absl::StatusOr<std::vector<evbus::v1::CodeFile>> files =
      UnpackZip(ReadAll(zip));
  ASSERT_TRUE(files.ok()) << files.status();
  ASSERT_EQ(files->size(), 3u);
  EXPECT_EQ((*files)[0].path(), "app.py");
  EXPECT_EQ((*files)[0].content(), "def h(e,c):\n  return 1\n");
  EXPECT_EQ((*files)[1].content(), std::string(1000, 'x'));
  EXPECT_TRUE((*files)[2].executable());
  EXPECT_FALSE((*files)[0].executable());

  ASSERT_TRUE(WriteCode(*files, dir.Join("out")).ok());
  EXPECT_EQ(ReadAll(dir.Join("out/lib/data.txt")), std::string(1000, 'x'));
  struct stat st;
  ASSERT_EQ(::stat(dir.Join("out/bootstrap").c_str(), &st), 0);
  EXPECT_NE(st.st_mode & 0100, 0u);

  absl::StatusOr<std::vector<evbus::v1::CodeFile>> back =
      ReadCodeDirectory(dir.Join("out"));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(DigestOf(*back).sha256_base64, DigestOf(*files).sha256_base64);
  EXPECT_EQ(DigestOf(*files).size, 1000 + 10 + 23);
}

// QA J F8: a name that is both a file and a directory ("a", then "a/b") is
// the upload's fault: InvalidParameterValueException naming the entry, not a
// 500 with the server's path.
TEST(CodePackage, ANameThatIsBothAFileAndADirectoryIsRefused) {
  testing::TempDir dir;
  for (const auto& order : {std::vector<std::string>{"a", "a/b"},
                            std::vector<std::string>{"a/b", "a"}}) {
    std::vector<evbus::v1::CodeFile> files;
    for (const std::string& path : order) {
      evbus::v1::CodeFile f;
      f.set_path(path);
      f.set_content("x");
      files.push_back(f);
    }
    absl::Status s =
        WriteCode(files, dir.Join("out-" + order[0].substr(0, 1) +
                                  std::to_string(order[0].size())));
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
    EXPECT_NE(s.message().find("both a file and a directory"),
              absl::string_view::npos)
        << s;
    EXPECT_EQ(s.message().find(dir.path()), absl::string_view::npos) << s;
  }
}

TEST(CodePackage, RefusesGarbageAndUnsafePaths) {
  EXPECT_FALSE(UnpackZip("not a zip at all, really not").ok());
  EXPECT_FALSE(UnpackZip("").ok());
  evbus::v1::FunctionCode code;
  evbus::v1::CodeFile* f = code.add_files();
  f->set_path("../escape.py");
  absl::StatusOr<std::vector<evbus::v1::CodeFile>> files = FilesOf(code);
  EXPECT_FALSE(files.ok());
  EXPECT_NE(files.status().message().find("InvalidParameterValueException"),
            std::string::npos);
  f->set_path("/abs.py");
  EXPECT_FALSE(FilesOf(code).ok());
}

TEST(CodePackage, DigestIgnoresOrder) {
  std::vector<evbus::v1::CodeFile> a(2), b(2);
  a[0].set_path("x");
  a[0].set_content("1");
  a[1].set_path("y");
  a[1].set_content("2");
  b[0] = a[1];
  b[1] = a[0];
  EXPECT_EQ(DigestOf(a).sha256_base64, DigestOf(b).sha256_base64);
  b[0].set_content("3");
  EXPECT_NE(DigestOf(a).sha256_base64, DigestOf(b).sha256_base64);
}

TEST(CodePackageTest, OpenToFunctionsLeavesSymlinkTargetsAlone) {
  testing::TempDir dir;
  const std::string secret = dir.Join("secret");
  std::ofstream(secret) << "s";
  ASSERT_EQ(::chmod(secret.c_str(), 0600), 0);
  const std::string code = dir.Join("code");
  ASSERT_EQ(::mkdir(code.c_str(), 0700), 0);
  std::ofstream(code + "/app.py") << "x";
  ASSERT_EQ(::chmod((code + "/app.py").c_str(), 0600), 0);
  ASSERT_EQ(::symlink(secret.c_str(), (code + "/link").c_str()), 0);
  OpenToFunctions(code);
  struct stat st;
  ASSERT_EQ(::stat(secret.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);  // not followed
  ASSERT_EQ(::stat((code + "/app.py").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0444, 0444u);
  ASSERT_EQ(::stat(code.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0755u);
}

TEST(CodePackageTest, WriteCodeCanKeepTheDirectoryClosed) {
  testing::TempDir dir;
  evbus::v1::CodeFile f;
  f.set_path("app.py");
  f.set_content("x");
  const std::string closed = dir.Join("closed");
  ASSERT_TRUE(WriteCode({f}, closed, /*open_top=*/false).ok());
  struct stat st;
  ASSERT_EQ(::stat(closed.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_EQ(::stat((closed + "/app.py").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
  const std::string open = dir.Join("open");
  ASSERT_TRUE(WriteCode({f}, open).ok());
  ASSERT_EQ(::stat(open.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0755u);
}

}  // namespace
}  // namespace evbus::functions
