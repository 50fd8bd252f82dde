#pragma once
// KubePodIndex: the PodIndex fed by the kubelet's /pods or the API server, refreshed on a
// background thread.
//
// - A refresh GETs the PodList with the service-account bearer token (re-read each time: projected
//   tokens rotate) over TLS verified against the configured CA.
// - A failed refresh keeps the last good snapshot for `stale_after`; after that Snapshot() is
//   empty, so series of pods we no longer know about disappear instead of going stale.
// - Readers that meet an unknown pod call RequestRefresh(); refreshes never come closer together
//   than `min_refresh_interval`.
//
// Thread-safety: all public methods are safe from any thread.

#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "agent/k8s/kubernetes_options.h"
#include "lookout/clock.h"
#include "lookout/http_client.h"
#include "lookout/k8s/pod_index.h"
#include "lookout/metrics/self_metrics.h"

namespace lookout {

class KubePodIndex final : public PodIndex {
 public:
  KubePodIndex(KubernetesOptions config, std::unique_ptr<HttpClient> client, const Clock& clock,
               SelfMetrics& registry);
  ~KubePodIndex() override;
  KubePodIndex(const KubePodIndex&) = delete;
  KubePodIndex& operator=(const KubePodIndex&) = delete;

  // Starts the refresh thread; the first refresh happens at once.
  void Start();
  void Stop();

  // One refresh, synchronously. Errors (reason): the HttpClient's reasons, "token" (unreadable
  // token file), "http_<code>" for a non-200 answer, "json"/"format" for a bad body.
  Status RefreshNow();
  // The outcome of the latest refresh; "not_ready" before the first one.
  Status LastStatus() const;

  std::shared_ptr<const PodSnapshot> Snapshot() const override;
  void RequestRefresh() override;

 private:
  void Loop();

  const KubernetesOptions config_;
  const std::unique_ptr<HttpClient> client_;
  const Clock& clock_;
  Family<::prometheus::Counter>& refreshes_;
  ::prometheus::Gauge& pods_gauge_;
  ::prometheus::Gauge& last_success_gauge_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::shared_ptr<const PodSnapshot> snapshot_;                     // guarded by mu_
  std::optional<std::chrono::steady_clock::time_point> last_good_;  // guarded by mu_
  std::chrono::steady_clock::time_point last_attempt_{};            // guarded by mu_
  Status last_status_;                                              // guarded by mu_
  bool refresh_requested_ = false;                                  // guarded by mu_
  bool stopping_ = false;                                           // guarded by mu_
  std::mutex refresh_mu_;                                           // one refresh at a time
  std::thread thread_;
};

}  // namespace lookout
