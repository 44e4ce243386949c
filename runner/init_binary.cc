#include "runner/init_binary.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mutex>

#include "base/file.h"

// From `ld -r -b binary bld-init` (runner/CMakeLists.txt).
extern "C" const char _binary_bld_init_start[];
extern "C" const char _binary_bld_init_end[];

namespace bld::runner {

std::string_view InitBinaryImage() {
  return std::string_view(_binary_bld_init_start,
                          static_cast<size_t>(_binary_bld_init_end - _binary_bld_init_start));
}

namespace {

Result<int> MakeSealedInit() {
  int fd = memfd_create("bld-init", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) return ErrnoError("memfd_create for the container init");
  UniqueFd owner(fd);
  BLD_TRY(WriteAll(fd, InitBinaryImage(), "the container init's memfd"));
  if (fchmod(fd, 0555) != 0) return ErrnoError("chmod the container init's memfd");
  if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) != 0) {
    return ErrnoError("seal the container init's memfd");
  }
  return owner.release();
}

}  // namespace

Result<int> InitBinaryFd() {
  static std::once_flag once;
  static Result<int> fd = InternalError("unset");
  std::call_once(once, [] { fd = MakeSealedInit(); });
  return fd;
}

}  // namespace bld::runner
