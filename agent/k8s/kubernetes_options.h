#pragma once
// Where pod metadata comes from (`kubernetes:` in the config) and the option table.

#include <string>

#include "agent/common/duration.h"
#include "agent/common/option_table.h"

namespace lookout {

// String fields may hold ${VAR} or ${VAR:-default}, expanded by Resolved() at start-up. Values
// come from the option table's defaults; these members have none of their own.
struct KubernetesOptions {
  enum class Mode { kAuto, kKubelet, kApiServer, kOff };
  Mode mode = Mode::kOff;  // auto: kubelet when running in a pod (token file exists), else off
  std::string node_name;
  std::string kubelet_url;     // the kubelet's PodList endpoint
  std::string api_server_url;  // base URL; the node field selector is added
  std::string token_file;      // re-read on every refresh (projected tokens rotate)
  std::string ca_file;
  bool insecure_skip_verify = false;
  Duration refresh_interval{};
  Duration min_refresh_interval{};  // floor for refreshes asked for by readers
  Duration timeout{};
  Duration stale_after{};  // last good metadata is served this long after refreshes fail
  size_t max_response_bytes = 0;

  // auto resolved, ${VAR} expanded. Never returns kAuto.
  KubernetesOptions Resolved() const;
  bool enabled() const { return mode == Mode::kKubelet || mode == Mode::kApiServer; }
  // The URL a refresh GETs: the kubelet's, or the API server's with the node field selector.
  std::string PodListUrl() const;
};

const OptionTable<KubernetesOptions>& KubernetesOptionTable();

}  // namespace lookout
