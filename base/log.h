// Logging to stderr: BLD_LOG(kInfo) << "using overlay snapshotter: ...";
// The level is set once from --log-level.
#pragma once

#include <sstream>
#include <string_view>

namespace bld {

enum class LogLevel { kError = 0, kWarn = 1, kInfo = 2, kDebug = 3 };

void SetLogLevel(LogLevel level);
LogLevel GetLogLevel();
// Parses "error|warn|info|debug".
bool ParseLogLevel(std::string_view s, LogLevel* out);

class LogMessage final {
 public:
  explicit LogMessage(LogLevel level) : level_(level) {}
  ~LogMessage();
  std::ostream& stream() { return stream_; }

 private:
  LogLevel level_;
  std::ostringstream stream_;
};

// Turns the stream expression into void so BLD_LOG can be a conditional expression
// (safe inside an unbraced if/else).
struct LogVoidify {
  void operator&(std::ostream&) {}
};

}  // namespace bld

#define BLD_LOG(level)                                      \
  (::bld::LogLevel::level > ::bld::GetLogLevel())           \
      ? (void)0                                             \
      : ::bld::LogVoidify() & ::bld::LogMessage(::bld::LogLevel::level).stream()
