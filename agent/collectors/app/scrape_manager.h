#pragma once
// ScrapeManager: scrapes application targets (static ones and annotated pods on this node) on
// their own intervals and re-exposes what they served, labelled with the target.
//
// Workers (apps.max_concurrent_scrapes threads, one blocking HTTP client each) take the target
// whose turn is earliest; a target is never scraped twice at once, and at most that many scrapes
// are in flight. Pod targets follow the pod index: a pod that goes away takes its series with
// it at the next /metrics. A failed scrape (down, slow, too large, unparsable) drops that
// target's series, as Prometheus marks them stale, and reports up 0 with a reason.
//
// Memory: each target holds its last result compact (CompactFamilies), plus the expansion of
// the families the SLO engine reads (ShareSome); the parse buffers are shared by all targets,
// at most max_concurrent_scrapes of them.
//
// Thread-safety: Collect(), CollectCompact(), CollectSome() and ShareSome() may be called from
// any thread, concurrently with the workers. Start()/Stop() from one thread.

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "agent/collectors/app/apps_options.h"
#include "agent/collectors/app/exposition_parser.h"
#include "agent/collectors/app/scrape_target.h"
#include "agent/common/log.h"
#include "lookout/http_client.h"
#include "lookout/k8s/pod_index.h"
#include "lookout/metrics/collectable.h"

namespace lookout::app {

using HttpClientFactory = std::function<std::unique_ptr<HttpClient>()>;

class ScrapeManager final : public Collectable {
 public:
  // `pods` may be null (no Kubernetes): only static targets then.
  ScrapeManager(AppsOptions cfg, std::shared_ptr<PodIndex> pods, HttpClientFactory clients);
  ~ScrapeManager() override;

  void Start();
  void Stop();  // waits for scrapes in flight (bounded by their timeouts)

  // The per-target lookout_scrape_* series.
  void Collect(std::vector<MetricFamily>& out) override;
  // Each target's last result, compact and with its target labels (shared, immutable): what
  // /metrics serves. A target holds this between scrapes, about 60 bytes per series with four
  // labels instead of about 490 as Samples (and the expansion ShareSome keeps).
  void CollectCompact(std::vector<std::shared_ptr<const CompactFamilies>>& out) override;
  // Copies of the scraped families `wanted` accepts, with their target labels.
  void CollectSome(const std::function<bool(std::string_view)>& wanted,
                   std::vector<MetricFamily>& out) override;
  // The SLO engine's read: each target's wanted families, expanded once per scrape and shared
  // with every tick after it (copying 20,000 scraped series with their labels every tick was
  // half of a tick: slo_engine_bench BM_TickWithRead).
  void ShareSome(const std::function<bool(std::string_view)>& wanted,
                 std::vector<SharedFamilies>& out) override;

  // Synchronously: refresh targets from config and the pod index, then scrape every target
  // once with `client`. For tests and tools; do not mix with Start().
  void ScrapeAllOnce(HttpClient& client);

  size_t target_count() const;

 private:
  struct TargetState;
  struct Outcome;
  void RefreshTargetsLocked(std::chrono::steady_clock::time_point now);
  void Worker();
  // `expected_samples`: the target's last count, to pick a parse buffer of about its size.
  Outcome Scrape(const ScrapeTarget& t, HttpClient& client, size_t expected_samples);
  std::vector<MetricFamily> TakeScratch(size_t expected_samples);
  void GiveScratch(std::vector<MetricFamily> buffer);
  void Record(TargetState& st, Outcome o);

  const AppsOptions cfg_;
  const ParseLimits limits_;
  const std::shared_ptr<PodIndex> pods_;
  const HttpClientFactory clients_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;                                            // guarded by mu_
  std::map<std::string, std::unique_ptr<TargetState>> targets_;  // by key; guarded by mu_
  std::shared_ptr<const PodSnapshot> seen_snapshot_;             // guarded by mu_
  bool static_loaded_ = false;                                   // guarded by mu_
  std::map<std::string, uint64_t> discovery_skips_;              // by reason; guarded by mu_
  LogRateLimiter log_limit_{std::chrono::minutes(1)};
  // Parse buffers between scrapes (ParseExposition's `recycle`), with their sample counts: at
  // most max_concurrent_scrapes, the smallest dropped first. Each is as large as the last body
  // parsed with it; a scrape takes the largest not much larger than its target's last body.
  std::mutex scratch_mu_;
  std::vector<std::pair<size_t, std::vector<MetricFamily>>> scratch_;  // guarded by scratch_mu_
  std::vector<std::thread> workers_;
};

}  // namespace lookout::app
