// Mount descriptions returned by snapshotters, and the code that mounts them.
#pragma once

#include <string>
#include <vector>

#include "base/error.h"

namespace bld::snapshot {

// One mount, as containerd describes it: mount(source, target, type, options).
//   type "overlay": source "overlay", options lowerdir=A:B:C (topmost first), upperdir=...,
//                   workdir=... (absent for read-only views), plus overlay flags.
//   type "bind":    source is a directory; options "rbind" and "ro" or "rw".
// `target` is empty when the caller chooses where to mount (snapshotter results).
struct Mount {
  std::string type;
  std::string source;
  std::string target;
  std::vector<std::string> options;

  // "type source [options]" for logs and errors.
  std::string str() const;
};

// Mounts `m` at `target`. Overlay option strings longer than a page (deep chains) are
// mounted through fsopen/fsconfig with one "lowerdir+" per layer, so chains up to the
// kernel's limit of 500 lower layers work. Unknown types/options are InvalidArgument.
Status MountAt(const Mount& m, const std::string& target);

// Unmounts `target` (MNT_DETACH when busy).
Status Unmount(const std::string& target);

// Mounts a list of mounts at `target` (in order; each at its own target when set, else at
// `target`) and unmounts them, in reverse order, on destruction.
class ScopedMount final {
 public:
  static Result<ScopedMount> Create(const std::vector<Mount>& mounts, const std::string& target);
  ScopedMount() = default;
  ScopedMount(const ScopedMount&) = delete;
  ScopedMount& operator=(const ScopedMount&) = delete;
  ScopedMount(ScopedMount&& o) noexcept
      : targets_(std::move(o.targets_)), path_(std::move(o.path_)) {
    o.targets_.clear();
  }
  ScopedMount& operator=(ScopedMount&& o) noexcept;
  ~ScopedMount();

  // Unmounts now, reporting errors.
  Status Release();
  const std::string& path() const { return path_; }

 private:
  std::vector<std::string> targets_;
  std::string path_;
};

}  // namespace bld::snapshot
