#include "builder/progress.h"

#include <unistd.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "base/file.h"

namespace bld::builder {

Progress::Progress(ProgressMode mode, int fd) : mode_(mode), fd_(fd) {
  if (mode_ == ProgressMode::kAuto) mode_ = isatty(fd) ? ProgressMode::kTty : ProgressMode::kPlain;
}

namespace {
// JSON of an event; invalid UTF-8 in names and output is replaced, never thrown.
std::string Dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}
}  // namespace

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
      WriteLine(Dump(nlohmann::json{{"step", step}, {"event", "start"}, {"name", name}}));
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
    WriteLine(Dump(nlohmann::json{{"step", step}, {"event", "output"}, {"line", line}}));
  } else {
    WriteLine("#" + std::to_string(step) + " " + line);
  }
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
          WriteLine((mode_ == ProgressMode::kJson
                         ? Dump(nlohmann::json{
                               {"step", step},
                               {"event", "info"},
                               {"message", "output lines longer than " + std::to_string(kMaxLine) +
                                               " bytes are clipped"}})
                         : "#" + std::to_string(step) + " [output lines longer than " +
                               std::to_string(kMaxLine) + " bytes are clipped]"));
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
    WriteLine("\033[34m=> #" + std::to_string(step) + " CACHED\033[0m");
  } else {
    WriteLine("#" + std::to_string(step) + " CACHED");
  }
}

void Progress::Done(int step) {
  std::lock_guard lock(mu_);
  FlushPartial(step);
  clipping_.erase(step);
  double s = Seconds(step);
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.2fs", s);
  if (mode_ == ProgressMode::kJson) {
    WriteLine(Dump(nlohmann::json{{"step", step}, {"event", "done"}, {"seconds", s}}));
  } else if (mode_ == ProgressMode::kTty) {
    WriteLine("\033[32m=> #" + std::to_string(step) + " DONE " + buf + "\033[0m");
  } else {
    WriteLine("#" + std::to_string(step) + " DONE " + buf);
  }
}

void Progress::Failed(int step, const std::string& message) {
  std::lock_guard lock(mu_);
  FlushPartial(step);
  clipping_.erase(step);
  if (mode_ == ProgressMode::kJson) {
    WriteLine(Dump(nlohmann::json{{"step", step}, {"event", "error"}, {"message", message}}));
  } else if (mode_ == ProgressMode::kTty) {
    WriteLine("\033[31m=> #" + std::to_string(step) + " ERROR " + message + "\033[0m");
  } else {
    WriteLine("#" + std::to_string(step) + " ERROR " + message);
  }
}

void Progress::Info(int step, const std::string& message) {
  std::lock_guard lock(mu_);
  if (mode_ == ProgressMode::kJson) {
    WriteLine(Dump(nlohmann::json{{"step", step}, {"event", "info"}, {"message", message}}));
  } else {
    WriteLine((step > 0 ? "#" + std::to_string(step) + " " : std::string()) + message);
  }
}

}  // namespace bld::builder
