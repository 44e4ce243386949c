// Containers made by `bld run`: records under <root>/containers/<id>/.
//
//   record.json   what was run (image, command, name, snapshot), written atomically
//   state         the runner's state file (detached containers; runner/detach.h)
//   log           stdout+stderr of a detached container
//   rootfs/       mount point of the container's snapshot
//
// A foreground container's status lives in record.json (running while its
// `bld run` process is alive, then exited with the code).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "base/error.h"

namespace bld::snapshot {
class Snapshotter;
}

namespace bld::cli {

struct ContainerRecord {
  std::string id;    // 64 hex
  std::string name;  // unique
  std::string image;
  std::string image_id;
  std::vector<std::string> command;
  int64_t created = 0;
  std::string snapshotter;  // "overlay" | "copy"
  std::string snapshot_key;
  bool detached = false;
  bool auto_remove = false;  // --rm
  std::string stop_signal;   // the image's STOPSIGNAL at run time ("" = SIGTERM)
  // Foreground containers only:
  pid_t bld_pid = 0;
  bool finished = false;
  int exit_code = 0;

  std::string dir;  // <root>/containers/<id> (not stored)
};

struct ContainerStatus {
  std::string status;  // "running", "exited", "failed", "lost", "created"
  int exit_code = 0;
  int64_t finished_at = 0;
  std::string error;
  bool running() const { return status == "running"; }
};

std::string ContainersDir(const std::string& root);
Status SaveRecord(const ContainerRecord& r);
Result<std::vector<ContainerRecord>> ListContainers(const std::string& root);
// By exact name, full ID or unique ID prefix. NotFound naming it.
Result<ContainerRecord> FindContainer(const std::string& root, const std::string& name_or_id);
ContainerStatus GetStatus(const ContainerRecord& r);
// Unmounts the rootfs, removes the snapshot and the record. The container must not run.
// `snapshotter` may be given when the caller has it open (saves probing again).
Status RemoveContainer(const std::string& root, const ContainerRecord& r,
                       snapshot::Snapshotter* snapshotter = nullptr);
// Removes --rm containers that are no longer running (detached ones whose monitor
// finished while nobody was there to clean up). Errors are logged, not returned.
void SweepAutoRemoved(const std::string& root);

}  // namespace bld::cli
