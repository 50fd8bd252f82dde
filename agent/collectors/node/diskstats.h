#pragma once
#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "lookout/result.h"

namespace lookout {

// One /proc/diskstats line. Older kernels have 11 counters, 4.18+ 15 (discards), 5.5+ 17
// (flushes); `count` says how many were present.
struct DiskStats {
  std::string major, minor, device;
  std::array<double, 17> v{};
  size_t count = 0;
};

Result<std::vector<DiskStats>> ParseDiskstats(std::string_view text);

// udev properties node_exporter puts on node_disk_info (from /run/udev/data/b<major>:<minor>).
struct UdevDiskInfo {
  std::string path, wwn, model, serial, revision;
};
UdevDiskInfo ParseUdevData(std::string_view text);

}  // namespace lookout
