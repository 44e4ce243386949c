// TempDir: a fresh directory removed (recursively) on destruction.
#pragma once

#include <string>

#include "base/error.h"

namespace bld {

class TempDir final {
 public:
  // Creates "<parent>/<prefix>XXXXXX". parent defaults to $TMPDIR or /tmp.
  static Result<TempDir> Create(const std::string& parent = "", const std::string& prefix = "bld-");
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  TempDir(TempDir&& other) noexcept : path_(std::move(other.path_)) { other.path_.clear(); }
  TempDir& operator=(TempDir&& other) noexcept;
  ~TempDir();

  const std::string& path() const { return path_; }
  // Keeps the directory: the destructor will not remove it. Returns the path.
  std::string Release();

 private:
  explicit TempDir(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

}  // namespace bld
