// Pieces of COPY/ADD that are pure and tested on their own.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

#include "base/error.h"

namespace bld::builder {

// Applies a --chmod value to `mode` (type bits kept): octal ("755", "0644",
// "4755") or symbolic as chmod(1) ("u+x", "go-w", "a=rX", "u=rwx,g=rx,o=").
// `is_dir` matters for X. InvalidArgument naming the value.
Result<mode_t> ApplyChmod(mode_t mode, bool is_dir, std::string_view spec);

// The file name ADD gives a URL: the last path component ("" if none).
std::string UrlFileName(std::string_view url);

}  // namespace bld::builder
