#pragma once
// The pod collectors: cgroup metrics per container and pod (cAdvisor names), pod info, the pod
// metadata source's health, and per-pod network. Registered in one explicit list.

#include <memory>
#include <vector>

#include "agent/collectors/node/node_options.h"
#include "agent/collectors/pod/pods_options.h"
#include "lookout/collector.h"
#include "lookout/k8s/pod_index.h"

namespace lookout {

class KubePodIndex;

// cgroup stats of every container and pod the index knows: container_cpu_*, container_memory_*,
// container_spec_*, container_fs_*, container_processes/threads, container_pressure_*.
std::unique_ptr<Collector> NewContainersCollector(const PodsOptions& pods, const NodeOptions& node,
                                                  std::shared_ptr<PodIndex> index);
// lookout_pod_info for every pod in the index.
std::unique_ptr<Collector> NewPodInfoCollector(std::shared_ptr<PodIndex> index);
// No series of its own: fails (success 0, errors_total{reason}) while the last metadata refresh
// failed, so "the kubelet is unreachable" is visible without touching the other collectors.
std::unique_ptr<Collector> NewPodMetadataCollector(std::shared_ptr<KubePodIndex> index);
// container_network_* per pod, read from a pod process's /proc/<pid>/net/dev; needs the host's
// PID namespace (hostPID: true) to see those processes.
std::unique_ptr<Collector> NewPodNetworkCollector(const PodsOptions& pods, const NodeOptions& node,
                                                  std::shared_ptr<PodIndex> index);

// One row per pod collector: its name (config key, log tag, `collector` label), default on/off,
// description and factory. They run only when Kubernetes metadata is on.
struct PodCollectorRegistration {
  std::string_view name;
  bool default_enabled;
  std::string_view description;
  std::unique_ptr<Collector> (*factory)(const PodsOptions&, const NodeOptions&,
                                        std::shared_ptr<KubePodIndex>);
};
const std::vector<PodCollectorRegistration>& PodCollectorRegistry();

// The enabled pod collectors, in registration order.
std::vector<std::unique_ptr<Collector>> MakePodCollectors(
    const PodsOptions& pods, const NodeOptions& node, const std::shared_ptr<KubePodIndex>& index);

}  // namespace lookout
