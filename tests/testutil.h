// Helpers for integration tests that drive the real `bld` binary.
#pragma once

#include <string>
#include <vector>

#include "base/child_process.h"
#include "base/error.h"
#include "base/temp_dir.h"

namespace bld::testing {

// Absolute path of the bld binary under test (the build tree's cli/bld).
std::string BldBinary();
// The source tree (for testdata/) and ../shared/peer.
std::string SourceDir();
std::string SharedPeerDir();

// Runs `bld --root ROOT ARGS...`; stdin is `input`. Aborts the test on spawn failure.
CommandResult RunBld(const std::string& root, const std::vector<std::string>& args,
                     const std::string& input = "");
// Runs any command; aborts the test on spawn failure.
CommandResult Run(const std::vector<std::string>& argv, const std::string& input = "");

// Path of a busybox rootfs tar made by testdata/busybox-rootfs.sh, created once per process.
std::string BusyboxRootfsTar();
// Imports the busybox rootfs into the store at `root` as `name` (with CMD ["sh"]).
// Returns false (after ADD_FAILURE) if it fails.
bool ImportBusybox(const std::string& root, const std::string& name = "busybox");

// True if a program is on PATH.
bool HaveProgram(const std::string& name);
bool IsRoot();

}  // namespace bld::testing
