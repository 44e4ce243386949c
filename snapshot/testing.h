// Test helpers for snapshot/ and tests/snapshot_*: describing trees, writing tars by hand.
// Linked only into tests (bld_snapshot_testing).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/error.h"
#include "oci/media_types.h"

namespace bld::snapshot::testing {

// One line per path (relative, sorted): "type mode uid:gid <content sha/link target/rdev>
// [xattrs]". Overlay-internal xattrs are left out; mtimes only when asked.
std::map<std::string, std::string> DescribeTree(const std::string& root, bool mtimes = false);
// Multi-line rendering of the difference between two descriptions, "" when equal.
std::string TreeDiff(const std::map<std::string, std::string>& want,
                     const std::map<std::string, std::string>& got);

// A tar entry written verbatim (names are not cleaned: hostile tars need that).
struct TarEntry {
  std::string path;
  char type = 'f';   // f file, d dir, l symlink, h hardlink, c char dev, b block dev, p fifo
  std::string data;  // file content, or link target for l/h
  int mode = 0644;
  int64_t uid = 0, gid = 0;
  int64_t mtime = 1700000000;
  unsigned major = 0, minor = 0;
  std::vector<std::pair<std::string, std::string>> xattrs;
};
// A pax tar of `entries`, compressed as asked.
std::string MakeTar(const std::vector<TarEntry>& entries,
                    oci::Compression c = oci::Compression::kNone);

// Writes `data` to `path` (creating parents), with `mode`.
void WriteFileOrDie(const std::string& path, const std::string& data, int mode = 0644);

}  // namespace bld::snapshot::testing
