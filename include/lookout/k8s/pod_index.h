#pragma once
// PodIndex: the pods on this node, shared by the pod collectors (labels for cgroup metrics),
// application scraping (annotated targets) and trace enrichment (peer IP -> pod).
//
// Readers take an immutable PodSnapshot and keep it as long as they like; the index swaps in a
// new snapshot on each successful refresh. Thread-safety: every method is safe from any thread.

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "lookout/k8s/pod.h"

namespace lookout {

// An immutable set of pods with lookups. Build once, then share.
class PodSnapshot {
 public:
  PodSnapshot() = default;
  explicit PodSnapshot(std::vector<Pod> pods);
  // The lookup maps hold views into pods_: no copies.
  PodSnapshot(const PodSnapshot&) = delete;
  PodSnapshot& operator=(const PodSnapshot&) = delete;

  const std::vector<Pod>& pods() const { return pods_; }
  // The pod with this UID, or the static pod whose kubelet-side UID this is: the kubelet names a
  // static pod's cgroup (and its own /pods entry) after its config hash, while the API server
  // lists its mirror pod under another UID with the hash in the `kubernetes.io/config.mirror`
  // annotation. Both are found here, in kubelet and in API-server mode.
  const Pod* FindByUid(std::string_view uid) const;
  // Pods that own the IP. Host-network pods and finished pods (Succeeded/Failed, whose IPs are
  // reused) are left out, so a hit is unambiguous.
  const Pod* FindByIp(std::string_view ip) const;
  struct ContainerRef {
    const Pod* pod = nullptr;
    const ContainerInfo* container = nullptr;
  };
  ContainerRef FindContainer(std::string_view container_id) const;

 private:
  std::vector<Pod> pods_;
  std::unordered_map<std::string_view, size_t> by_uid_;  // views into pods_
  std::unordered_map<std::string_view, size_t> by_ip_;
  std::unordered_map<std::string_view, std::pair<size_t, size_t>> by_container_;
};

class PodIndex {
 public:
  virtual ~PodIndex() = default;
  // Never null; empty before the first successful refresh and after the grace period expires.
  virtual std::shared_ptr<const PodSnapshot> Snapshot() const = 0;
  // A reader saw something the snapshot does not know (a new pod's cgroup): refresh soon. Cheap
  // and rate-limited by the implementation.
  virtual void RequestRefresh() = 0;
};

}  // namespace lookout
