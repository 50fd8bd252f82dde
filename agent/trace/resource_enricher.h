#pragma once
// Adds Kubernetes and configured static attributes to a span resource. The pod is found from an
// existing k8s.pod.uid or k8s.pod.ip attribute, else from the sender's peer IP, through the pod
// index. Attributes the resource already has are never overwritten.
//
// Thread-safety: AppendExtra may be called from any thread (the pod index swaps snapshots).

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lookout/k8s/pod_index.h"

namespace lookout::trace {

// A resource attribute as found on the wire: key and, for string values, the value.
struct ResourceAttr {
  std::string_view key;
  std::string_view value;
};

class ResourceEnricher {
 public:
  // `pods` may be null (no Kubernetes metadata): only static attributes and the node name.
  ResourceEnricher(std::shared_ptr<PodIndex> pods, std::string node_name,
                   std::vector<std::pair<std::string, std::string>> static_attributes);

  // Appends the missing attributes to `out` as Resource.attributes fields (KeyValue, field 1).
  // Returns how many were added. With `added`, also their keys and values, in order (span
  // metrics' dimensions read the enriched resource).
  int AppendExtra(const std::vector<ResourceAttr>& existing, std::string_view peer_ip,
                  std::string& out,
                  std::vector<std::pair<std::string, std::string>>* added = nullptr) const;

  bool active() const { return pods_ != nullptr || !node_name_.empty() || !static_.empty(); }

 private:
  const std::shared_ptr<PodIndex> pods_;
  const std::string node_name_;
  const std::vector<std::pair<std::string, std::string>> static_;
};

}  // namespace lookout::trace
