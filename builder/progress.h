// Build progress on stderr. Thread-safe: steps of parallel stages report
// through one Progress, each line whole and prefixed with its step number,
// so interleaved output stays readable.
//
//   plain  "#3 [build 2/5] RUN make" ... "#3 <output line>" ... "#3 DONE 1.2s" / "#3 CACHED"
//   tty    the same events, coloured, with "=> " markers (no cursor tricks: output is
//          never clipped)
//   json   one object per line: {"step":3,"event":"start|output|cached|done|error|info",
//          "name":..., "line":..., "seconds":...}
//   quiet  nothing (errors still reach the caller)
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <string_view>

#include "builder/builder.h"

namespace bld::builder {

class Progress final {
 public:
  static constexpr size_t kMaxLine = 16 * 1024;

  Progress(ProgressMode mode, int fd);

  // Starts a step; returns its number.
  int Start(const std::string& name);
  // A chunk of the step's output (any size; split into lines here). Lines longer than
  // kMaxLine bytes are clipped (the log says so once), so memory stays bounded.
  void Output(int step, std::string_view data);
  void Cached(int step);
  void Done(int step);
  void Failed(int step, const std::string& message);
  // A free-standing message ("explain: ...", warnings).
  void Info(int step, const std::string& message);

 private:
  void WriteLine(const std::string& line);
  void FlushPartial(int step, bool force = false);
  double Seconds(int step);

  ProgressMode mode_;
  int fd_;
  std::mutex mu_;
  int next_ = 1;
  std::map<int, std::string> partial_;
  std::set<int> clipping_;  // steps in the middle of a clipped line
  bool clip_noted_ = false;
  std::map<int, std::chrono::steady_clock::time_point> started_;
};

}  // namespace bld::builder
