#include "agent/collectors/pod/pod_collectors.h"

#include "agent/k8s/kube_pod_index.h"

namespace lookout {

std::vector<std::unique_ptr<Collector>> MakePodCollectors(
    const PodsConfig& pods, const NodeConfig& node, const std::shared_ptr<KubePodIndex>& index) {
  std::vector<std::unique_ptr<Collector>> out;
  const auto on = [&](std::string_view name) {
    const auto it = pods.enabled.find(name);
    return it != pods.enabled.end() && it->second;
  };
  if (on("pod_metadata")) out.push_back(NewPodMetadataCollector(index));
  if (on("pod_info")) out.push_back(NewPodInfoCollector(index));
  if (on("containers")) out.push_back(NewContainersCollector(pods, node, index));
  if (on("pod_network")) out.push_back(NewPodNetworkCollector(pods, node, index));
  return out;
}

}  // namespace lookout
