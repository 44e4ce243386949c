#include "builder/progress.h"

#include <unistd.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "base/file.h"

namespace bld::builder {

Progress::Progress(ProgressMode mode, int fd) : mode_(mode), fd_(fd) {
  if (mode_ == ProgressMode::kAuto) mode_ = isatty(fd) ? ProgressMode::kTty : ProgressMode::kPlain;
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

int Progress::Start(const std::string& name) {
  std::lock_guard lock(mu_);
  int step = next_++;
  started_[step] = std::chrono::steady_clock::now();
  switch (mode_) {
    case ProgressMode::kJson:
      WriteLine(nlohmann::json{{"step", step}, {"event", "start"}, {"name", name}}.dump());
      break;
    case ProgressMode::kTty:
      WriteLine("\033[1m=> #" + std::to_string(step) + " " + name + "\033[0m");
      break;
    default:
      WriteLine("#" + std::to_string(step) + " " + name);
  }
  return step;
}

void Progress::FlushPartial(int step, bool force) {
  auto it = partial_.find(step);
  if (it == partial_.end()) return;
  if (it->second.empty() && !force) return;
  std::string line = std::move(it->second);
  partial_.erase(it);
  if (mode_ == ProgressMode::kJson) {
    WriteLine(nlohmann::json{{"step", step}, {"event", "output"}, {"line", line}}.dump(
        -1, ' ', false, nlohmann::json::error_handler_t::replace));
  } else {
    WriteLine("#" + std::to_string(step) + " " + line);
  }
}

void Progress::Output(int step, std::string_view data) {
  std::lock_guard lock(mu_);
  for (char c : data) {
    if (c == '\n') {
      partial_[step];
      FlushPartial(step, true);
      continue;
    }
    partial_[step].push_back(c);
  }
}

void Progress::Cached(int step) {
  std::lock_guard lock(mu_);
  if (mode_ == ProgressMode::kJson) {
    WriteLine(nlohmann::json{{"step", step}, {"event", "cached"}}.dump());
  } else if (mode_ == ProgressMode::kTty) {
    WriteLine("\033[34m=> #" + std::to_string(step) + " CACHED\033[0m");
  } else {
    WriteLine("#" + std::to_string(step) + " CACHED");
  }
}

void Progress::Done(int step) {
  std::lock_guard lock(mu_);
  FlushPartial(step);
  double s = Seconds(step);
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.2fs", s);
  if (mode_ == ProgressMode::kJson) {
    WriteLine(nlohmann::json{{"step", step}, {"event", "done"}, {"seconds", s}}.dump());
  } else if (mode_ == ProgressMode::kTty) {
    WriteLine("\033[32m=> #" + std::to_string(step) + " DONE " + buf + "\033[0m");
  } else {
    WriteLine("#" + std::to_string(step) + " DONE " + buf);
  }
}

void Progress::Failed(int step, const std::string& message) {
  std::lock_guard lock(mu_);
  FlushPartial(step);
  if (mode_ == ProgressMode::kJson) {
    WriteLine(nlohmann::json{{"step", step}, {"event", "error"}, {"message", message}}.dump(
        -1, ' ', false, nlohmann::json::error_handler_t::replace));
  } else if (mode_ == ProgressMode::kTty) {
    WriteLine("\033[31m=> #" + std::to_string(step) + " ERROR " + message + "\033[0m");
  } else {
    WriteLine("#" + std::to_string(step) + " ERROR " + message);
  }
}

void Progress::Info(int step, const std::string& message) {
  std::lock_guard lock(mu_);
  if (mode_ == ProgressMode::kJson) {
    WriteLine(nlohmann::json{{"step", step}, {"event", "info"}, {"message", message}}.dump(
        -1, ' ', false, nlohmann::json::error_handler_t::replace));
  } else {
    WriteLine((step > 0 ? "#" + std::to_string(step) + " " : std::string()) + message);
  }
}

}  // namespace bld::builder
