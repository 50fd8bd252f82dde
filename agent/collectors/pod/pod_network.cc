// pod_network: container_network_* per pod. A pod's containers share one network namespace, so
// any of its processes shows the pod's interfaces in /proc/<pid>/net/dev. The agent must share
// the host's PID namespace to see those processes; without it no pid resolves and the collector
// reports nothing (documented as optional in the README). Host-network pods are skipped: their
// "interfaces" are the node's, already in node_network_*.

#include <optional>
#include <string>

#include "agent/collectors/node/netdev.h"
#include "agent/collectors/pod/cgroup_layout.h"
#include "agent/collectors/pod/cgroup_stats.h"
#include "agent/collectors/pod/pod_collectors.h"
#include "agent/common/file_util.h"
#include "lookout/metrics/family_builder.h"

namespace lookout {
namespace {

struct NetFam {
  const char* field;  // netdev column
  const char* name;
  const char* help;
};
constexpr NetFam kNetFams[] = {
    {"receive_bytes", "container_network_receive_bytes_total",
     "Cumulative count of bytes received"},
    {"receive_packets", "container_network_receive_packets_total",
     "Cumulative count of packets received"},
    {"receive_errs", "container_network_receive_errors_total",
     "Cumulative count of errors encountered while receiving"},
    {"receive_drop", "container_network_receive_packets_dropped_total",
     "Cumulative count of packets dropped while receiving"},
    {"transmit_bytes", "container_network_transmit_bytes_total",
     "Cumulative count of bytes transmitted"},
    {"transmit_packets", "container_network_transmit_packets_total",
     "Cumulative count of packets transmitted"},
    {"transmit_errs", "container_network_transmit_errors_total",
     "Cumulative count of errors encountered while transmitting"},
    {"transmit_drop", "container_network_transmit_packets_dropped_total",
     "Cumulative count of packets dropped while transmitting"},
};
constexpr size_t kNetFamCount = sizeof(kNetFams) / sizeof(kNetFams[0]);

// cAdvisor ignores these: loopback and the host side of pod veths / bridges.
bool IgnoredInterface(std::string_view dev) {
  return dev.starts_with("lo") || dev.starts_with("veth") || dev.starts_with("docker") ||
         dev.starts_with("nerdctl");
}

class PodNetworkCollector final : public Collector {
 public:
  PodNetworkCollector(const PodsOptions& pods, const NodeOptions& node,
                      std::shared_ptr<PodIndex> index)
      : layout_(pods.cgroupfs),
        kubepods_config_(pods.kubepods_cgroups),
        paths_(node.paths),
        max_file_bytes_(node.max_file_bytes),
        index_(std::move(index)) {}

  std::string_view Name() const override { return "pod_network"; }

  Status Collect(std::vector<MetricFamily>& out) override {
    auto layout = layout_.Get();
    if (!layout.ok()) return layout.error();
    const auto snapshot = index_->Snapshot();
    std::vector<MetricFamily> fams(kNetFamCount);
    for (size_t i = 0; i < kNetFamCount; ++i) {
      fams[i].name = kNetFams[i].name;
      fams[i].help = kNetFams[i].help;
      fams[i].type = MetricType::kCounter;
    }
    CgroupFileReader reader(max_file_bytes_);
    const std::string& root = layout->WalkRoot();
    for (const PodCgroup& pod_cg :
         ListPodCgroups(*layout, FindKubepodsCgroups(*layout, kubepods_config_))) {
      const Pod* pod = snapshot->FindByUid(pod_cg.uid);
      if (pod == nullptr || pod->host_network) continue;
      // Any process of the pod shows its network namespace; one that exits between the listing
      // and the read is skipped for the next (processes come and go, pods keep running).
      auto devs = ReadPodNetDev(root, pod_cg, reader);
      if (!devs) continue;  // no live process, or another PID namespace
      for (const NetDevStats& d : *devs) {
        if (IgnoredInterface(d.device)) continue;
        const Labels labels{{"container", ""}, {"id", pod_cg.rel},
                            {"image", ""},     {"interface", d.device},
                            {"name", ""},      {"namespace", pod->namespace_name},
                            {"pod", pod->name}};
        for (size_t i = 0; i < kNetFamCount; ++i) {
          for (const auto& [k, v] : d.values) {
            if (k == kNetFams[i].field) AddSample(fams[i], v, labels);
          }
        }
      }
    }
    for (auto& f : fams) {
      if (!f.samples.empty()) out.push_back(std::move(f));
    }
    return Ok{};
  }

 private:
  // /proc/<pid>/net/dev of the first process of the pod's container cgroups (the sandbox's
  // included: it holds the namespace too) that can still be read.
  std::optional<std::vector<NetDevStats>> ReadPodNetDev(const std::string& root,
                                                        const PodCgroup& pod,
                                                        CgroupFileReader& reader) const {
    for (const ContainerCgroup& c : pod.containers) {
      auto procs = reader.Read(root + c.rel, "cgroup.procs");
      if (!procs) continue;
      std::string_view rest = *procs;
      while (!rest.empty()) {
        const size_t nl = rest.find('\n');
        const std::string_view pid = TrimSpace(rest.substr(0, nl));
        rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
        if (pid.empty() || !ParseU64(pid)) continue;
        auto text = ReadFileLimited(paths_.Proc(std::string(pid) + "/net/dev"), max_file_bytes_);
        if (!text.ok()) continue;  // exited since cgroup.procs was read
        auto devs = ParseNetDev(*text);
        if (devs.ok()) return std::move(devs).value();
      }
    }
    return std::nullopt;
  }

  CachedCgroupLayout layout_;
  const std::vector<std::string> kubepods_config_;
  const HostPaths paths_;
  const size_t max_file_bytes_;
  const std::shared_ptr<PodIndex> index_;
};

}  // namespace

std::unique_ptr<Collector> NewPodNetworkCollector(const PodsOptions& pods, const NodeOptions& node,
                                                  std::shared_ptr<PodIndex> index) {
  return std::make_unique<PodNetworkCollector>(pods, node, std::move(index));
}

}  // namespace lookout
