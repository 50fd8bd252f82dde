// pod_metadata: reports whether the latest pod metadata refresh worked. It emits no series; its
// lookout_collector_success / lookout_collector_errors_total{reason} carry the answer, while the
// other pod collectors keep serving the last good metadata for the grace period.

#include "agent/collectors/pod/pod_collectors.h"
#include "agent/k8s/kube_pod_index.h"

namespace lookout {
namespace {

class PodMetadataCollector final : public Collector {
 public:
  explicit PodMetadataCollector(std::shared_ptr<KubePodIndex> index) : index_(std::move(index)) {}
  std::string_view Name() const override { return "pod_metadata"; }
  Status Collect(std::vector<MetricFamily>&) override { return index_->LastStatus(); }

 private:
  const std::shared_ptr<KubePodIndex> index_;
};

}  // namespace

std::unique_ptr<Collector> NewPodMetadataCollector(std::shared_ptr<KubePodIndex> index) {
  return std::make_unique<PodMetadataCollector>(std::move(index));
}

}  // namespace lookout
