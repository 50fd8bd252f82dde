#pragma once
// Decoding a Kubernetes PodList (the kubelet's GET /pods, or the API server's
// GET /api/v1/pods?fieldSelector=spec.nodeName=NODE): both return the same v1 PodList JSON.

#include <string_view>
#include <vector>

#include "lookout/k8s/pod.h"
#include "lookout/result.h"

namespace lookout {

// Errors: "json" (not JSON, truncated, too deep), "format" (JSON but not a PodList). Pods that
// lack a uid, name or namespace are skipped: without them nothing can be labelled.
Result<std::vector<Pod>> ParsePodList(std::string_view text);

// "containerd://abc" -> {"containerd", "abc"}; no "://" -> {"", text}.
std::pair<std::string_view, std::string_view> SplitContainerId(std::string_view id);

}  // namespace lookout
