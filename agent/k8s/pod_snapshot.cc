#include <string_view>

#include "lookout/k8s/pod_index.h"

namespace lookout {

PodSnapshot::PodSnapshot(std::vector<Pod> pods) : pods_(std::move(pods)) {
  by_uid_.reserve(pods_.size());
  for (size_t i = 0; i < pods_.size(); ++i) {
    const Pod& p = pods_[i];
    by_uid_.emplace(p.uid, i);
    const bool finished = p.phase == "Succeeded" || p.phase == "Failed";
    if (!p.host_network && !finished) {
      for (const auto& ip : p.pod_ips) by_ip_.emplace(ip, i);
    }
    for (size_t c = 0; c < p.containers.size(); ++c) {
      if (!p.containers[c].id.empty()) by_container_.emplace(p.containers[c].id, std::pair{i, c});
    }
  }
  // A mirror pod (API-server mode) is also found by its config hash, the UID its cgroup has.
  // After the UIDs, so a real UID always wins.
  for (size_t i = 0; i < pods_.size(); ++i) {
    const auto it = pods_[i].annotations.find("kubernetes.io/config.mirror");
    if (it != pods_[i].annotations.end() && !it->second.empty()) by_uid_.emplace(it->second, i);
  }
}

const Pod* PodSnapshot::FindByUid(std::string_view uid) const {
  const auto it = by_uid_.find(uid);
  return it == by_uid_.end() ? nullptr : &pods_[it->second];
}

const Pod* PodSnapshot::FindByIp(std::string_view ip) const {
  const auto it = by_ip_.find(ip);
  return it == by_ip_.end() ? nullptr : &pods_[it->second];
}

PodSnapshot::ContainerRef PodSnapshot::FindContainer(std::string_view container_id) const {
  const auto it = by_container_.find(container_id);
  if (it == by_container_.end()) return {};
  const Pod& p = pods_[it->second.first];
  return {&p, &p.containers[it->second.second]};
}

}  // namespace lookout
