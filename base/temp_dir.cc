#include "base/temp_dir.h"

#include <stdlib.h>

#include <vector>

#include "base/file.h"

namespace bld {

Result<TempDir> TempDir::Create(const std::string& parent, const std::string& prefix) {
  std::string dir = parent;
  if (dir.empty()) {
    const char* t = getenv("TMPDIR");
    dir = (t != nullptr && *t != '\0') ? t : "/tmp";
  }
  std::string templ = JoinPath(dir, prefix + "XXXXXX");
  std::vector<char> buf(templ.begin(), templ.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr) return ErrnoError("mkdtemp " + templ);
  return TempDir(std::string(buf.data()));
}

TempDir& TempDir::operator=(TempDir&& other) noexcept {
  if (this != &other) {
    if (!path_.empty()) (void)RemoveAll(path_);
    path_ = std::move(other.path_);
    other.path_.clear();
  }
  return *this;
}

TempDir::~TempDir() {
  if (!path_.empty()) (void)RemoveAll(path_);
}

std::string TempDir::Release() {
  std::string p = std::move(path_);
  path_.clear();
  return p;
}

}  // namespace bld
