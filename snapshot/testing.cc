#include "snapshot/testing.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include "base/file.h"
#include "oci/digest.h"
#include "snapshot/compression.h"
#include "snapshot/fsutil.h"

namespace bld::snapshot::testing {

namespace {

void Describe(const std::string& root, const std::string& rel, bool mtimes,
              std::map<std::string, std::string>* out) {
  std::string dir = rel.empty() ? root : root + "/" + rel;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return;
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d)) {
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) names.emplace_back(e->d_name);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  for (const auto& n : names) {
    std::string r = rel.empty() ? n : rel + "/" + n;
    std::string p = root + "/" + r;
    struct stat st;
    if (::lstat(p.c_str(), &st) < 0) continue;
    std::ostringstream s;
    char mode[8];
    snprintf(mode, sizeof mode, "%04o", st.st_mode & 07777);
    switch (st.st_mode & S_IFMT) {
      case S_IFDIR:
        s << "dir ";
        break;
      case S_IFREG:
        s << "file ";
        break;
      case S_IFLNK:
        s << "symlink ";
        break;
      case S_IFCHR:
        s << "char ";
        break;
      case S_IFBLK:
        s << "block ";
        break;
      case S_IFIFO:
        s << "fifo ";
        break;
      default:
        s << "other ";
    }
    if (!S_ISLNK(st.st_mode)) s << mode << " ";
    s << st.st_uid << ":" << st.st_gid;
    if (S_ISREG(st.st_mode)) {
      auto data = ReadFile(p);
      s << " " << (data.ok() ? oci::Digest::Of(*data).Short() : "unreadable");
      if (st.st_nlink > 1) s << " nlink=" << st.st_nlink;
    } else if (S_ISLNK(st.st_mode)) {
      char buf[4096];
      ssize_t k = ::readlink(p.c_str(), buf, sizeof buf);
      s << " -> " << std::string(buf, k > 0 ? static_cast<size_t>(k) : 0);
    } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
      s << " " << major(st.st_rdev) << "," << minor(st.st_rdev);
    }
    if (mtimes && !S_ISDIR(st.st_mode)) s << " mtime=" << st.st_mtim.tv_sec;
    auto xs = ListXattrsPath(p);
    if (xs.ok()) {
      for (const auto& [k, v] : *xs) {
        if (IsOverlayXattr(k)) continue;
        s << " " << k << "=" << oci::Digest::Of(v).Short();
      }
    }
    (*out)[r] = s.str();
    if (S_ISDIR(st.st_mode)) Describe(root, r, mtimes, out);
  }
}

}  // namespace

std::map<std::string, std::string> DescribeTree(const std::string& root, bool mtimes) {
  std::map<std::string, std::string> out;
  Describe(root, "", mtimes, &out);
  return out;
}

std::string TreeDiff(const std::map<std::string, std::string>& want,
                     const std::map<std::string, std::string>& got) {
  std::string out;
  for (const auto& [k, v] : want) {
    auto it = got.find(k);
    if (it == got.end())
      out += "missing " + k + " (" + v + ")\n";
    else if (it->second != v)
      out += "differs " + k + ": want " + v + ", got " + it->second + "\n";
  }
  for (const auto& [k, v] : got) {
    if (!want.count(k)) out += "extra " + k + " (" + v + ")\n";
  }
  return out;
}

std::string MakeTar(const std::vector<TarEntry>& entries, oci::Compression c) {
  std::string tar;
  archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  archive_write_set_bytes_per_block(a, 0);
  archive_write_open(
      a, &tar, nullptr,
      [](archive*, void* ctx, const void* p, size_t n) -> la_ssize_t {
        static_cast<std::string*>(ctx)->append(static_cast<const char*>(p), n);
        return static_cast<la_ssize_t>(n);
      },
      nullptr);
  for (const auto& t : entries) {
    archive_entry* e = archive_entry_new();
    archive_entry_copy_pathname(e, t.path.c_str());
    archive_entry_set_perm(e, static_cast<mode_t>(t.mode));
    archive_entry_set_uid(e, t.uid);
    archive_entry_set_gid(e, t.gid);
    archive_entry_set_mtime(e, t.mtime, 0);
    for (const auto& [k, v] : t.xattrs)
      archive_entry_xattr_add_entry(e, k.c_str(), v.data(), v.size());
    switch (t.type) {
      case 'f':
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_size(e, static_cast<la_int64_t>(t.data.size()));
        break;
      case 'd':
        archive_entry_set_filetype(e, AE_IFDIR);
        break;
      case 'l':
        archive_entry_set_filetype(e, AE_IFLNK);
        archive_entry_copy_symlink(e, t.data.c_str());
        break;
      case 'h':
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_copy_hardlink(e, t.data.c_str());
        archive_entry_set_size(e, 0);
        break;
      case 'c':
      case 'b':
        archive_entry_set_filetype(e, t.type == 'c' ? AE_IFCHR : AE_IFBLK);
        archive_entry_set_rdevmajor(e, t.major);
        archive_entry_set_rdevminor(e, t.minor);
        break;
      case 'p':
        archive_entry_set_filetype(e, AE_IFIFO);
        break;
    }
    archive_write_header(a, e);
    if (t.type == 'f' && !t.data.empty()) archive_write_data(a, t.data.data(), t.data.size());
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
  if (c == oci::Compression::kNone) return tar;
  std::string out;
  auto comp = Compressor::Create(c, {}, [&](const void* p, size_t n) {
    out.append(static_cast<const char*>(p), n);
    return Ok();
  });
  if (!comp.ok() || !(*comp)->Write(tar.data(), tar.size()).ok() || !(*comp)->Finish().ok())
    abort();
  return out;
}

void WriteFileOrDie(const std::string& path, const std::string& data, int mode) {
  if (!MkdirAll(Dirname(path)).ok()) abort();
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) abort();
  if (!WriteAll(fd, data).ok()) abort();
  ::fchmod(fd, static_cast<mode_t>(mode));
  ::close(fd);
}

}  // namespace bld::snapshot::testing
