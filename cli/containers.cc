#include "cli/containers.h"

#include <signal.h>

#include <cerrno>
#include <nlohmann/json.hpp>

#include "base/file.h"
#include "base/log.h"
#include "runner/detach.h"
#include "snapshot/mount.h"
#include "snapshot/snapshotter.h"

namespace bld::cli {

std::string ContainersDir(const std::string& root) { return root + "/containers"; }

Status SaveRecord(const ContainerRecord& r) {
  nlohmann::ordered_json j;
  j["id"] = r.id;
  j["name"] = r.name;
  j["image"] = r.image;
  j["image_id"] = r.image_id;
  j["command"] = r.command;
  j["created"] = r.created;
  j["snapshotter"] = r.snapshotter;
  j["snapshot_key"] = r.snapshot_key;
  j["detached"] = r.detached;
  j["auto_remove"] = r.auto_remove;
  if (!r.stop_signal.empty()) j["stop_signal"] = r.stop_signal;
  j["bld_pid"] = r.bld_pid;
  j["finished"] = r.finished;
  j["exit_code"] = r.exit_code;
  return WriteFileAtomic(r.dir + "/record.json", j.dump(2) + "\n");
}

// Whether `pid` is a live process. A zombie is not: a rootless run's inner bld, SIGKILLed
// with its wrapper, is re-parented to PID 1 and stays a zombie until that reaps it (some
// PID 1s never do), and its container must still be swept.
static bool ProcessLive(pid_t pid) {
  if (pid <= 0 || (::kill(pid, 0) != 0 && errno != EPERM)) return false;
  auto stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  if (!stat.ok()) return true;  // no procfs: kill() is all we know
  size_t paren = stat->rfind(')');
  return paren == std::string::npos || paren + 2 >= stat->size() ||
         ((*stat)[paren + 2] != 'Z' && (*stat)[paren + 2] != 'X');
}

static Result<ContainerRecord> LoadRecord(const std::string& dir) {
  BLD_ASSIGN_OR_RETURN(std::string text, ReadFile(dir + "/record.json"));
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return InternalError(dir + "/record.json is not valid JSON");
  }
  ContainerRecord r;
  r.dir = dir;
  r.id = j.value("id", "");
  r.name = j.value("name", "");
  r.image = j.value("image", "");
  r.image_id = j.value("image_id", "");
  if (j.contains("command") && j["command"].is_array()) {
    for (const auto& c : j["command"]) {
      if (c.is_string()) r.command.push_back(c.get<std::string>());
    }
  }
  r.created = j.value("created", int64_t{0});
  r.snapshotter = j.value("snapshotter", "");
  r.snapshot_key = j.value("snapshot_key", "");
  r.detached = j.value("detached", false);
  r.auto_remove = j.value("auto_remove", false);
  r.stop_signal = j.value("stop_signal", "");
  r.bld_pid = j.value("bld_pid", 0);
  r.finished = j.value("finished", false);
  r.exit_code = j.value("exit_code", 0);
  return r;
}

Result<std::vector<ContainerRecord>> ListContainers(const std::string& root) {
  std::string dir = ContainersDir(root);
  std::vector<ContainerRecord> out;
  if (!IsDirectory(dir)) return out;
  BLD_ASSIGN_OR_RETURN(auto names, ListDir(dir));
  for (const auto& n : names) {
    auto r = LoadRecord(dir + "/" + n);
    if (r.ok()) out.push_back(std::move(*r));  // a half-created container has no record yet
  }
  std::sort(out.begin(), out.end(),
            [](const ContainerRecord& a, const ContainerRecord& b) { return a.created > b.created; });
  return out;
}

Result<ContainerRecord> FindContainer(const std::string& root, const std::string& name_or_id) {
  BLD_ASSIGN_OR_RETURN(auto all, ListContainers(root));
  for (auto& r : all) {
    if (r.name == name_or_id || r.id == name_or_id) return std::move(r);
  }
  std::vector<ContainerRecord*> matches;
  if (name_or_id.size() >= 4) {
    for (auto& r : all) {
      if (r.id.starts_with(name_or_id)) matches.push_back(&r);
    }
  }
  if (matches.size() == 1) return std::move(*matches[0]);
  if (matches.size() > 1) {
    return InvalidArgumentError("container ID prefix " + name_or_id + " is ambiguous");
  }
  return NotFoundError("no container named " + name_or_id);
}

ContainerStatus GetStatus(const ContainerRecord& r) {
  ContainerStatus s;
  if (r.detached) {
    auto st = runner::ReadState(r.dir);
    if (!st.ok()) {
      s.status = "created";
      s.error = st.error().message();
      return s;
    }
    s.status = std::string(runner::StatusName(st->status));
    s.exit_code = st->exit_code;
    s.finished_at = st->finished_at;
    s.error = st->error;
    return s;
  }
  if (r.finished) {
    s.status = "exited";
    s.exit_code = r.exit_code;
    return s;
  }
  if (ProcessLive(r.bld_pid)) {
    s.status = "running";
  } else {
    s.status = "lost";
  }
  return s;
}

Status RemoveContainer(const std::string& root, const ContainerRecord& r,
                       snapshot::Snapshotter* snapshotter) {
  std::string rootfs = r.dir + "/rootfs";
  // The mount may already be gone (a foreground run unmounts when it ends).
  if (IsDirectory(rootfs)) (void)snapshot::Unmount(rootfs);
  if (!r.snapshot_key.empty() && !r.snapshotter.empty()) {
    std::unique_ptr<snapshot::Snapshotter> opened;
    if (snapshotter == nullptr || snapshotter->type() != r.snapshotter) {
      BLD_ASSIGN_OR_RETURN(auto type, snapshot::ParseSnapshotterType(r.snapshotter));
      BLD_ASSIGN_OR_RETURN(opened, snapshot::OpenSnapshotter(root, type));
      snapshotter = opened.get();
    }
    Status s = snapshotter->Remove(r.snapshot_key);
    if (!s.ok() && s.error().code() != ErrorCode::kNotFound) {
      return std::move(s).error().Wrap("remove container " + r.name);
    }
  }
  return RemoveAll(r.dir);
}

void SweepAutoRemoved(const std::string& root) {
  auto all = ListContainers(root);
  if (!all.ok()) return;
  for (const auto& r : *all) {
    if (!r.auto_remove || GetStatus(r).running()) continue;
    Status s = RemoveContainer(root, r);
    if (!s.ok()) BLD_LOG(kWarn) << s.error().message();
  }
}

}  // namespace bld::cli
