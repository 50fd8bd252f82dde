#pragma once
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "agent/collectors/node/node_options.h"
#include "agent/collectors/node/statfs_runner.h"
#include "lookout/collector.h"
#include "lookout/result.h"

namespace lookout {

struct MountEntry {
  std::string device, mount_point, fs_type;
  bool read_only = false;
};

// /proc/<pid>/mounts format. As node_exporter 1.5: the mount point's "\040" (space) and "\011"
// (tab) are decoded, other escapes and the device and type fields are kept as written.
Result<std::vector<MountEntry>> ParseMounts(std::string_view text);
std::string UnescapeMountPoint(std::string_view s);

// The filesystem collector with an injected statfs (tests simulate hung mounts with it).
std::unique_ptr<Collector> NewFilesystemCollector(const NodeOptions& cfg,
                                                  StatfsRunner::StatfsFn statfs_fn);

}  // namespace lookout
