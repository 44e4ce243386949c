#include "base/child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <thread>

#include "base/fd.h"
#include "base/file.h"

extern char** environ;

namespace bld {

namespace {

std::vector<char*> CStrings(const std::vector<std::string>& v) {
  std::vector<char*> out;
  out.reserve(v.size() + 1);
  for (const auto& s : v) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

}  // namespace

Result<ChildProcess> ChildProcess::Spawn(const std::vector<std::string>& argv,
                                         const SpawnOptions& options) {
  if (argv.empty()) return InvalidArgumentError("spawn: empty command");
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  int fds[3] = {options.stdin_fd, options.stdout_fd, options.stderr_fd};
  for (int i = 0; i < 3; ++i) {
    if (fds[i] >= 0) posix_spawn_file_actions_adddup2(&fa, fds[i], i);
  }
  if (!options.cwd.empty()) posix_spawn_file_actions_addchdir_np(&fa, options.cwd.c_str());
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  sigset_t all;
  sigfillset(&all);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  auto args = CStrings(argv);
  std::vector<char*> envp;
  if (options.env) envp = CStrings(*options.env);
  pid_t pid;
  int rc = posix_spawnp(&pid, argv[0].c_str(), &fa, &attr, args.data(),
                        options.env ? envp.data() : environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return PosixError("exec " + argv[0], rc);
  return ChildProcess(pid);
}

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
  if (this != &other) {
    this->~ChildProcess();
    pid_ = other.pid_;
    other.pid_ = -1;
  }
  return *this;
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    int status;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
  }
}

Result<int> ChildProcess::Wait() {
  if (pid_ <= 0) return FailedPreconditionError("wait: no child process");
  int status = 0;
  for (;;) {
    if (::waitpid(pid_, &status, 0) >= 0) break;
    if (errno != EINTR) return ErrnoError("waitpid");
  }
  pid_ = -1;
  return status;
}

Status ChildProcess::Kill(int sig) {
  if (pid_ <= 0) return Ok();
  if (::kill(pid_, sig) < 0) return ErrnoError("kill");
  return Ok();
}

int ExitCodeFromWaitStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 255;
}

Result<CommandResult> RunCommand(const std::vector<std::string>& argv, const std::string& input,
                                 const SpawnOptions& base_options) {
  int in_pipe[2], out_pipe[2], err_pipe[2];
  if (::pipe2(in_pipe, O_CLOEXEC) < 0) return ErrnoError("pipe");
  UniqueFd in_r(in_pipe[0]), in_w(in_pipe[1]);
  if (::pipe2(out_pipe, O_CLOEXEC) < 0) return ErrnoError("pipe");
  UniqueFd out_r(out_pipe[0]), out_w(out_pipe[1]);
  if (::pipe2(err_pipe, O_CLOEXEC) < 0) return ErrnoError("pipe");
  UniqueFd err_r(err_pipe[0]), err_w(err_pipe[1]);
  SpawnOptions options = base_options;
  options.stdin_fd = in_r.get();
  options.stdout_fd = out_w.get();
  options.stderr_fd = err_w.get();
  BLD_ASSIGN_OR_RETURN(ChildProcess child, ChildProcess::Spawn(argv, options));
  in_r.reset();
  out_w.reset();
  err_w.reset();
  // Feed stdin from a thread so a child that writes a lot before reading cannot deadlock us.
  std::thread feeder([fd = std::move(in_w), &input]() mutable {
    signal(SIGPIPE, SIG_IGN);
    (void)WriteAll(fd.get(), input);
    fd.reset();
  });
  CommandResult result;
  struct pollfd pfds[2] = {{out_r.get(), POLLIN, 0}, {err_r.get(), POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  int open_count = 2;
  char buf[65536];
  while (open_count > 0) {
    if (::poll(pfds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (pfds[i].fd < 0 || pfds[i].revents == 0) continue;
      ssize_t n = ::read(pfds[i].fd, buf, sizeof buf);
      if (n > 0) {
        sinks[i]->append(buf, static_cast<size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        pfds[i].fd = -1;
        --open_count;
      }
    }
  }
  feeder.join();
  BLD_ASSIGN_OR_RETURN(int status, child.Wait());
  result.exit_code = ExitCodeFromWaitStatus(status);
  return result;
}

}  // namespace bld
