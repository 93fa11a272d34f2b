// File: server/common/file_pages.h
//
// Releasing the file-backed pages a process touched while starting up.
//
// Start-up runs code that never runs again: static initialisers of every
// linked library, flag and config parsing, store recovery, the stack. Its
// read-only file-backed pages (program text and constants of evbusd and
// its libraries) stay mapped and count in the daemon's RSS; the kernel
// also maps the neighbours of every touched page (fault-around). On an
// idle daemon they are most of its RSS (docs/performance.md, Start-up).
//
// ReleaseFileBackedPages asks the kernel to reclaim the pages of the
// calling process's read-only file mappings that no other process maps
// (madvise MADV_PAGEOUT, Linux >= 5.4): they leave the process's RSS and,
// being clean, the page cache. Pages used afterwards fault back in (from
// the page cache, or the disk if they were dropped). Writable mappings
// and anonymous memory are left alone.
//
// Thread safety: thread-safe (reads /proc/self, calls madvise).
#pragma once

#include <cstdint>

#include "absl/status/statusor.h"

namespace evbus::common {

struct ReleasedFilePages {
  int mappings = 0;                // read-only file mappings advised
  int64_t rss_file_before_kb = 0;  // RssFile of /proc/self/status
  int64_t rss_file_after_kb = 0;
};

// FailedPrecondition when the kernel does not know MADV_PAGEOUT (nothing is
// released; evbusd logs it and goes on); Unavailable when /proc/self/maps
// cannot be read.
absl::StatusOr<ReleasedFilePages> ReleaseFileBackedPages();

}  // namespace evbus::common
