#include "tests/rootless_fixture.h"

#include <gtest/gtest.h>
#include <pwd.h>
#include <sys/file.h>

#include <cstdlib>

#include "base/file.h"
#include "runner/idmap.h"

namespace bld::testing {

namespace {

// Range start for `name` in an /etc/sub?id file, 0 if none.
uint32_t RangeStart(const std::string& file, const std::string& name, uid_t uid) {
  auto text = ReadFile(file);
  if (!text.ok()) return 0;
  for (const auto& r : runner::ParseSubIds(*text, name, uid)) {
    if (r.count >= 65536) return r.start;
  }
  return 0;
}

// Rewrites `file` without `name`'s lines, then (with_range) appends start:65536.
bool SetRange(const std::string& file, const std::string& name, uint32_t start, bool add) {
  auto text = ReadFile(file);
  std::string out;
  if (text.ok()) {
    size_t pos = 0;
    while (pos < text->size()) {
      size_t nl = text->find('\n', pos);
      std::string line = text->substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
      pos = nl == std::string::npos ? text->size() : nl + 1;
      if (line.rfind(name + ":", 0) != 0 && !line.empty()) out += line + "\n";
    }
  }
  if (add) out += name + ":" + std::to_string(start) + ":65536\n";
  return WriteFileAtomic(file, out, 0644).ok();
}

}  // namespace

std::optional<RootlessUser> EnsureRootlessUser(const std::string& name, bool with_subids,
                                               std::string* why) {
  if (getpwnam(name.c_str()) == nullptr) {
    auto r = RunCommand({"useradd", "-M", "-s", "/bin/sh", name});
    if (getpwnam(name.c_str()) == nullptr) {
      *why = "useradd " + name + " failed: " + (r.ok() ? r->err : r.error().message());
      return std::nullopt;
    }
  }
  passwd* pw = getpwnam(name.c_str());
  RootlessUser u{name, pw->pw_uid, pw->pw_gid, 0};
  // Serialise edits of /etc/subuid and /etc/subgid between parallel tests.
  int lock = open("/etc/subuid", O_RDONLY | O_CLOEXEC);
  if (lock >= 0) flock(lock, LOCK_EX);
  uint32_t s = RangeStart("/etc/subuid", name, u.uid);
  uint32_t g = RangeStart("/etc/subgid", name, u.uid);
  bool ok = true;
  if (with_subids) {
    // A range of its own, far above what useradd hands out, the same for uids and gids.
    uint32_t start = s != 0 && s == g ? s : 500000000 + (u.uid % 1000) * 65536;
    if (s != start) ok = ok && SetRange("/etc/subuid", name, start, true);
    if (g != start) ok = ok && SetRange("/etc/subgid", name, start, true);
    u.subid_start = start;
  } else {
    if (s != 0) ok = ok && SetRange("/etc/subuid", name, 0, false);
    if (g != 0) ok = ok && SetRange("/etc/subgid", name, 0, false);
  }
  if (lock >= 0) close(lock);
  if (!ok) {
    *why = "cannot edit /etc/subuid or /etc/subgid";
    return std::nullopt;
  }
  return u;
}

CommandResult RunAsUser(const RootlessUser& user, const std::string& home,
                        const std::vector<std::string>& argv, const std::string& input) {
  std::vector<std::string> full = {"setpriv", "--reuid=" + std::to_string(user.uid),
                                   "--regid=" + std::to_string(user.gid), "--init-groups", "--"};
  full.insert(full.end(), argv.begin(), argv.end());
  SpawnOptions o;
  o.cwd = home;
  std::vector<std::string> env = {"HOME=" + home, "USER=" + user.name,
                                  "PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"};
  for (const char* keep : {"ASAN_OPTIONS", "LSAN_OPTIONS", "UBSAN_OPTIONS", "BLD_LOG_LEVEL"}) {
    if (const char* v = std::getenv(keep)) env.push_back(std::string(keep) + "=" + v);
  }
  o.env = env;
  auto r = RunCommand(full, input, o);
  if (!r.ok()) {
    ADD_FAILURE() << "run as " << user.name << ": " << r.error().message();
    return CommandResult{-1, "", r.error().message()};
  }
  return *r;
}

}  // namespace bld::testing
