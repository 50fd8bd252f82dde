#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "lookout/result.h"

namespace lookout {

struct MountEntry {
  std::string device, mount_point, fs_type;
  bool read_only = false;
};

// /proc/<pid>/mounts format; octal escapes such as "\040" (space) are decoded.
Result<std::vector<MountEntry>> ParseMounts(std::string_view text);
std::string UnescapeMountField(std::string_view s);

}  // namespace lookout
