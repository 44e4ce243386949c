#include "tests/testutil.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <mutex>

#include "base/file.h"

namespace bld::testing {

std::string SourceDir() {
  const char* s = std::getenv("BLD_SOURCE_DIR");
  return s != nullptr ? s : BLD_SOURCE_DIR;
}

std::string BldBinary() {
  const char* b = std::getenv("BLD_BINARY_DIR");
  return std::string(b != nullptr ? b : BLD_BINARY_DIR) + "/cli/bld";
}

std::string SharedPeerDir() { return SourceDir() + "/../shared/peer"; }

CommandResult Run(const std::vector<std::string>& argv, const std::string& input) {
  auto r = RunCommand(argv, input);
  if (!r.ok()) {
    ADD_FAILURE() << "running " << argv[0] << ": " << r.error().message();
    return CommandResult{-1, "", r.error().message()};
  }
  return *r;
}

CommandResult RunBld(const std::string& root, const std::vector<std::string>& args,
                     const std::string& input) {
  std::vector<std::string> argv = {BldBinary(), "--root", root};
  argv.insert(argv.end(), args.begin(), args.end());
  return Run(argv, input);
}

std::string BusyboxRootfsTar() {
  static std::once_flag once;
  static std::string path;
  std::call_once(once, [] {
    static auto dir = TempDir::Create("", "bld-busybox-");
    if (!dir.ok()) return;
    std::string p = dir->path() + "/busybox-rootfs.tar";
    auto r = Run({SourceDir() + "/testdata/busybox-rootfs.sh", "-t", p});
    if (r.exit_code == 0) path = p;
    else ADD_FAILURE() << "busybox-rootfs.sh failed: " << r.err;
  });
  return path;
}

bool ImportBusybox(const std::string& root, const std::string& name) {
  std::string tar = BusyboxRootfsTar();
  if (tar.empty()) return false;
  auto r = RunBld(root, {"import", tar, name, "--change", "CMD [\"sh\"]"});
  if (r.exit_code != 0) {
    ADD_FAILURE() << "bld import failed: " << r.err;
    return false;
  }
  return true;
}

bool HaveProgram(const std::string& name) {
  auto r = RunCommand({"sh", "-c", "command -v " + name});
  return r.ok() && r->exit_code == 0;
}

bool IsRoot() { return ::geteuid() == 0; }

}  // namespace bld::testing
