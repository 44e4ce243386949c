#include "builder/progress.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "base/file.h"

namespace bld::builder {

namespace {
// JSON of an event; invalid UTF-8 in names and output is replaced, never thrown.
std::string Dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string Secs(double s, const char* fmt = "%.1fs") {
  char buf[32];
  std::snprintf(buf, sizeof(buf), fmt, s);
  return buf;
}

// The terminal's size; 80x24 when fd is not a terminal.
void TermSize(int fd, size_t* width, size_t* height) {
  struct winsize ws {};
  if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 && ws.ws_row > 0) {
    // One column short of the edge: a line that fills the last column leaves some
    // terminals in a pending wrap, and the cursor-up count of the next frame would be off.
    *width = ws.ws_col > 1 ? ws.ws_col - 1 : 1;
    *height = ws.ws_row;
  } else {
    *width = 80;
    *height = 24;
  }
}

size_t CodePoints(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

// "left ... right" in exactly `width` columns: left clipped, right aligned to the edge.
std::string Row(std::string_view left, const std::string& right, size_t width) {
  size_t rw = CodePoints(right);
  size_t room = width > rw + 1 ? width - rw - 1 : 0;
  std::string l = Progress::ForTerminal(left, room);
  size_t lw = CodePoints(l);
  return l + std::string(room - lw + 1, ' ') + right;
}
}  // namespace

Progress::Progress(ProgressMode mode, int fd) : mode_(mode), fd_(fd) {
  if (mode_ == ProgressMode::kAuto) mode_ = isatty(fd) ? ProgressMode::kTty : ProgressMode::kPlain;
  begin_ = std::chrono::steady_clock::now();
  if (mode_ == ProgressMode::kTty) ticker_ = std::thread([this] { Ticker(); });
}

Progress::~Progress() { Finish(false); }

std::string Progress::ForTerminal(std::string_view line, size_t width) {
  size_t cr = line.rfind('\r');
  if (cr != std::string_view::npos) line.remove_prefix(cr + 1);
  std::string out;
  size_t cols = 0;
  for (size_t i = 0; i < line.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(line[i]);
    bool lead = (c & 0xC0) != 0x80;
    if (lead && cols == width) break;
    if (c == '\t') {
      out += ' ';
    } else if (c < 0x20 || c == 0x7f) {
      out += '?';
    } else {
      out += static_cast<char>(c);
    }
    cols += lead;
  }
  // A clipped multi-byte character is dropped whole.
  while (!out.empty() && (static_cast<unsigned char>(out.back()) & 0x80) != 0) {
    size_t start = out.size() - 1;
    while (start > 0 && (static_cast<unsigned char>(out[start]) & 0xC0) == 0x80) --start;
    unsigned char lead = static_cast<unsigned char>(out[start]);
    size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
    if (out.size() - start >= need) break;
    out.resize(start);
  }
  return out;
}

void Progress::WriteLine(const std::string& line) {
  if (mode_ == ProgressMode::kQuiet) return;
  (void)WriteAll(fd_, line + "\n");
}

double Progress::Seconds(int step) {
  auto it = started_.find(step);
  if (it == started_.end()) return 0;
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - it->second).count();
}

void Progress::SetPlanned(int steps) {
  std::lock_guard lock(mu_);
  planned_ = steps;
  dirty_ = true;
}

int Progress::Start(const std::string& name) {
  std::lock_guard lock(mu_);
  int step = next_++;
  started_[step] = std::chrono::steady_clock::now();
  switch (mode_) {
    case ProgressMode::kJson:
      WriteLine(Dump(nlohmann::json{{"step", step}, {"event", "start"}, {"name", name}}));
      break;
    case ProgressMode::kTty: {
      Step& s = steps_[step];
      s.name = name;
      s.start = started_[step];
      dirty_ = true;
      break;
    }
    default:
      WriteLine("#" + std::to_string(step) + " " + name);
  }
  return step;
}

void Progress::EmitLine(int step, std::string line) {
  switch (mode_) {
    case ProgressMode::kJson:
      WriteLine(Dump(nlohmann::json{{"step", step}, {"event", "output"}, {"line", line}}));
      break;
    case ProgressMode::kTty: {
      auto it = steps_.find(step);
      if (it == steps_.end()) return;
      it->second.tail.push_back(std::move(line));
      while (it->second.tail.size() > kTailLines) it->second.tail.pop_front();
      dirty_ = true;
      break;
    }
    default:
      WriteLine("#" + std::to_string(step) + " " + Secs(Seconds(step), "%.3f") + " " + line);
  }
}

void Progress::FlushPartial(int step, bool force) {
  auto it = partial_.find(step);
  if (it == partial_.end()) return;
  if (it->second.empty() && !force) return;
  std::string line = std::move(it->second);
  partial_.erase(it);
  EmitLine(step, std::move(line));
}

void Progress::Output(int step, std::string_view data) {
  std::lock_guard lock(mu_);
  while (!data.empty()) {
    size_t nl = data.find('\n');
    std::string_view chunk = data.substr(0, nl);
    std::string& partial = partial_[step];
    if (clipping_.count(step) == 0) {
      size_t room = kMaxLine - std::min(kMaxLine, partial.size());
      partial.append(chunk.substr(0, room));
      if (chunk.size() > room) {
        // The rest of this line is dropped: memory stays bounded whatever a step prints.
        clipping_.insert(step);
        partial += " [...]";
        FlushPartial(step, true);
        if (!clip_noted_) {
          clip_noted_ = true;
          std::string note =
              "output lines longer than " + std::to_string(kMaxLine) + " bytes are clipped";
          if (mode_ == ProgressMode::kJson) {
            WriteLine(Dump(nlohmann::json{{"step", step}, {"event", "info"}, {"message", note}}));
          } else if (mode_ == ProgressMode::kTty) {
            if (auto s = steps_.find(step); s != steps_.end()) s->second.notes.push_back(note);
          } else {
            WriteLine("#" + std::to_string(step) + " [" + note + "]");
          }
        }
      }
    }
    if (nl == std::string_view::npos) break;
    if (clipping_.erase(step) == 0) FlushPartial(step, true);
    partial_.erase(step);
    data.remove_prefix(nl + 1);
  }
}

void Progress::Cached(int step) {
  std::lock_guard lock(mu_);
  if (mode_ == ProgressMode::kJson) {
    WriteLine(Dump(nlohmann::json{{"step", step}, {"event", "cached"}}));
  } else if (mode_ == ProgressMode::kTty) {
    Finished(step, State::kCached, "");
  } else {
    WriteLine("#" + std::to_string(step) + " CACHED");
  }
}

void Progress::Done(int step) {
  std::lock_guard lock(mu_);
  FlushPartial(step);
  clipping_.erase(step);
  double s = Seconds(step);
  if (mode_ == ProgressMode::kJson) {
    WriteLine(Dump(nlohmann::json{{"step", step}, {"event", "done"}, {"seconds", s}}));
  } else if (mode_ == ProgressMode::kTty) {
    Finished(step, State::kDone, "");
  } else {
    WriteLine("#" + std::to_string(step) + " DONE " + Secs(s, "%.2fs"));
  }
}

void Progress::Failed(int step, const std::string& message) {
  std::lock_guard lock(mu_);
  FlushPartial(step);
  clipping_.erase(step);
  if (mode_ == ProgressMode::kJson) {
    WriteLine(Dump(nlohmann::json{{"step", step}, {"event", "error"}, {"message", message}}));
  } else if (mode_ == ProgressMode::kTty) {
    Finished(step, State::kFailed, message);
  } else {
    WriteLine("#" + std::to_string(step) + " ERROR " + message);
  }
}

void Progress::Info(int step, const std::string& message) {
  std::lock_guard lock(mu_);
  if (mode_ == ProgressMode::kJson) {
    WriteLine(Dump(nlohmann::json{{"step", step}, {"event", "info"}, {"message", message}}));
  } else if (mode_ == ProgressMode::kTty) {
    auto it = steps_.find(step);
    if (it != steps_.end() && it->second.state == State::kRunning) {
      it->second.notes.push_back(message);  // shown under the step once it is collapsed
    } else {
      Commit(step > 0 ? "=> => " + message : message);
    }
  } else {
    WriteLine((step > 0 ? "#" + std::to_string(step) + " " : std::string()) + message);
  }
}

// ---- tty view -----------------------------------------------------------------

void Progress::Finished(int step, State state, const std::string& error) {
  auto it = steps_.find(step);
  if (it == steps_.end()) return;
  Step& s = it->second;
  if (s.state != State::kRunning) return;
  s.state = state;
  s.seconds = Seconds(step);
  size_t width, height;
  TermSize(fd_, &width, &height);
  std::string right = state == State::kCached ? "CACHED"
                      : state == State::kDone ? "DONE " + Secs(s.seconds)
                                              : "ERROR " + Secs(s.seconds);
  const char* colour = state == State::kFailed ? "\033[31m" : "\033[34m";
  Commit(colour + Row("=> " + s.name, right, width) + "\033[0m");
  if (state == State::kFailed) {
    // The end of a failed step's output stays on the screen, with the error.
    for (const auto& l : s.tail) Commit("=> => # " + ForTerminal(l, width > 8 ? width - 8 : 0));
    Commit("\033[31m=> => ERROR: " + ForTerminal(error, width > 13 ? width - 13 : 0) +
           "\033[0m");
  }
  for (const auto& n : s.notes) Commit("=> => " + ForTerminal(n, width > 6 ? width - 6 : 0));
  s.tail.clear();
  s.notes.clear();
}

void Progress::Commit(std::string line) {
  pending_.push_back(std::move(line));
  dirty_ = true;
}

void Progress::Draw(bool final_frame, bool ok) {
  size_t width, height;
  TermSize(fd_, &width, &height);
  auto now = std::chrono::steady_clock::now();
  std::string out;
  if (live_lines_ > 0) out += "\r\033[" + std::to_string(live_lines_) + "A";
  for (const auto& l : pending_) out += "\r" + l + "\033[K\n";
  pending_.clear();

  int total = 0, finished = 0;
  std::vector<const Step*> running;
  for (const auto& [n, s] : steps_) {
    ++total;
    if (s.state == State::kRunning) {
      running.push_back(&s);
    } else {
      ++finished;
    }
  }
  if (!final_frame) total = std::max(total, planned_);
  double elapsed = std::chrono::duration<double>(now - begin_).count();
  std::string header = "[+] Building " + Secs(elapsed) + " (" + std::to_string(finished) + "/" +
                       std::to_string(total) + ")";
  if (final_frame) header += ok ? " FINISHED" : " FAILED";
  std::vector<std::string> live;
  live.push_back(ForTerminal(header, width));
  if (!final_frame) {
    // Room for the running steps and as much of their output as fits the screen.
    size_t room = height > 2 ? height - 2 : 1;
    size_t tails = 0;
    for (const Step* s : running) tails += s->tail.size();
    size_t per = kTailLines;
    while (per > 0 && running.size() + std::min(tails, running.size() * per) > room) --per;
    for (const Step* s : running) {
      if (live.size() >= room + 1) break;
      double t = std::chrono::duration<double>(now - s->start).count();
      live.push_back(Row("=> " + s->name, Secs(t), width));
      size_t skip = s->tail.size() > per ? s->tail.size() - per : 0;
      for (size_t i = skip; i < s->tail.size() && live.size() < room + 1; ++i) {
        live.push_back("\033[2m=> => # " + ForTerminal(s->tail[i], width > 8 ? width - 8 : 0) +
                       "\033[0m");
      }
    }
  }
  for (const auto& l : live) out += "\r" + l + "\033[K\n";
  out += "\033[J";
  live_lines_ = final_frame ? 0 : static_cast<int>(live.size());
  dirty_ = false;
  (void)WriteAll(fd_, out);
}

void Progress::Ticker() {
  std::unique_lock lock(mu_);
  while (!finished_) {
    cv_.wait_for(lock, std::chrono::milliseconds(100));
    if (finished_) break;
    bool running = false;
    for (const auto& [n, s] : steps_) running = running || s.state == State::kRunning;
    if (dirty_ || running) Draw(false, true);
  }
}

void Progress::Finish(bool ok) {
  {
    std::lock_guard lock(mu_);
    if (finished_) return;
    finished_ = true;
    if (mode_ == ProgressMode::kTty) {
      for (auto& [n, s] : steps_) {
        if (s.state == State::kRunning) Finished(n, State::kFailed, "cancelled");
      }
      Draw(true, ok);
    }
  }
  cv_.notify_all();
  if (ticker_.joinable()) ticker_.join();
}

}  // namespace bld::builder
