#include "agent/collectors/node/node_options.h"

#include "agent/collectors/node/node_collectors.h"

namespace lookout {

bool DeviceFilter::Ignored(std::string_view device) const {
  if (!include.empty()) return !include.Matches(device);
  return exclude.Matches(device);
}

std::vector<Option<NodeOptions>> DeviceFilterOptions(DeviceFilter NodeOptions::*member,
                                                     std::string include_default,
                                                     std::string exclude_default, std::string doc) {
  OptionTable<DeviceFilter> filter{{
      option::Regex<DeviceFilter>("device_include", &DeviceFilter::include,
                                  std::move(include_default),
                                  "devices to report; when set, only these (include wins)"),
      option::Regex<DeviceFilter>("device_exclude", &DeviceFilter::exclude,
                                  std::move(exclude_default), std::move(doc)),
  }};
  return option::Nest<NodeOptions>("", member, filter);
}

const OptionTable<NodeOptions>& NodeOptionTable() {
  using O = NodeOptions;
  static const OptionTable<O> kTable = [] {
    OptionTable<HostPaths> paths{{
        option::Str<HostPaths>("procfs", &HostPaths::procfs, "/proc",
                               "procfs root (`/host/proc` in the DaemonSet)"),
        option::Str<HostPaths>("sysfs", &HostPaths::sysfs, "/sys", "sysfs root"),
        option::Str<HostPaths>("rootfs", &HostPaths::rootfs, "/",
                               "host root filesystem (statfs targets, os-release, udev data); "
                               "mount points under it are reported as the host sees them"),
    }};
    OptionTable<O> t;
    AppendOptions(t, option::Nest<O>("paths", &O::paths, paths));
    t.options.push_back(option::Int<O>(
        "max_file_bytes", &O::max_file_bytes, 4096, int64_t{1} << 30, "8388608",
        "a /proc or /sys file larger than this fails its collector (`reason=\"too_large\"`)"));
    t.options.push_back(option::Int<O>(
        "max_kept_files", &O::max_kept_files, 0, 1 << 20, "4096",
        "the most /sys and /proc files the node collectors keep open between scrapes (a pread "
        "instead of open, read and close; each holds about 4.4 KiB of kernel memory); at most a "
        "quarter of the open-file limit, which the agent raises to its hard limit at start-up; "
        "beyond it files are opened on each read; 0 = none"));
    for (const auto& entry : NodeCollectorRegistry()) {
      const std::string prefix = "collectors." + std::string(entry.name);
      t.options.push_back(option::CollectorSwitch<O>(&O::enabled, entry.name, entry.default_enabled,
                                                     entry.description));
      if (entry.options == nullptr) continue;
      for (auto& row : entry.options()) {
        row.key = prefix + "." + row.key;
        t.options.push_back(std::move(row));
      }
    }
    return t;
  }();
  return kTable;
}

}  // namespace lookout
