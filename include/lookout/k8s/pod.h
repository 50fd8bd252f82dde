#pragma once
// Pod metadata as the kubelet's /pods (or the API server's PodList) describes it: the fields
// lookout labels metrics with, discovers scrape targets from and enriches spans with.
// Plain value types.

#include <map>
#include <string>
#include <vector>

namespace lookout {

struct ContainerPortInfo {
  std::string name;
  int port = 0;
  std::string protocol;  // "TCP" unless the pod says otherwise
};

struct ContainerInfo {
  std::string name;
  std::string id;       // runtime container ID without the "containerd://" prefix; "" if none
  std::string runtime;  // "containerd", "cri-o", "docker", ... ("" if no ID yet)
  std::string image;    // as the runtime reports it (status), else the spec's image
  bool init = false;
  std::vector<ContainerPortInfo> ports;
};

struct Pod {
  std::string uid;
  std::string name;
  std::string namespace_name;
  std::string node_name;
  std::string phase;      // Pending, Running, Succeeded, Failed, Unknown
  std::string qos_class;  // Guaranteed, Burstable, BestEffort
  std::string pod_ip;
  std::vector<std::string> pod_ips;
  std::string host_ip;
  bool host_network = false;
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
  std::vector<ContainerInfo> containers;  // init containers first, then app containers
};

}  // namespace lookout
