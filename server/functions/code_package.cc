#include "server/functions/code_package.h"

#include <openssl/evp.h>
#include <sys/stat.h>
#include <zlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <system_error>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "server/functions/function_config.h"

namespace evbus::functions {
namespace {

namespace fs = std::filesystem;

uint32_t Le16(absl::string_view s, size_t at) {
  return static_cast<uint8_t>(s[at]) | (static_cast<uint8_t>(s[at + 1]) << 8);
}
uint32_t Le32(absl::string_view s, size_t at) {
  return Le16(s, at) | (Le16(s, at + 2) << 16);
}

absl::Status BadZip(absl::string_view why) {
  return InvalidParameter(
      absl::StrCat("Could not unzip uploaded file. Please check your file, "
                   "then try to upload again. (",
                   why, ")"));
}

// Relative, no "..", no empty or "." segments.
bool SafePath(absl::string_view path) {
  if (path.empty() || path.front() == '/' || path.size() > 4096) return false;
  for (absl::string_view part : absl::StrSplit(path, '/')) {
    if (part.empty() || part == "." || part == "..") return false;
  }
  return true;
}

absl::StatusOr<std::string> Inflate(absl::string_view data, size_t size) {
  std::string out(size, '\0');
  z_stream z{};
  if (inflateInit2(&z, -MAX_WBITS) != Z_OK) return BadZip("zlib init");
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  int rc = inflate(&z, Z_FINISH);
  size_t produced = out.size() - z.avail_out;
  inflateEnd(&z);
  if (rc != Z_STREAM_END || produced != size) return BadZip("corrupt entry");
  return out;
}

}  // namespace

absl::StatusOr<std::vector<evbus::v1::CodeFile>> UnpackZip(
    absl::string_view zip) {
  // End of central directory: signature 0x06054b50, at most 64 KiB + 22
  // bytes from the end (the comment).
  if (zip.size() < 22) return BadZip("too short");
  size_t eocd = std::string::npos;
  size_t lowest = zip.size() > 65557 ? zip.size() - 65557 : 0;
  for (size_t i = zip.size() - 22 + 1; i-- > lowest;) {
    if (Le32(zip, i) == 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd == std::string::npos) return BadZip("no central directory");
  uint32_t entries = Le16(zip, eocd + 10);
  // 0xFFFF: the real count is in a Zip64 record, which is not read; reading
  // the first 65,535 files only would silently drop the rest.
  if (entries == 0xFFFF) {
    return BadZip("more than 65,534 files (Zip64 archives are not supported)");
  }
  uint32_t cd_size = Le32(zip, eocd + 12);
  uint32_t cd_offset = Le32(zip, eocd + 16);
  if (static_cast<uint64_t>(cd_offset) + cd_size > zip.size()) {
    return BadZip("central directory out of range");
  }
  std::vector<evbus::v1::CodeFile> files;
  int64_t total = 0;
  size_t at = cd_offset;
  for (uint32_t n = 0; n < entries; ++n) {
    if (at + 46 > zip.size() || Le32(zip, at) != 0x02014b50) {
      return BadZip("bad central directory entry");
    }
    uint32_t made_by = Le16(zip, at + 4) >> 8;
    uint32_t flags = Le16(zip, at + 8);
    uint32_t method = Le16(zip, at + 10);
    uint32_t csize = Le32(zip, at + 20);
    uint32_t usize = Le32(zip, at + 24);
    uint32_t name_len = Le16(zip, at + 28);
    uint32_t extra_len = Le16(zip, at + 30);
    uint32_t comment_len = Le16(zip, at + 32);
    uint32_t external = Le32(zip, at + 38);
    uint32_t local = Le32(zip, at + 42);
    if (at + 46 + name_len > zip.size()) return BadZip("bad entry name");
    std::string name(zip.substr(at + 46, name_len));
    at += 46 + name_len + extra_len + comment_len;
    if (absl::EndsWith(name, "/")) continue;  // a directory
    if ((flags & 1) != 0) return BadZip("encrypted entries");
    if (!SafePath(name)) return BadZip(absl::StrCat("unsafe path ", name));
    if (static_cast<uint64_t>(local) + 30 > zip.size() ||
        Le32(zip, local) != 0x04034b50) {
      return BadZip("bad local header");
    }
    size_t data_at = local + 30 + Le16(zip, local + 26) + Le16(zip, local + 28);
    if (data_at + csize > zip.size()) return BadZip("entry out of range");
    total += usize;
    if (total > kMaxCodeBytes) {
      return InvalidParameter(
          "Unzipped size must be smaller than 262144000 bytes");
    }
    absl::string_view data = zip.substr(data_at, csize);
    evbus::v1::CodeFile file;
    file.set_path(name);
    if (method == 0) {
      if (csize != usize) return BadZip("stored entry size mismatch");
      file.set_content(std::string(data));
    } else if (method == 8) {
      absl::StatusOr<std::string> inflated = Inflate(data, usize);
      if (!inflated.ok()) return inflated.status();
      file.set_content(*std::move(inflated));
    } else {
      return BadZip(absl::StrCat("compression method ", method));
    }
    // Unix mode in the high half of the external attributes.
    file.set_executable(made_by == 3 && ((external >> 16) & 0111) != 0);
    files.push_back(std::move(file));
  }
  return files;
}

absl::StatusOr<std::vector<evbus::v1::CodeFile>> ReadCodeDirectory(
    const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return InvalidParameter(absl::StrCat(dir, " is not a directory"));
  }
  std::vector<evbus::v1::CodeFile> files;
  int64_t total = 0;
  fs::recursive_directory_iterator it(
      dir, fs::directory_options::follow_directory_symlink, ec);
  for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    std::string rel = fs::relative(it->path(), dir, ec).generic_string();
    if (ec || !SafePath(rel)) continue;
    std::ifstream in(it->path(), std::ios::binary);
    std::string content((std::istreambuf_iterator<char>(in)),
                        std::istreambuf_iterator<char>());
    if (!in.good() && !in.eof()) {
      return InvalidParameter(
          absl::StrCat("cannot read ", it->path().string()));
    }
    total += static_cast<int64_t>(content.size());
    if (total > kMaxCodeBytes) {
      return InvalidParameter(
          "Unzipped size must be smaller than 262144000 bytes");
    }
    evbus::v1::CodeFile file;
    file.set_path(rel);
    file.set_content(std::move(content));
    fs::perms p = it->status(ec).permissions();
    file.set_executable((p & fs::perms::owner_exec) != fs::perms::none);
    files.push_back(std::move(file));
  }
  if (ec)
    return InvalidParameter(
        absl::StrCat("cannot read ", dir, ": ", ec.message()));
  return files;
}

absl::StatusOr<std::vector<evbus::v1::CodeFile>> FilesOf(
    const evbus::v1::FunctionCode& code) {
  if (!code.zip_file().empty()) {
    if (code.files_size() > 0) {
      return InvalidParameter("Give either a ZIP file or files, not both.");
    }
    return UnpackZip(code.zip_file());
  }
  std::vector<evbus::v1::CodeFile> files(code.files().begin(),
                                         code.files().end());
  int64_t total = 0;
  for (const evbus::v1::CodeFile& f : files) {
    if (!SafePath(f.path())) {
      return InvalidParameter(
          absl::StrCat("Invalid code file path: ", f.path()));
    }
    total += static_cast<int64_t>(f.content().size());
  }
  if (total > kMaxCodeBytes) {
    return InvalidParameter(
        "Unzipped size must be smaller than 262144000 bytes");
  }
  return files;
}

CodeDigest DigestOf(const std::vector<evbus::v1::CodeFile>& files) {
  std::vector<const evbus::v1::CodeFile*> sorted;
  for (const evbus::v1::CodeFile& f : files) sorted.push_back(&f);
  std::sort(sorted.begin(), sorted.end(),
            [](const auto* a, const auto* b) { return a->path() < b->path(); });
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  CodeDigest d;
  for (const evbus::v1::CodeFile* f : sorted) {
    std::string header = f->path();
    header.push_back(f->executable() ? '\1' : '\0');
    absl::StrAppend(&header, f->content().size(), "\n");
    EVP_DigestUpdate(ctx, header.data(), header.size());
    EVP_DigestUpdate(ctx, f->content().data(), f->content().size());
    d.size += static_cast<int64_t>(f->content().size());
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  EVP_DigestFinal_ex(ctx, md, &md_len);
  EVP_MD_CTX_free(ctx);
  d.sha256_base64 = absl::Base64Escape(
      absl::string_view(reinterpret_cast<const char*>(md), md_len));
  return d;
}

CodeDigest DigestOfCode(const evbus::v1::FunctionCode& code,
                        const std::vector<evbus::v1::CodeFile>& files) {
  if (code.zip_file().empty()) return DigestOf(files);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(code.zip_file().data(), code.zip_file().size(), md, &len,
             EVP_sha256(), nullptr);
  CodeDigest d;
  d.sha256_base64 = absl::Base64Escape(
      absl::string_view(reinterpret_cast<const char*>(md), len));
  d.size = static_cast<int64_t>(code.zip_file().size());
  return d;
}

absl::Status WriteCode(const std::vector<evbus::v1::CodeFile>& files,
                       const std::string& dir, bool open_top) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat("cannot create ", dir, ": ", ec.message()));
  }
  if (!open_top) ::chmod(dir.c_str(), 0700);
  for (const evbus::v1::CodeFile& f : files) {
    if (!SafePath(f.path())) {
      return InvalidParameter(
          absl::StrCat("Invalid code file path: ", f.path()));
    }
    fs::path target = fs::path(dir) / f.path();
    // "a" then "a/b" (or the reverse): one name both a file and a
    // directory. The client's mistake, answered without the server's path.
    fs::create_directories(target.parent_path(), ec);
    if (ec || fs::is_directory(target)) {
      return BadZip(absl::StrCat(f.path(), " is both a file and a directory"));
    }
    std::ofstream out(target, std::ios::binary | std::ios::trunc);
    out.write(f.content().data(),
              static_cast<std::streamsize>(f.content().size()));
    out.close();
    if (!out) {
      return absl::UnavailableError(
          absl::StrCat("cannot write ", target.string()));
    }
    ::chmod(target.c_str(), f.executable() ? 0755 : 0644);
  }
  OpenToFunctions(dir, open_top);
  ::chmod(fs::path(dir).parent_path().c_str(), 0755);  // one per function
  return absl::OkStatus();
}

void OpenToFunctions(const std::string& dir, bool open_top) {
  std::error_code ec;
  if (open_top) ::chmod(dir.c_str(), 0755);
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end;
       it.increment(ec)) {
    std::error_code mode_ec;
    // A symbolic link is left alone: following it would open up the file
    // it names, wherever that is.
    if (it->is_symlink(mode_ec)) continue;
    if (it->is_directory(mode_ec)) {
      ::chmod(it->path().c_str(), 0755);
    } else if (it->is_regular_file(mode_ec)) {
      fs::permissions(it->path(),
                      fs::perms::owner_read | fs::perms::group_read |
                          fs::perms::others_read,
                      fs::perm_options::add, mode_ec);
    }
  }
}

}  // namespace evbus::functions
