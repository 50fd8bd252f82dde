#pragma once
// Finding pods and containers in the host's cgroup tree.
//
// The kubelet puts pods under a "kubepods" cgroup, split by QoS class:
//   cgroupfs driver: /kubepods/pod<uid>, /kubepods/burstable/pod<uid>, /kubepods/besteffort/...
//   systemd driver:  /kubepods.slice/kubepods-pod<uid_with_underscores>.slice,
//                    /kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<...>.slice
// and the runtime puts each container below its pod:
//   containerd: <id> (cgroupfs) or cri-containerd-<id>.scope (systemd)
//   CRI-O:      crio-<id> / crio-<id>.scope (crio-conmon-<id> is the monitor: skipped)
//   Docker:     <id> / docker-<id>.scope
// Paths here are relative to the hierarchy root and start with "/", as cAdvisor's `id` label.

#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/collectors/pod/cgroup_stats.h"
#include "lookout/result.h"

namespace lookout {

struct CgroupLayout {
  bool v2 = false;
  std::string unified;                            // v2: the mount
  std::string cpu, cpuacct, memory, blkio, pids;  // v1: controller mounts ("" = absent)

  // The hierarchy that is walked to find pods (v2: unified; v1: memory, else cpu).
  const std::string& WalkRoot() const;
  CgroupDirs DirsFor(std::string_view rel) const;
};

// Errors: "no_cgroupfs" when the path holds neither a v2 mount nor v1 controllers.
Result<CgroupLayout> DetectCgroupLayout(const std::string& cgroupfs);

// The layout of one cgroup mount, detected on first use and then kept: the mount does not change
// under a running agent, and detecting it costs stats and a directory listing per scrape.
// A failed detection is retried next time. Thread-safety: Get() is safe from any thread.
class CachedCgroupLayout {
 public:
  explicit CachedCgroupLayout(std::string cgroupfs) : cgroupfs_(std::move(cgroupfs)) {}
  Result<CgroupLayout> Get();

 private:
  const std::string cgroupfs_;
  std::mutex mu_;
  std::optional<CgroupLayout> layout_;  // guarded by mu_
};

struct ContainerCgroup {
  std::string id;   // runtime container ID (hex)
  std::string rel;  // relative path, "/kubepods/.../<id>"
};

struct PodCgroup {
  std::string uid;
  std::string rel;
  std::vector<ContainerCgroup> containers;  // every runtime container, the sandbox included
};

// The kubepods cgroups that exist: `configured` if given, else the known defaults
// (kubepods.slice, kubepods, kubelet.slice/kubelet-kubepods.slice).
std::vector<std::string> FindKubepodsCgroups(const CgroupLayout& layout,
                                             const std::vector<std::string>& configured);

// Every pod cgroup below the kubepods cgroups, with its containers.
std::vector<PodCgroup> ListPodCgroups(const CgroupLayout& layout,
                                      const std::vector<std::string>& kubepods);

// "pod<uid>" or "<prefix>-pod<uid_with_underscores>.slice" -> uid; nullopt otherwise.
std::optional<std::string> PodUidFromCgroupName(std::string_view name);
// Container cgroup directory name -> runtime container ID; nullopt for anything else.
std::optional<std::string_view> ContainerIdFromCgroupName(std::string_view name);

}  // namespace lookout
