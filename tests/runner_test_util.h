// Helpers for the runner's integration tests: a busybox root filesystem, and running
// bld_runner_driver (tests/runner_driver.cc) as root or, for rootless tests, as an
// unprivileged user that the tests create.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "base/child_process.h"
#include "base/temp_dir.h"

namespace bld::runner_testing {

enum class Mode { kRoot, kRootless };
std::string ModeName(Mode m);

// The unprivileged user for rootless tests ("bldrunnertest", created with useradd when we
// are root). Returns false with a reason if it cannot exist.
bool EnsureTestUser(std::string* why);
uid_t TestUid();
gid_t TestGid();

// A fresh copy of the busybox rootfs in a new temp dir (readable by everyone), owned by the
// test user in kRootless mode.
class Rootfs final {
 public:
  static std::optional<Rootfs> Make(Mode mode);
  const std::string& path() const { return path_; }
  // The temp dir holding the rootfs; tests may put other files here.
  const std::string& dir() const { return dir_->path(); }

 private:
  std::optional<TempDir> dir_;
  std::string path_;
};

// Runs `bld_runner_driver ARGS...` (as the test user in kRootless mode when we are root).
CommandResult RunDriver(Mode mode, const std::vector<std::string>& args,
                        const std::string& input = "");
// The argv RunDriver would use (for tests that spawn it themselves).
std::vector<std::string> DriverArgv(Mode mode, const std::vector<std::string>& args);

// `--rootfs R -- sh -c SCRIPT` with `flags` in between.
std::vector<std::string> Sh(const Rootfs& r, const std::string& script,
                            const std::vector<std::string>& flags = {});

}  // namespace bld::runner_testing
