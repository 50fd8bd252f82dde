#include "agent/common/owned_dir.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace lookout {

Status PrepareOwnedDirectory(const std::string& dir, uid_t uid, gid_t gid) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return MakeError("io", "create " + dir + ": " + ec.message());
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) {
    return MakeError("io", "stat " + dir + ": " + std::strerror(errno));
  }
  if (!S_ISDIR(st.st_mode)) return MakeError("io", dir + " is not a directory");
  if (st.st_uid == uid && st.st_gid == gid) return Ok{};  // done by an earlier start
  // chmod first, while root still owns it (no CAP_FOWNER needed), then chown (CAP_CHOWN).
  if (::chmod(dir.c_str(), 0750) != 0) {
    return MakeError("io", "chmod " + dir + ": " + std::strerror(errno));
  }
  if (::chown(dir.c_str(), uid, gid) != 0) {
    return MakeError("io", "chown " + dir + ": " + std::strerror(errno));
  }
  return Ok{};
}

}  // namespace lookout
