// Build progress on stderr. Thread-safe: steps of parallel stages report
// through one Progress, each line whole and prefixed with its step number,
// so interleaved output stays readable.
//
//   plain  "#3 [build 2/5] RUN make" ... "#3 0.412 <output line>" (seconds since the step
//          started) ... "#3 DONE 1.2s" / "#3 CACHED"
//   tty    a live view (plain ANSI, no terminfo: CR, EL "\e[K", CUU "\e[NA", ED "\e[J"),
//          redrawn at most 10 times a second: finished steps scroll up collapsed to one line
//          ("=> [2/5] RUN make    DONE 1.2s" / "CACHED", their notes as "=> => ..."); below
//          them one line per running step with a running timer and its last output lines
//          ("=> => # ..."), and the header "[+] Building 3.2s (4/9)"; at the end the header
//          stays as one line "[+] Building 6.2s (9/9) FINISHED" (or "FAILED"). Output
//          shown there has control characters replaced and is clipped to the width.
//   json   one object per line: {"step":3,"event":"start|output|cached|done|error|info",
//          "name":..., "line":..., "seconds":...}
//   quiet  nothing (errors still reach the caller)
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "builder/builder.h"

namespace bld::builder {

class Progress final {
 public:
  static constexpr size_t kMaxLine = 16 * 1024;
  // Output lines kept under a running step in the tty view.
  static constexpr size_t kTailLines = 6;

  Progress(ProgressMode mode, int fd);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // Steps the build expects to start (the tty header's total until more start).
  void SetPlanned(int steps);
  // Starts a step; returns its number.
  int Start(const std::string& name);
  // A chunk of the step's output (any size; split into lines here). Lines longer than
  // kMaxLine bytes are clipped (the log says so once), so memory stays bounded.
  void Output(int step, std::string_view data);
  void Cached(int step);
  void Done(int step);
  void Failed(int step, const std::string& message);
  // A free-standing message ("explain: ...", warnings, "naming to NAME done").
  void Info(int step, const std::string& message);
  // The end of the build: the tty view draws its last frame with the summary line
  // (FINISHED or FAILED) and stops redrawing. Called by the destructor if not before.
  void Finish(bool ok);

  // The tty view's sanitising of one output line for a terminal `width` columns wide:
  // text after the last CR, tabs as spaces, other control bytes as '?', clipped to `width`
  // code points. Exposed for tests.
  static std::string ForTerminal(std::string_view line, size_t width);

 private:
  enum class State { kRunning, kDone, kCached, kFailed };
  struct Step {
    std::string name;
    std::chrono::steady_clock::time_point start;
    State state = State::kRunning;
    double seconds = 0;
    std::string error;
    std::deque<std::string> tail;
    std::vector<std::string> notes;
  };

  void WriteLine(const std::string& line);
  void FlushPartial(int step, bool force = false);
  void EmitLine(int step, std::string line);
  double Seconds(int step);

  // tty view (mu_ held).
  void Finished(int step, State state, const std::string& error);
  void Commit(std::string line);
  void Draw(bool final_frame, bool ok);
  void Ticker();

  ProgressMode mode_;
  int fd_;
  std::mutex mu_;
  int next_ = 1;
  std::map<int, std::string> partial_;
  std::set<int> clipping_;  // steps in the middle of a clipped line
  bool clip_noted_ = false;
  std::map<int, std::chrono::steady_clock::time_point> started_;

  // tty view
  std::chrono::steady_clock::time_point begin_;
  std::map<int, Step> steps_;
  std::vector<std::string> pending_;  // lines to scroll up above the live block
  int live_lines_ = 0;                // lines of the live block now on the screen
  int planned_ = 0;
  bool dirty_ = false;
  bool finished_ = false;
  std::condition_variable cv_;
  std::thread ticker_;
};

}  // namespace bld::builder
