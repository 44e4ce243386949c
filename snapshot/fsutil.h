// File-system helpers of the snapshot module; the file copier (CopyFileData,
// CopyXattrsFd, CopyTree) is also the one COPY/ADD use (builder/copy.cc).
#pragma once

#include <sys/stat.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/error.h"
#include "base/fd.h"

namespace bld::snapshot {

// openat2(dirfd, path, flags|O_CLOEXEC|O_NOFOLLOW, RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS|
// RESOLVE_NO_MAGICLINKS|RESOLVE_NO_XDEV): never leaves dirfd, never follows a symlink.
// Fails with ELOOP when any component is a symlink.
Result<UniqueFd> OpenBeneath(int dirfd, const std::string& path, int flags, mode_t mode = 0);

// rm -rf of `name` in `dirfd`, never following symlinks and never crossing mounts.
// A missing name is fine.
Status RemoveAt(int dirfd, const std::string& name);

// Extended attributes of an open file (fd) or of a path without following it (lgetxattr).
using Xattrs = std::vector<std::pair<std::string, std::string>>;
Result<Xattrs> ListXattrsFd(int fd);
Result<Xattrs> ListXattrsPath(const std::string& path);

// Copies `size` bytes of the open file `in` to `out` (both at offset 0): a reflink where
// the file system allows, else copy_file_range, else read/write. Errors name `what`.
Status CopyFileData(int in, int out, off_t size, const std::string& what);

// Copies the extended attributes of the open file `in` to `out` (security.capability,
// user.*, trusted.* ...), except overlayfs' own and SELinux labels. Errors name `what`.
Status CopyXattrsFd(int in, int out, const std::string& what);

// Copies the tree at `src` into the (new or empty) directory `dst`, preserving types,
// modes, owners, mtimes, xattrs, hardlinks (within the tree), symlinks, devices and fifos.
// Regular files are reflinked where the file system allows, else copied.
// owner: every copy owned by these ids instead of the source's (a rootless copy of host
// files whose owners the user namespace does not map).
struct CopyTreeOptions {
  std::optional<std::pair<uid_t, gid_t>> owner;
};
Status CopyTree(const std::string& src, const std::string& dst, const CopyTreeOptions& o = {});

// Switches the calling thread to the C.UTF-8 locale (uselocale) while alive, so that
// libarchive hands file names through as UTF-8 instead of failing on every non-ASCII byte
// in the C locale. A no-op if C.UTF-8 is missing.
class ScopedUtf8Locale final {
 public:
  ScopedUtf8Locale();
  ~ScopedUtf8Locale();
  ScopedUtf8Locale(const ScopedUtf8Locale&) = delete;
  ScopedUtf8Locale& operator=(const ScopedUtf8Locale&) = delete;

 private:
  void* old_ = nullptr;  // locale_t
};

// True for xattr names overlayfs uses internally (trusted.overlay.*, user.overlay.*).
bool IsOverlayXattr(const std::string& name);

}  // namespace bld::snapshot
