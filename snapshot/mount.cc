#include "snapshot/mount.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cstring>

#include "base/fd.h"
#include "base/log.h"

namespace bld::snapshot {

std::string Mount::str() const {
  std::string s = type + " " + source;
  if (!options.empty()) {
    s += " [";
    for (size_t i = 0; i < options.size(); ++i) s += (i ? "," : "") + options[i];
    s += "]";
  }
  return s;
}

namespace {

struct Parsed {
  unsigned long flags = 0;
  std::vector<std::string> data;  // fs-specific options
  bool bind = false;
};

Result<Parsed> ParseOptions(const Mount& m) {
  Parsed p;
  for (const auto& o : m.options) {
    if (o == "ro")
      p.flags |= MS_RDONLY;
    else if (o == "rw")
      p.flags &= ~static_cast<unsigned long>(MS_RDONLY);
    else if (o == "nosuid")
      p.flags |= MS_NOSUID;
    else if (o == "nodev")
      p.flags |= MS_NODEV;
    else if (o == "noexec")
      p.flags |= MS_NOEXEC;
    else if (o == "bind")
      p.bind = true;
    else if (o == "rbind") {
      p.bind = true;
      p.flags |= MS_REC;
    } else if (m.type == "overlay") {
      p.data.push_back(o);
    } else {
      return InvalidArgumentError("mount " + m.str() + ": unsupported option " + o);
    }
  }
  return p;
}

std::string FsContextLog(int fd) {
  std::string out;
  char buf[512];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf - 1);
    if (n <= 0) break;
    buf[n] = 0;
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out;
}

// The new mount API: one fsconfig call per option, one "lowerdir+" per layer, so the
// option string is not limited to a page.
Status MountOverlayFsconfig(const Mount& m, const Parsed& p, const std::string& target) {
  int fsfd = ::fsopen("overlay", FSOPEN_CLOEXEC);
  if (fsfd < 0) return ErrnoError("fsopen overlay");
  UniqueFd fs(fsfd);
  auto fail = [&](const std::string& what) {
    int err = errno;
    std::string log = FsContextLog(fs.get());
    return PosixError(
        "mount overlay on " + target + ": " + what + (log.empty() ? "" : " (" + log + ")"), err);
  };
  for (const auto& o : p.data) {
    size_t eq = o.find('=');
    if (eq == std::string::npos) {
      if (::fsconfig(fs.get(), FSCONFIG_SET_FLAG, o.c_str(), nullptr, 0) < 0) return fail(o);
      continue;
    }
    std::string key = o.substr(0, eq), value = o.substr(eq + 1);
    if (key == "lowerdir") {
      size_t i = 0;
      while (i <= value.size()) {
        size_t j = value.find(':', i);
        if (j == std::string::npos) j = value.size();
        std::string dir = value.substr(i, j - i);
        if (::fsconfig(fs.get(), FSCONFIG_SET_STRING, "lowerdir+", dir.c_str(), 0) < 0) {
          return fail("lowerdir+ " + dir);
        }
        i = j + 1;
      }
      continue;
    }
    if (::fsconfig(fs.get(), FSCONFIG_SET_STRING, key.c_str(), value.c_str(), 0) < 0)
      return fail(o);
  }
  if (::fsconfig(fs.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) < 0) return fail("create");
  unsigned int attrs = 0;
  if (p.flags & MS_RDONLY) attrs |= MOUNT_ATTR_RDONLY;
  if (p.flags & MS_NOSUID) attrs |= MOUNT_ATTR_NOSUID;
  if (p.flags & MS_NODEV) attrs |= MOUNT_ATTR_NODEV;
  if (p.flags & MS_NOEXEC) attrs |= MOUNT_ATTR_NOEXEC;
  int mfd = ::fsmount(fs.get(), FSMOUNT_CLOEXEC, attrs);
  if (mfd < 0) return fail("fsmount");
  UniqueFd mnt(mfd);
  if (::move_mount(mnt.get(), "", AT_FDCWD, target.c_str(), MOVE_MOUNT_F_EMPTY_PATH) < 0) {
    return fail("move_mount");
  }
  return Ok();
}

}  // namespace

Status MountAt(const Mount& m, const std::string& target) {
  BLD_ASSIGN_OR_RETURN(Parsed p, ParseOptions(m));
  if (m.type == "bind" || p.bind) {
    if (::mount(m.source.c_str(), target.c_str(), nullptr, MS_BIND | (p.flags & MS_REC), nullptr) <
        0) {
      return ErrnoError("bind mount " + m.source + " on " + target);
    }
    if (p.flags & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)) {
      unsigned long f =
          MS_BIND | MS_REMOUNT | (p.flags & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC));
      if (::mount(nullptr, target.c_str(), nullptr, f, nullptr) < 0) {
        int err = errno;
        ::umount2(target.c_str(), MNT_DETACH);
        return PosixError("remount " + target + " read-only", err);
      }
    }
    return Ok();
  }
  if (m.type != "overlay") return InvalidArgumentError("mount " + m.str() + ": unsupported type");
  std::string data;
  for (const auto& o : p.data) data += (data.empty() ? "" : ",") + o;
  long page = ::sysconf(_SC_PAGESIZE);
  if (data.size() + 1 > static_cast<size_t>(page)) return MountOverlayFsconfig(m, p, target);
  if (::mount(m.source.empty() ? "overlay" : m.source.c_str(), target.c_str(), "overlay", p.flags,
              data.c_str()) < 0) {
    return ErrnoError("mount overlay on " + target);
  }
  return Ok();
}

Status Unmount(const std::string& target) {
  if (::umount2(target.c_str(), UMOUNT_NOFOLLOW) == 0) return Ok();
  if (errno == EBUSY && ::umount2(target.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) == 0) return Ok();
  return ErrnoError("unmount " + target);
}

Result<ScopedMount> ScopedMount::Create(const std::vector<Mount>& mounts,
                                        const std::string& target) {
  ScopedMount sm;
  sm.path_ = target;
  for (const auto& m : mounts) {
    std::string t = m.target.empty() ? target : m.target;
    BLD_TRY(MountAt(m, t));
    sm.targets_.push_back(t);
  }
  return sm;
}

ScopedMount& ScopedMount::operator=(ScopedMount&& o) noexcept {
  if (this != &o) {
    (void)Release();
    targets_ = std::move(o.targets_);
    path_ = std::move(o.path_);
    o.targets_.clear();
  }
  return *this;
}

Status ScopedMount::Release() {
  Status first;
  while (!targets_.empty()) {
    Status s = Unmount(targets_.back());
    if (!s.ok() && first.ok()) first = s;
    targets_.pop_back();
  }
  return first;
}

ScopedMount::~ScopedMount() {
  Status s = Release();
  if (!s.ok()) BLD_LOG(kWarn) << s.error().message();
}

}  // namespace bld::snapshot
