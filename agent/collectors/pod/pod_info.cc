// lookout_pod_info: one series per pod in the index, value 1, for joins
// (e.g. `* on(namespace, pod) group_left(qos_class) lookout_pod_info`).

#include "agent/collectors/pod/pod_collectors.h"
#include "lookout/metrics/family_builder.h"

namespace lookout {
namespace {

class PodInfoCollector final : public Collector {
 public:
  explicit PodInfoCollector(std::shared_ptr<PodIndex> index) : index_(std::move(index)) {}
  std::string_view Name() const override { return "pod_info"; }

  Status Collect(std::vector<MetricFamily>& out) override {
    const auto snapshot = index_->Snapshot();
    MetricFamily f{"lookout_pod_info",
                   "Pods on this node as the pod metadata source lists them; value 1.",
                   MetricType::kGauge,
                   "",
                   {}};
    f.samples.reserve(snapshot->pods().size());
    for (const Pod& p : snapshot->pods()) {
      AddSample(f, 1,
                {{"namespace", p.namespace_name},
                 {"pod", p.name},
                 {"uid", p.uid},
                 {"node", p.node_name},
                 {"pod_ip", p.pod_ip},
                 {"host_ip", p.host_ip},
                 {"qos_class", p.qos_class}});
    }
    out.push_back(std::move(f));
    return Ok{};
  }

 private:
  const std::shared_ptr<PodIndex> index_;
};

}  // namespace

std::unique_ptr<Collector> NewPodInfoCollector(std::shared_ptr<PodIndex> index) {
  return std::make_unique<PodInfoCollector>(std::move(index));
}

}  // namespace lookout
