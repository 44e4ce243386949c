#include "builder/fs.h"

#include <fcntl.h>

#include "base/file.h"
#include "base/in_root.h"
#include "parser/dockerignore.h"

namespace bld::builder {

std::string CleanAbs(const std::string& path) {
  std::string c = parser::CleanPath("/" + path);
  return c.empty() ? "/" : c;
}

Result<std::string> ResolveInRoot(const std::string& root, const std::string& path,
                                  bool follow_last) {
  BLD_ASSIGN_OR_RETURN(UniqueFd fd, OpenRoot(root));
  BLD_ASSIGN_OR_RETURN(std::string r, bld::ResolveInRoot(fd.get(), path, follow_last));
  return r == "/" ? root : root + r;
}

Result<std::string> MkdirAllInRoot(const std::string& root, const std::string& path, uid_t uid,
                                   gid_t gid) {
  BLD_ASSIGN_OR_RETURN(UniqueFd fd, OpenRoot(root));
  BLD_TRY(bld::MkdirAllInRoot(fd.get(), path, 0755, uid, gid));
  BLD_ASSIGN_OR_RETURN(std::string r, bld::ResolveInRoot(fd.get(), path));
  return r == "/" ? root : root + r;
}

std::string ReadFileInRoot(const std::string& root, const std::string& path) {
  auto fd = OpenRoot(root);
  if (!fd.ok()) return "";
  auto f = OpenInRoot(fd->get(), path, O_RDONLY);
  if (!f.ok()) return "";
  auto r = ReadFd(f->get());
  return r.ok() ? *r : "";
}

}  // namespace bld::builder
