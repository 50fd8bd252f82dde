#pragma once
// Scrape targets: where application metrics come from. Discovery is pure (config and a pod
// snapshot in, targets out) so it is tested without threads or a network.

#include <chrono>
#include <string>
#include <vector>

#include "agent/collectors/app/apps_options.h"
#include "lookout/k8s/pod_index.h"
#include "lookout/metrics/metric.h"
#include "lookout/metrics/relabel.h"

namespace lookout::app {

struct ScrapeTarget {
  std::string key;     // identity across discovery rounds: a changed key is a new target
  std::string url;     // scheme://host:port/path
  std::string source;  // "pod" or "static"
  // Added to every scraped series: job and instance always; namespace, pod and container for pod
  // targets; a static target's own labels.
  Labels labels;
  std::chrono::milliseconds interval{};
  std::chrono::milliseconds timeout{};
  // metric_relabel_configs: the static target's own, or apps.pods' for pod targets.
  Relabeler metric_relabel;
  std::string Label(std::string_view name) const;
};

// The static targets of apps.static_targets, with defaults filled in.
std::vector<ScrapeTarget> StaticTargets(const AppsOptions& cfg);

// Running pods annotated prometheus.io/scrape: "true". prometheus.io/port picks the port (else
// every declared TCP container port is a target, as Prometheus's pod discovery does);
// prometheus.io/path (default /metrics) and prometheus.io/scheme (http|https) shape the URL.
// Pods with an invalid annotation are skipped and reported through `skipped`.
struct DiscoverySkip {
  std::string namespace_name;
  std::string pod;
  std::string reason;  // "bad_port", "no_port", "bad_scheme", "no_ip"
};
std::vector<ScrapeTarget> PodTargets(const PodSnapshot& pods, const AppsOptions& cfg,
                                     std::vector<DiscoverySkip>* skipped = nullptr);

}  // namespace lookout::app
