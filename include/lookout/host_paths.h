#pragma once
// HostPaths: every file the node collectors read goes through these roots, so tests run on
// fixture trees and the DaemonSet reads the host's /proc mounted at /host/proc.
// Value type; immutable after start-up, safe to share between threads.

#include <string>
#include <string_view>

namespace lookout {

struct HostPaths {
  std::string procfs = "/proc";
  std::string sysfs = "/sys";
  std::string rootfs = "/";

  std::string Proc(std::string_view rel) const { return Join(procfs, rel); }
  std::string Sys(std::string_view rel) const { return Join(sysfs, rel); }
  std::string Root(std::string_view rel) const { return Join(rootfs, rel); }

  static std::string Join(std::string_view root, std::string_view rel) {
    while (!root.empty() && root.back() == '/') root.remove_suffix(1);
    while (!rel.empty() && rel.front() == '/') rel.remove_prefix(1);
    std::string out;
    out.reserve(root.size() + rel.size() + 1);
    out.append(root.data(), root.size());
    out.push_back('/');
    out.append(rel.data(), rel.size());
    return out;
  }
};

}  // namespace lookout
