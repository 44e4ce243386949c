#include "base/log.h"

#include <unistd.h>

#include <atomic>
#include <string>

namespace bld {

namespace {
std::atomic<LogLevel> g_level{LogLevel::kWarn};
}

void SetLogLevel(LogLevel level) { g_level = level; }
LogLevel GetLogLevel() { return g_level; }

bool ParseLogLevel(std::string_view s, LogLevel* out) {
  if (s == "error") *out = LogLevel::kError;
  else if (s == "warn" || s == "warning") *out = LogLevel::kWarn;
  else if (s == "info") *out = LogLevel::kInfo;
  else if (s == "debug") *out = LogLevel::kDebug;
  else return false;
  return true;
}

LogMessage::~LogMessage() {
  static const char* const kNames[] = {"error", "warn", "info", "debug"};
  std::string line = std::string("bld ") + kNames[static_cast<int>(level_)] + ": " + stream_.str();
  line += '\n';
  // One write so lines from parallel threads do not interleave.
  (void)!::write(2, line.data(), line.size());
}

}  // namespace bld
