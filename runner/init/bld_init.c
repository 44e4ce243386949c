// bld-init: the container's PID 1 when one is asked for (bld run --init, RUN steps).
//
// A separate, static program that the runner's child EXECs from a sealed memfd (see
// runner/init_binary.h), never a fork of bld: the container can see only this program, its
// argv (the command's) and its environment (the container's) — nothing of the host bld's
// memory, argv, environment or fds. It makes itself non-dumpable first (no ptrace, no
// /proc/1/mem, fd, environ of it for the container), forks the command, forwards every
// signal it gets to it, reaps every zombie, and exits with the command's code, or 128+N
// when a signal N killed it (as tini and docker-init do). The runner reads that from
// waitpid: nothing the container can write decides the exit status.
//
//   argv: bld-init -- CMD [ARG...]     environ: the container's
//   fd 0-2: stdio; fd 3: the runner's setup channel. The command's exec failure is sent
//   there as "X<int32 code><message>" (the runner's child protocol); exec success closes it
//   (close-on-exec). Every other fd is closed.
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

enum { kSetupFd = 3 };

static void Report(int code, const char* fmt, const char* a, const char* b) {
  char buf[4096];
  buf[0] = 'X';
  memcpy(buf + 1, &code, sizeof(code));
  int n = snprintf(buf + 5, sizeof(buf) - 5, fmt, a, b);
  if (n < 0) n = 0;
  size_t len = 5 + ((size_t)n < sizeof(buf) - 6 ? (size_t)n : sizeof(buf) - 6);
  while (send(kSetupFd, buf, len, MSG_NOSIGNAL) < 0 && errno == EINTR) {
  }
}

// execvp with the container's PATH, keeping the most telling error (as the runner does
// for a command without init).
static void Exec(char** argv) {
  const char* file = argv[0];
  if (strchr(file, '/') != NULL) {
    execve(file, argv, environ);
    return;
  }
  const char* path = getenv("PATH");
  if (path == NULL) path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  int best = ENOENT;
  char buf[4096];
  for (;;) {
    const char* colon = strchr(path, ':');
    size_t dir_len = colon != NULL ? (size_t)(colon - path) : strlen(path);
    size_t file_len = strlen(file);
    if (dir_len + 1 + file_len < sizeof(buf)) {
      if (dir_len == 0) {
        memcpy(buf, file, file_len + 1);
      } else {
        memcpy(buf, path, dir_len);
        buf[dir_len] = '/';
        memcpy(buf + dir_len + 1, file, file_len + 1);
      }
      execve(buf, argv, environ);
      int err = errno;
      if (err != ENOENT && err != ENOTDIR) best = err;
      if (err != ENOENT && err != ENOTDIR && err != EACCES && err != ENOEXEC) break;
    }
    if (colon == NULL) break;
    path = colon + 1;
  }
  errno = best;
}

int main(int argc, char** argv) {
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  if (argc < 3 || strcmp(argv[1], "--") != 0) {
    Report(125, "bld-init: usage: bld-init -- CMD [ARG...]%s%s", "", "");
    return 125;
  }
  char** cmd = argv + 2;
  // Only stdio and the setup channel are ours; nothing else may reach the command.
  syscall(SYS_close_range, kSetupFd + 1, ~0U, 0);
  sigset_t all, none;
  sigfillset(&all);
  sigemptyset(&none);
  sigprocmask(SIG_BLOCK, &all, NULL);
  pid_t child = fork();
  if (child < 0) {
    Report(125, "bld-init: fork the command: %s%s", strerror(errno), "");
    return 125;
  }
  if (child == 0) {
    sigprocmask(SIG_SETMASK, &none, NULL);
    syscall(SYS_close_range, kSetupFd, kSetupFd, CLOSE_RANGE_CLOEXEC);
    Exec(cmd);
    int err = errno;
    int code = (err == ENOENT || err == ENOTDIR) ? 127 : 126;
    if (code == 127 && strchr(cmd[0], '/') == NULL) {
      Report(code, "exec \"%s\": executable file not found in $PATH%s", cmd[0], "");
    } else {
      Report(code, "exec \"%s\": %s", cmd[0], strerror(err));
    }
    _exit(code);
  }
  // The command holds the channel until its exec (or failure report): our copy goes now.
  close(kSetupFd);
  int status = 0;
  for (;;) {
    siginfo_t info;
    int sig = sigwaitinfo(&all, &info);
    if (sig < 0) continue;
    if (sig == SIGCHLD) {
      int done = 0, st;
      pid_t p;
      while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
        if (p == child) {
          status = st;
          done = 1;
        }
      }
      if (done) break;
      continue;
    }
    if (sig == SIGTTIN || sig == SIGTTOU) continue;
    kill(child, sig);
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 255;
}
