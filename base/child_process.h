// ChildProcess: a spawned program that is killed and reaped if still running
// when its owner goes away.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "base/error.h"

namespace bld {

struct SpawnOptions {
  // Full environment; nullopt inherits ours.
  std::optional<std::vector<std::string>> env;
  std::string cwd;
  // fds for the child's stdin/stdout/stderr; -1 inherits ours.
  int stdin_fd = -1;
  int stdout_fd = -1;
  int stderr_fd = -1;
};

class ChildProcess final {
 public:
  // Runs argv[0] (searched in PATH). Fails if it cannot be executed.
  static Result<ChildProcess> Spawn(const std::vector<std::string>& argv,
                                    const SpawnOptions& options = {});
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ChildProcess(ChildProcess&& other) noexcept : pid_(other.pid_) { other.pid_ = -1; }
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ~ChildProcess();

  pid_t pid() const { return pid_; }
  // Waits for exit; returns the raw wait status.
  Result<int> Wait();
  Status Kill(int sig);

 private:
  explicit ChildProcess(pid_t pid) : pid_(pid) {}
  pid_t pid_ = -1;
};

// Exit code from a wait status: the code, or 128+signal.
int ExitCodeFromWaitStatus(int status);

struct CommandResult {
  int exit_code = 0;
  std::string out;  // stdout
  std::string err;  // stderr
};
// Runs argv to completion, capturing stdout and stderr; stdin is `input`.
Result<CommandResult> RunCommand(const std::vector<std::string>& argv, const std::string& input = "",
                                 const SpawnOptions& options = {});

}  // namespace bld
