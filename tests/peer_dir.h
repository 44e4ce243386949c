// Tests that read peers' files from ../shared/peer (BuildKit's parser test files): on a fresh
// clone without that folder they skip, naming it; under CI=true, where it is always present,
// its absence fails the test.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#define BLD_REQUIRE_PEER_DIR(dir)                                                         \
  do {                                                                                     \
    const std::string bld_peer_dir_ = (dir);                                               \
    if (!std::filesystem::is_directory(bld_peer_dir_)) {                                   \
      const char* bld_ci_ = std::getenv("CI");                                             \
      if (bld_ci_ != nullptr && std::string(bld_ci_) == "true") {                          \
        FAIL() << "missing folder " << bld_peer_dir_ << " (CI=true: it must be present)"; \
      }                                                                                    \
      GTEST_SKIP() << "missing folder " << bld_peer_dir_                                   \
                   << " (../shared/peer beside the source tree)";                          \
    }                                                                                      \
  } while (0)
