#include "agent/collectors/pod/pod_collectors.h"

#include "agent/k8s/kube_pod_index.h"

namespace lookout {

const std::vector<PodCollectorRegistration>& PodCollectorRegistry() {
  using Index = std::shared_ptr<KubePodIndex>;
  static const std::vector<PodCollectorRegistration> kRegistry = {
      {"pod_metadata", true, "success/reason of the metadata source (kubelet or API server)",
       [](const PodsOptions&, const NodeOptions&, Index index) {
         return NewPodMetadataCollector(std::move(index));
       }},
      {"pod_info", true, "`lookout_pod_info` for every pod on the node",
       [](const PodsOptions&, const NodeOptions&, Index index) {
         return NewPodInfoCollector(std::move(index));
       }},
      {"containers", true, "`container_*` from cgroups (cAdvisor names)",
       [](const PodsOptions& pods, const NodeOptions& node, Index index) {
         return NewContainersCollector(pods, node, std::move(index));
       }},
      {"pod_network", false,
       "`container_network_*` per pod, from a pod process's /proc/<pid>/net/dev; needs "
       "`hostPID: true`",
       [](const PodsOptions& pods, const NodeOptions& node, Index index) {
         return NewPodNetworkCollector(pods, node, std::move(index));
       }},
  };
  return kRegistry;
}

std::vector<std::unique_ptr<Collector>> MakePodCollectors(
    const PodsOptions& pods, const NodeOptions& node, const std::shared_ptr<KubePodIndex>& index) {
  std::vector<std::unique_ptr<Collector>> out;
  for (const auto& entry : PodCollectorRegistry()) {
    const auto it = pods.enabled.find(entry.name);
    if (it != pods.enabled.end() && it->second) out.push_back(entry.factory(pods, node, index));
  }
  return out;
}

}  // namespace lookout
