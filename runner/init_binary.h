// The container init (runner/init/bld_init.c), carried inside bld and exec'd from a sealed
// memfd.
//
// bld never forks itself into the container as its PID 1: the runner's child execs this
// separate static program instead (Spec::init), so the container's PID 1 holds nothing of
// bld's memory, argv, environment or fds. As runc does against CVE-2019-5736, the program
// is exec'd from a memfd sealed against writes and resizing: there is no path back to a
// host binary that a process in the container could open for writing.
#pragma once

#include <cstddef>
#include <string_view>

#include "base/error.h"

namespace bld::runner {

// The init program's ELF image as linked into bld.
std::string_view InitBinaryImage();

// A close-on-exec memfd holding InitBinaryImage(), sealed (F_SEAL_SEAL, F_SEAL_SHRINK,
// F_SEAL_GROW, F_SEAL_WRITE), created on the first call and shared by every container this
// process starts (the fd stays open for the process's lifetime). Fails naming the step
// (memfd_create, write, seal) on the first call and on every later one.
Result<int> InitBinaryFd();

}  // namespace bld::runner
