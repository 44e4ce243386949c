// runner: runs a command in a container made from a Spec (see spec.h) and a root filesystem.
//
// Start() builds the whole setup plan first (user, capabilities, seccomp program, mounts,
// cgroup), then clone()s a child in new mount/PID/UTS/IPC (and network, user) namespaces. The
// parent installs id maps and cgroup membership, then lets the child go; the child executes
// the plan (mounts, pivot_root, ids, caps, seccomp) and execs. Any failure in the child comes
// back over a socketpair as the precise error ("mount proc on /proc: Operation not
// permitted"), which Start returns.
//
// Entry points: Run() for a foreground container (bld run, RUN steps); Container::Start() +
// Wait() for callers that manage the process themselves; detach.h for background containers
// with a log and a state file (bld run -d, ps, logs, stop, rm).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "base/error.h"
#include "base/fd.h"
#include "runner/spec.h"

namespace bld::runner {

class Cgroup;

// A started container. Owns the container's PID 1 (on the host), its cgroup and, in tty
// mode, the pty master. Destroying a container that is still running kills (SIGKILL) and
// reaps it.
class Container final {
 public:
  // Starts `spec`. Returns once the command has been exec'd, or exec failed (then Wait()
  // returns code 126/127 with exec_error set). Fails with the child's setup error, or the
  // parent's (bad spec, user not found, limits that cannot be enforced...).
  // The calling thread must stay alive while the container runs (the child gets SIGKILL
  // when it exits: PR_SET_PDEATHSIG).
  static Result<Container> Start(const Spec& spec);

  Container(const Container&) = delete;
  Container& operator=(const Container&) = delete;
  Container(Container&& other) noexcept;
  Container& operator=(Container&& other) noexcept;
  ~Container();

  // Host pid of the container's PID 1 (the init, or the command itself without init).
  pid_t pid() const { return pid_; }
  // The pty master in tty mode, else -1. Run() pumps it; Start() callers may do it themselves.
  int pty_master() const { return pty_master_.get(); }
  // Sends `sig` to the container's PID 1 (the init forwards it to the command).
  Status Signal(int sig) const;
  // Waits for the container to exit; reads cgroup accounting and removes the cgroup.
  Result<ExitStatus> Wait();
  // Non-blocking Wait(): nullopt while running.
  Result<std::optional<ExitStatus>> Poll();

 private:
  Container() = default;
  Result<ExitStatus> Finish(int wait_status);

  pid_t pid_ = -1;
  bool init_ = false;
  UniqueFd pty_master_;
  std::string exec_error_;
  int exec_code_ = 0;
  std::unique_ptr<Cgroup> cgroup_;
};

// Runs `spec` in the foreground: Start(), forward SIGINT/SIGTERM/SIGHUP/SIGQUIT/SIGUSR1/
// SIGUSR2 to the container, in tty mode connect our stdin/stdout to the pty (stdin in raw
// mode, restored on return; window size kept in sync), then Wait().
Result<ExitStatus> Run(const Spec& spec);

// The exit code for a wait status: the code, or 128+signal.
int ExitCodeFromStatus(int wait_status);

}  // namespace bld::runner
