#include "cli/common.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>

namespace bld::cli {

std::string StoreRoot(const GlobalOptions& g) {
  if (!g.root.empty()) return g.root;
  if (const char* r = std::getenv("BLD_ROOT"); r != nullptr && *r != '\0') return r;
  if (::geteuid() == 0 && !g.rootless) return "/var/lib/bld";
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
  return e.code() == ErrorCode::kInvalidArgument ? kExitUsage : kExitFailure;
}

std::string HumanSize(int64_t bytes) {
  static const char* const kUnits[] = {"B", "kB", "MB", "GB", "TB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1000 && u < 4) {
    v /= 1000;
    ++u;
  }
  char buf[32];
  if (u == 0) std::snprintf(buf, sizeof buf, "%lldB", static_cast<long long>(bytes));
  else std::snprintf(buf, sizeof buf, "%.3g%s", v, kUnits[u]);
  return buf;
}

std::string HumanAgo(const std::string& rfc3339) {
  struct tm tm = {};
  if (rfc3339.empty() || strptime(rfc3339.c_str(), "%Y-%m-%dT%H:%M:%S", &tm) == nullptr) {
    return "N/A";
  }
  time_t t = timegm(&tm);
  long long d = static_cast<long long>(std::time(nullptr) - t);
  auto plural = [](long long n, const char* unit) {
    return std::to_string(n) + " " + unit + (n == 1 ? "" : "s") + " ago";
  };
  if (d < 60) return "Less than a minute ago";
  if (d < 3600) return plural(d / 60, "minute");
  if (d < 86400) return plural(d / 3600, "hour");
  if (d < 86400 * 14) return plural(d / 86400, "day");
  if (d < 86400 * 60) return plural(d / (86400 * 7), "week");
  if (d < 86400 * 365 * 2) return plural(d / (86400 * 30), "month");
  return plural(d / (86400 * 365), "year");
}

std::string NowRfc3339() {
  time_t now = std::time(nullptr);
  struct tm tm;
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace bld::cli
