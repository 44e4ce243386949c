#include "runner/detach.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <ctime>
#include <sstream>
#include <thread>

#include "base/file.h"
#include "runner/runner.h"

namespace bld::runner {

namespace {

// Field 22 of /proc/PID/stat: start time in clock ticks; guards against pid reuse.
uint64_t ProcessStartTime(pid_t pid) {
  auto stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  if (!stat.ok()) return 0;
  size_t paren = stat->rfind(')');
  if (paren == std::string::npos) return 0;
  std::istringstream in(stat->substr(paren + 2));
  std::string field;
  // Fields after the command start at 3 (state); 22 is the 20th of those.
  for (int i = 3; i <= 22; ++i) {
    if (!(in >> field)) return 0;
  }
  return std::strtoull(field.c_str(), nullptr, 10);
}

std::string Escape(const std::string& s) {
  std::string out;
  for (char c : s) out += c == '\n' ? ' ' : c;
  return out;
}

Status WriteState(const std::string& dir, const ContainerState& s, uint64_t monitor_start) {
  std::string data;
  data += "status=" + std::string(StatusName(s.status)) + "\n";
  data += "monitor_pid=" + std::to_string(s.monitor_pid) + "\n";
  data += "monitor_start=" + std::to_string(monitor_start) + "\n";
  data += "pid=" + std::to_string(s.pid) + "\n";
  data += "exit_code=" + std::to_string(s.exit_code) + "\n";
  data += "signal=" + std::to_string(s.signal) + "\n";
  data += "oom_killed=" + std::string(s.oom_killed ? "1" : "0") + "\n";
  data += "started_at=" + std::to_string(s.started_at) + "\n";
  data += "finished_at=" + std::to_string(s.finished_at) + "\n";
  data += "error=" + Escape(s.error) + "\n";
  return WriteFileAtomic(StateFile(dir), data, 0644);
}

// The monitor's own mount namespace (a slave of the caller's: host mounts still reach it),
// where `mount_rootfs` mounts the container's root filesystem: no mount of the container is
// ever on the host's table, and the kernel drops it when the monitor and the container are
// gone, even SIGKILLed.
Status MountInOwnNamespace(const std::function<Status()>& mount_rootfs) {
  if (unshare(CLONE_NEWNS) != 0) return ErrnoError("unshare the monitor's mount namespace");
  if (mount(nullptr, "/", nullptr, MS_REC | MS_SLAVE, nullptr) != 0) {
    return ErrnoError("make the monitor's mount namespace a slave");
  }
  return mount_rootfs();
}

[[noreturn]] void MonitorMain(const Spec& spec, const std::string& state_dir, int log_fd,
                              int report_fd, const std::function<Status()>& mount_rootfs) {
  ContainerState state;
  state.monitor_pid = getpid();
  uint64_t start = ProcessStartTime(state.monitor_pid);
  state.started_at = time(nullptr);
  signal(SIGHUP, SIG_IGN);
  signal(SIGINT, SIG_IGN);
  signal(SIGPIPE, SIG_IGN);
  int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
  Spec s = spec;
  s.stdin_fd = null_fd;
  s.stdout_fd = log_fd;
  s.stderr_fd = log_fd;
  auto report = [&](const std::string& msg) {
    (void)WriteAll(report_fd, msg);
    close(report_fd);
  };
  Status mounted = mount_rootfs ? MountInOwnNamespace(mount_rootfs) : Ok();
  auto c = mounted.ok() ? Container::Start(s) : Result<Container>(mounted.error());
  if (!c.ok()) {
    state.status = ContainerState::Status::kFailed;
    state.error = c.error().message();
    state.finished_at = time(nullptr);
    (void)WriteState(state_dir, state, start);
    report("E" + state.error);
    _exit(125);
  }
  state.pid = c->pid();
  Status st = WriteState(state_dir, state, start);
  if (!st.ok()) {
    report("E" + st.error().message());
    _exit(125);
  }
  report("R");
  if (null_fd >= 0) dup2(null_fd, STDIN_FILENO);
  if (null_fd >= 0) dup2(null_fd, STDOUT_FILENO);
  if (null_fd >= 0) dup2(null_fd, STDERR_FILENO);
  auto exit = c->Wait();
  state.finished_at = time(nullptr);
  if (exit.ok()) {
    state.status = ContainerState::Status::kExited;
    state.exit_code = exit->code;
    state.signal = exit->signal;
    state.oom_killed = exit->oom_killed;
    state.error = exit->exec_error;
  } else {
    state.status = ContainerState::Status::kLost;
    state.error = exit.error().message();
  }
  (void)WriteState(state_dir, state, start);
  _exit(0);
}

}  // namespace

std::string_view StatusName(ContainerState::Status s) {
  switch (s) {
    case ContainerState::Status::kRunning:
      return "running";
    case ContainerState::Status::kExited:
      return "exited";
    case ContainerState::Status::kFailed:
      return "failed";
    case ContainerState::Status::kLost:
      return "lost";
  }
  return "unknown";
}

std::string StateFile(const std::string& state_dir) { return state_dir + "/state"; }

Result<ContainerState> RunDetached(const Spec& spec, const std::string& state_dir,
                                   const std::string& log_path,
                                   const std::function<Status()>& mount_rootfs) {
  if (spec.tty) return InvalidArgumentError("a detached container cannot have a tty");
  if (spec.stdin_fd >= 0 || spec.stdout_fd >= 0 || spec.stderr_fd >= 0) {
    return InvalidArgumentError("a detached container's stdio goes to its log");
  }
  BLD_TRY(MkdirAll(state_dir, 0700));
  BLD_ASSIGN_OR_RETURN(UniqueFd log, OpenFile(log_path, O_WRONLY | O_CREAT | O_APPEND, 0600));
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) return ErrnoError("pipe");
  UniqueFd report_r(p[0]), report_w(p[1]);
  pid_t a = fork();
  if (a < 0) return ErrnoError("fork container monitor");
  if (a == 0) {
    report_r.reset();
    setsid();
    pid_t m = fork();
    if (m != 0) _exit(m < 0 ? 1 : 0);
    MonitorMain(spec, state_dir, log.get(), report_w.release(), mount_rootfs);
  }
  report_w.reset();
  int st;
  while (waitpid(a, &st, 0) < 0 && errno == EINTR) {
  }
  // One write from the monitor: "R" or "E<error>".
  char buf[4096];
  ssize_t n;
  while ((n = read(report_r.get(), buf, sizeof(buf))) < 0 && errno == EINTR) {
  }
  if (n < 0) return ErrnoError("read the container monitor's report");
  std::string msg(buf, n);
  if (msg.empty()) return InternalError("container monitor exited without reporting");
  if (msg[0] == 'E') return Error(ErrorCode::kFailedPrecondition, msg.substr(1));
  return ReadState(state_dir);
}

Result<ContainerState> ReadState(const std::string& state_dir) {
  BLD_ASSIGN_OR_RETURN(std::string data, ReadFile(StateFile(state_dir)));
  ContainerState s;
  uint64_t monitor_start = 0;
  std::istringstream in(data);
  std::string line;
  while (std::getline(in, line)) {
    size_t eq = line.find('=');
    if (eq == std::string::npos) continue;
    std::string k = line.substr(0, eq), v = line.substr(eq + 1);
    long long n = std::strtoll(v.c_str(), nullptr, 10);
    if (k == "status") {
      if (v == "running")
        s.status = ContainerState::Status::kRunning;
      else if (v == "exited")
        s.status = ContainerState::Status::kExited;
      else if (v == "failed")
        s.status = ContainerState::Status::kFailed;
      else
        s.status = ContainerState::Status::kLost;
    } else if (k == "monitor_pid") {
      s.monitor_pid = static_cast<pid_t>(n);
    } else if (k == "monitor_start") {
      monitor_start = std::strtoull(v.c_str(), nullptr, 10);
    } else if (k == "pid") {
      s.pid = static_cast<pid_t>(n);
    } else if (k == "exit_code") {
      s.exit_code = static_cast<int>(n);
    } else if (k == "signal") {
      s.signal = static_cast<int>(n);
    } else if (k == "oom_killed") {
      s.oom_killed = n != 0;
    } else if (k == "started_at") {
      s.started_at = n;
    } else if (k == "finished_at") {
      s.finished_at = n;
    } else if (k == "error") {
      s.error = v;
    }
  }
  if (s.status == ContainerState::Status::kRunning &&
      (s.monitor_pid <= 0 || ProcessStartTime(s.monitor_pid) != monitor_start)) {
    // Re-read: the monitor may have just recorded the exit and gone.
    auto again = ReadFile(StateFile(state_dir));
    if (again.ok() && *again != data) return ReadState(state_dir);
    s.status = ContainerState::Status::kLost;
    if (s.error.empty()) s.error = "the container's monitor process is gone";
  }
  return s;
}

Status KillContainer(const std::string& state_dir, int sig) {
  BLD_ASSIGN_OR_RETURN(ContainerState s, ReadState(state_dir));
  if (s.status != ContainerState::Status::kRunning || s.pid <= 0) {
    return FailedPreconditionError("container is not running");
  }
  if (kill(s.pid, sig) != 0 && errno != ESRCH) {
    return ErrnoError("signal container pid " + std::to_string(s.pid));
  }
  return Ok();
}

Result<ContainerState> WaitContainer(const std::string& state_dir,
                                     std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    BLD_ASSIGN_OR_RETURN(ContainerState s, ReadState(state_dir));
    if (s.status != ContainerState::Status::kRunning) return s;
    if (std::chrono::steady_clock::now() >= deadline) {
      return UnavailableError("container still running after " + std::to_string(timeout.count()) +
                              "ms");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

Result<int> ParseSignal(std::string_view s) {
  std::string n(s);
  auto bad = [&] { return InvalidArgumentError("invalid signal: " + std::string(s)); };
  if (!n.empty() && n.find_first_not_of("0123456789") == std::string::npos) {
    if (n.size() > 3) return bad();
    int v = std::stoi(n);
    if (v <= 0 || v >= NSIG) return bad();
    return v;
  }
  for (char& c : n) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (n.rfind("SIG", 0) == 0) n = n.substr(3);
  static const std::pair<const char*, int> kNames[] = {
      {"ABRT", SIGABRT}, {"ALRM", SIGALRM}, {"BUS", SIGBUS},       {"CHLD", SIGCHLD},
      {"CLD", SIGCHLD},  {"CONT", SIGCONT}, {"FPE", SIGFPE},       {"HUP", SIGHUP},
      {"ILL", SIGILL},   {"INT", SIGINT},   {"IO", SIGIO},         {"IOT", SIGIOT},
      {"KILL", SIGKILL}, {"PIPE", SIGPIPE}, {"POLL", SIGPOLL},     {"PROF", SIGPROF},
      {"PWR", SIGPWR},   {"QUIT", SIGQUIT}, {"SEGV", SIGSEGV},     {"STKFLT", SIGSTKFLT},
      {"STOP", SIGSTOP}, {"SYS", SIGSYS},   {"TERM", SIGTERM},     {"TRAP", SIGTRAP},
      {"TSTP", SIGTSTP}, {"TTIN", SIGTTIN}, {"TTOU", SIGTTOU},     {"URG", SIGURG},
      {"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {"VTALRM", SIGVTALRM}, {"WINCH", SIGWINCH},
      {"XCPU", SIGXCPU}, {"XFSZ", SIGXFSZ}, {"RTMIN", SIGRTMIN},   {"RTMAX", SIGRTMAX}};
  for (const auto& [name, number] : kNames) {
    if (n == name) return number;
  }
  for (int i = 1; i <= 15; ++i) {
    if (n == "RTMIN+" + std::to_string(i)) return SIGRTMIN + i;
    if (n == "RTMAX-" + std::to_string(i)) return SIGRTMAX - i;
  }
  return bad();
}

Result<ContainerState> StopContainer(const std::string& state_dir,
                                     std::chrono::milliseconds timeout, int sig) {
  BLD_ASSIGN_OR_RETURN(ContainerState s, ReadState(state_dir));
  if (s.status != ContainerState::Status::kRunning) return s;
  if (kill(s.pid, sig) != 0 && errno != ESRCH) {
    return ErrnoError("signal container pid " + std::to_string(s.pid));
  }
  auto done = WaitContainer(state_dir, timeout);
  if (done.ok() || !done.error().Is(ErrorCode::kUnavailable)) return done;
  if (kill(s.pid, SIGKILL) != 0 && errno != ESRCH) {
    return ErrnoError("kill container pid " + std::to_string(s.pid));
  }
  auto killed = WaitContainer(state_dir, std::chrono::seconds(10));
  if (!killed.ok()) return killed.error().Wrap("stop container");
  return killed;
}

}  // namespace bld::runner
