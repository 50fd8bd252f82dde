#include "agent/trace/resource_enricher.h"

#include <algorithm>

#include "agent/common/proto_wire.h"

namespace lookout::trace {

// The hand-written protobuf wire format (agent/common/proto_wire.h) is this file's vocabulary.
using namespace ::lookout::wire;  // NOLINT(google-build-using-namespace)
namespace {

const ResourceAttr* Find(const std::vector<ResourceAttr>& attrs, std::string_view key) {
  for (const auto& a : attrs) {
    if (a.key == key) return &a;
  }
  return nullptr;
}

}  // namespace

ResourceEnricher::ResourceEnricher(std::shared_ptr<PodIndex> pods, std::string node_name,
                                   std::vector<std::pair<std::string, std::string>> static_attrs)
    : pods_(std::move(pods)), node_name_(std::move(node_name)), static_(std::move(static_attrs)) {}

int ResourceEnricher::AppendExtra(const std::vector<ResourceAttr>& existing,
                                  std::string_view peer_ip, std::string& out,
                                  std::vector<std::pair<std::string, std::string>>* added) const {
  int n = 0;
  auto add = [&](std::string_view key, std::string_view value) {
    if (value.empty() || Find(existing, key) != nullptr) return;
    PutStringKeyValue(out, 1, key, value);
    if (added) added->emplace_back(key, value);
    ++n;
  };
  const Pod* pod = nullptr;
  std::shared_ptr<const PodSnapshot> snap;
  if (pods_) {
    snap = pods_->Snapshot();
    if (const auto* uid = Find(existing, "k8s.pod.uid"); uid != nullptr) {
      pod = snap->FindByUid(uid->value);
    } else if (const auto* ip = Find(existing, "k8s.pod.ip"); ip != nullptr) {
      pod = snap->FindByIp(ip->value);
    } else if (!peer_ip.empty()) {
      pod = snap->FindByIp(peer_ip);
    }
  }
  if (pod != nullptr) {
    add("k8s.pod.name", pod->name);
    add("k8s.pod.uid", pod->uid);
    add("k8s.namespace.name", pod->namespace_name);
    add("k8s.node.name", pod->node_name.empty() ? node_name_ : pod->node_name);
    // The container only when the pod has exactly one app container: otherwise it is a guess.
    const ContainerInfo* only = nullptr;
    int app_containers = 0;
    for (const auto& c : pod->containers) {
      if (c.init) continue;
      ++app_containers;
      only = &c;
    }
    if (app_containers == 1) add("k8s.container.name", only->name);
  } else {
    add("k8s.node.name", node_name_);
  }
  for (const auto& [k, v] : static_) add(k, v);
  return n;
}

}  // namespace lookout::trace
