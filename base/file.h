// Small file-system helpers: every call retries EINTR, opens with O_CLOEXEC and
// returns an error naming the path.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "base/fd.h"

namespace bld {

// open(2) with O_CLOEXEC added.
Result<UniqueFd> OpenFile(const std::string& path, int flags, mode_t mode = 0644);
Result<std::string> ReadFile(const std::string& path);
Result<std::string> ReadFd(int fd);
// Writes all of `data`, retrying short writes and EINTR.
Status WriteAll(int fd, std::string_view data, std::string_view what = "");
// Reads exactly `n` bytes or fails (EOF is an error).
Status ReadExact(int fd, void* buf, size_t n, std::string_view what = "");
// Crash-safe replace: writes to a temp file beside `path`, fsyncs, renames over
// `path`, fsyncs the directory.
Status WriteFileAtomic(const std::string& path, std::string_view data, mode_t mode = 0644);
Status FsyncDir(const std::string& dir);
// mkdir -p. Existing directories are fine.
Status MkdirAll(const std::string& path, mode_t mode = 0755);
// rm -rf. Does not cross into other mounts' contents (a mount point fails with EBUSY).
// A missing path is fine.
Status RemoveAll(const std::string& path);
bool PathExists(const std::string& path);
bool IsDirectory(const std::string& path);
// Names in a directory, without "." and "..", unsorted.
Result<std::vector<std::string>> ListDir(const std::string& path);
// Joins with exactly one '/' between parts.
std::string JoinPath(std::string_view a, std::string_view b);
std::string Dirname(std::string_view path);
std::string Basename(std::string_view path);

}  // namespace bld
