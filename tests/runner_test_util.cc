#include "tests/runner_test_util.h"

#include <gtest/gtest.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <mutex>

#include "base/file.h"

namespace bld::runner_testing {

namespace {

constexpr char kUser[] = "bldrunnertest";

std::string Driver() {
  const char* env = std::getenv("BLD_RUNNER_DRIVER");
  return env != nullptr ? env : BLD_RUNNER_DRIVER;
}

// The template rootfs, made once per process.
const std::string& TemplateRootfs() {
  static std::once_flag once;
  static std::string path;
  std::call_once(once, [] {
    static auto dir = TempDir::Create("", "bld-runner-template-");
    if (!dir.ok()) return;
    std::string p = dir->path() + "/rootfs";
    auto r = RunCommand({std::string(BLD_SOURCE_DIR) + "/testdata/busybox-rootfs.sh", p});
    if (r.ok() && r->exit_code == 0) {
      path = p;
    } else {
      ADD_FAILURE() << "busybox-rootfs.sh failed: " << (r.ok() ? r->err : r.error().message());
    }
  });
  return path;
}

}  // namespace

std::string ModeName(Mode m) { return m == Mode::kRoot ? "Root" : "Rootless"; }

bool EnsureTestUser(std::string* why) {
  if (geteuid() != 0) return true;  // we are already unprivileged
  if (getpwnam(kUser) != nullptr) return true;
  auto r = RunCommand({"useradd", "-M", "-s", "/bin/sh", kUser});
  if (getpwnam(kUser) != nullptr) return true;  // maybe created by a parallel test
  *why = "useradd " + std::string(kUser) + " failed: " + (r.ok() ? r->err : r.error().message());
  return false;
}

uid_t TestUid() {
  if (geteuid() != 0) return geteuid();
  passwd* pw = getpwnam(kUser);
  return pw != nullptr ? pw->pw_uid : 65534;
}

gid_t TestGid() {
  if (geteuid() != 0) return getegid();
  passwd* pw = getpwnam(kUser);
  return pw != nullptr ? pw->pw_gid : 65534;
}

std::optional<Rootfs> Rootfs::Make(Mode mode) {
  const std::string& tmpl = TemplateRootfs();
  if (tmpl.empty()) return std::nullopt;
  auto dir = TempDir::Create("", "bld-runner-test-");
  if (!dir.ok()) {
    ADD_FAILURE() << dir.error().message();
    return std::nullopt;
  }
  chmod(dir->path().c_str(), 0755);
  Rootfs r;
  r.path_ = dir->path() + "/rootfs";
  auto cp = RunCommand({"cp", "-a", tmpl, r.path_});
  if (!cp.ok() || cp->exit_code != 0) {
    ADD_FAILURE() << "cp -a " << tmpl << ": " << (cp.ok() ? cp->err : cp.error().message());
    return std::nullopt;
  }
  if (mode == Mode::kRootless && geteuid() == 0) {
    std::string owner = std::to_string(TestUid()) + ":" + std::to_string(TestGid());
    auto ch = RunCommand({"chown", "-R", owner, dir->path()});
    if (!ch.ok() || ch->exit_code != 0) {
      ADD_FAILURE() << "chown: " << (ch.ok() ? ch->err : ch.error().message());
      return std::nullopt;
    }
  }
  r.dir_.emplace(std::move(*dir));
  return r;
}

std::vector<std::string> DriverArgv(Mode mode, const std::vector<std::string>& args) {
  std::vector<std::string> argv;
  if (mode == Mode::kRootless && geteuid() == 0) {
    argv = {"setpriv", "--reuid=" + std::to_string(TestUid()),
            "--regid=" + std::to_string(TestGid()), "--init-groups", "--"};
  }
  argv.push_back(Driver());
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

CommandResult RunDriver(Mode mode, const std::vector<std::string>& args, const std::string& input) {
  SpawnOptions opts;
  opts.cwd = "/";
  auto r = RunCommand(DriverArgv(mode, args), input, opts);
  if (!r.ok()) {
    ADD_FAILURE() << "running the driver: " << r.error().message();
    return CommandResult{-1, "", r.error().message()};
  }
  return *r;
}

std::vector<std::string> Sh(const Rootfs& r, const std::string& script,
                            const std::vector<std::string>& flags) {
  std::vector<std::string> args = {"--rootfs", r.path()};
  args.insert(args.end(), flags.begin(), flags.end());
  args.insert(args.end(), {"--", "sh", "-c", script});
  return args;
}

}  // namespace bld::runner_testing
