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
// the families the SLO engine reads (ShareSome), plus its body's shape (SteadyShape: about
// the body's size less its values; a scrape frees it before learning the next one); the parse
// buffers
// are shared by all targets, at most max_concurrent_scrapes of them, and a target read
// through its shape gives back the one it last used.
//
// Thread-safety: Collect(), CollectCompact(), CollectSome() and ShareSome() may be called from
// any thread, concurrently with the workers. Start()/Stop() from one thread.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "agent/collectors/app/apps_options.h"
#include "agent/collectors/app/exposition_parser.h"
#include "agent/collectors/app/scrape_target.h"
#include "agent/collectors/app/steady_shape.h"
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
  // What a scrape needs of the target's last one: its sample count (to pick a parse buffer of
  // about its size), its result and its body's shape (steady_shape.h).
  struct Last {
    size_t samples = 0;
    std::shared_ptr<const CompactFamilies> families;
    std::shared_ptr<const SteadyShape> shape;
    bool reused_shape = false;  // read through its shape (not parsed whole)
    uint32_t whole_parses = 0;  // scrapes in a row parsed whole before it
  };
  static Last TakeLast(TargetState& st);  // under mu_; moves the shape out
  void RefreshTargetsLocked(std::chrono::steady_clock::time_point now);
  void Worker();
  Outcome Scrape(const ScrapeTarget& t, HttpClient& client, Last last);
  std::vector<MetricFamily> TakeScratch(size_t expected_samples);
  // `owner`: the target (key) whose parse used it last.
  void GiveScratch(std::vector<MetricFamily> buffer, const std::string& owner);
  // Drops the buffers `owner` gave back that are still in the pool, and gives free memory back
  // to the system (TrimIfDue).
  void DropScratchOf(const std::string& owner);
  // malloc_trim when buffers were dropped since the last one, at most every 30 s.
  void TrimIfDue();
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
  struct Scratch {
    size_t samples = 0;
    std::string owner;
    std::vector<MetricFamily> buffer;
  };
  std::mutex scratch_mu_;
  std::vector<Scratch> scratch_;                     // guarded by scratch_mu_
  std::chrono::steady_clock::time_point last_trim_;  // guarded by scratch_mu_
  bool trim_pending_ = false;                        // guarded by scratch_mu_
  std::vector<std::thread> workers_;
};

}  // namespace lookout::app
