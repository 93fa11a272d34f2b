// File: tests/testing/temp_dir.h
//
// TempDir: a fresh directory under $TMPDIR (or /tmp), removed with its
// contents when the object is destroyed. Thread-compatible.
#pragma once

#include <string>

namespace evbus::testing {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  // path() + "/" + name
  std::string Join(const std::string& name) const;

 private:
  std::string path_;
};

}  // namespace evbus::testing
