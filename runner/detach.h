// Detached containers (`bld run -d`): a monitor process supervises the container in the
// background, appends its stdout/stderr to a log file and records its state in a state
// directory, which `bld ps/logs/stop/rm` read.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "base/error.h"
#include "runner/spec.h"

namespace bld::runner {

struct ContainerState {
  enum class Status {
    kRunning,
    kExited,
    kFailed,  // never started (error says why)
    kLost,    // the monitor died without recording an exit (crash, reboot)
  };
  Status status = Status::kRunning;
  pid_t monitor_pid = 0;
  pid_t pid = 0;  // host pid of the container's PID 1
  int exit_code = 0;
  int signal = 0;
  bool oom_killed = false;
  int64_t started_at = 0;   // unix seconds
  int64_t finished_at = 0;  // unix seconds, 0 while running
  std::string error;
};

std::string_view StatusName(ContainerState::Status s);

// The state file inside a state directory.
std::string StateFile(const std::string& state_dir);

// Starts `spec` in the background. stdin is /dev/null; stdout and stderr are appended to
// `log_path`; spec.stdin_fd/stdout_fd/stderr_fd must be -1 and tty false. The state lives in
// `state_dir` (created if missing). Returns once the command runs (state kRunning) or with the
// start error (also recorded as kFailed). Forks: call it while the process is single-threaded.
// mount_rootfs (optional) mounts spec.rootfs; it runs in the monitor, in a mount namespace of
// the monitor's own, so that no container mount is on the caller's table.
Result<ContainerState> RunDetached(const Spec& spec, const std::string& state_dir,
                                   const std::string& log_path,
                                   const std::function<Status()>& mount_rootfs = {});

// Reads the state; a kRunning state whose monitor is gone reads as kLost.
Result<ContainerState> ReadState(const std::string& state_dir);

// Sends `sig` to the container's PID 1 (the init forwards it). kFailedPrecondition if it is not
// running.
Status KillContainer(const std::string& state_dir, int sig);

// A stop signal as moby's signal.ParseSignal takes it (STOPSIGNAL, --stop-signal): a
// non-zero number below NSIG, or a Linux signal name with or without SIG ("QUIT",
// "SIGRTMIN+3"). InvalidArgument naming it otherwise.
Result<int> ParseSignal(std::string_view s);

// Sends `sig` (SIGTERM), waits up to `timeout` for the container to exit, then SIGKILLs it and
// waits for the monitor to record the exit. A container that is not running is fine.
Result<ContainerState> StopContainer(const std::string& state_dir,
                                     std::chrono::milliseconds timeout, int sig = 15);

// Waits until the container is no longer running (or `timeout` passes: kUnavailable).
Result<ContainerState> WaitContainer(const std::string& state_dir,
                                     std::chrono::milliseconds timeout);

}  // namespace bld::runner
