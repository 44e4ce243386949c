#include "cli/common.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>

namespace bld::cli {

std::string StoreRoot(const GlobalOptions& g) {
  if (!g.root.empty()) return g.root;
  if (const char* r = std::getenv("BLD_ROOT"); r != nullptr && *r != '\0') return r;
  if (::geteuid() == 0) return "/var/lib/bld";
  if (const char* x = std::getenv("XDG_DATA_HOME"); x != nullptr && *x != '\0') {
    return std::string(x) + "/bld";
  }
  const char* home = std::getenv("HOME");
  return std::string(home != nullptr ? home : "/tmp") + "/.local/share/bld";
}

Result<std::unique_ptr<oci::Store>> OpenStore(const GlobalOptions& g) {
  std::string root = StoreRoot(g);
  auto s = oci::Store::Open(root);
  if (!s.ok()) return std::move(s).error().Wrap("open store " + root);
  return s;
}

int ReportError(const Error& e, int exit_code) {
  std::fprintf(stderr, "bld: %s\n", e.message().c_str());
  if (exit_code >= 0) return exit_code;
  return e.code() == ErrorCode::kInvalidArgument ? kExitUsage : kExitBldFailed;
}

}  // namespace bld::cli
