#pragma once
// The SLO engine: every tick it reads the counters the SLOs and the payments name from the
// metric store (scraped app metrics, OTLP metrics, span metrics), turns their increases into
// event counts per group and window, and exposes, per SLO x group x window, the good and total
// event counts (which sum across nodes), the error ratio, the burn rate, the remaining error
// budget and the page / ticket alert state; per provider x method x window, the payment
// counts and ratios. Windows with no events have no ratio: the series is absent, never NaN
// or 0. The names are listed in README ("SLO metrics").
//
// Thread-safety: Tick() runs on the engine's thread (or a test's); Collect() may run on any
// thread at the same time. One mutex guards the state; the metric store is read outside it.

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "agent/slo/event_set.h"
#include "lookout/clock.h"
#include "lookout/metrics/collectable.h"
#include "lookout/metrics/metric_view.h"
#include "lookout/slo/slo_spec.h"

namespace lookout::slo {

// The state file (README "SLO state across restarts"): with a directory, the engine restores
// its windows and counter readings at start-up and saves them every save_interval and at Stop().
struct StateOptions {
  std::string directory;  // "" = off: every start is fresh
  SloDuration save_interval = std::chrono::minutes(1);
  size_t max_bytes = size_t{256} << 20;  // a larger file is refused unread
  std::string node_name;                 // a file written for another node is refused
};

struct EngineOptions {
  SloDuration tick = std::chrono::seconds(10);
  int64_t buckets_per_window = 48;
  size_t max_groups_per_slo = 1000;
  SloDuration series_retention = std::chrono::minutes(15);
  StateOptions state;
};

class SloEngine final : public Collectable {
 public:
  // Throws ConfigError when a spec's windows are not whole ticks, std::runtime_error when the
  // state directory cannot be created or is locked by another process. A state file that cannot
  // be used is not an error: the SLOs it cannot restore start fresh, counted and logged.
  SloEngine(EngineOptions options, std::vector<SloSpec> slos, PaymentsSpec payments,
            std::shared_ptr<MetricViewSource> source, const Clock& clock);
  ~SloEngine() override;  // NOLINT(bugprone-exception-escape): see slo_engine.cc

  // One tick: read the store, update every SLO and the payments.
  void Tick();
  // One tick on a given view (the benchmark measures the update alone with it).
  void Tick(const MetricView& view);
  // Ticks on its own thread every options.tick until Stop().
  void Start();
  // Stops the thread, then saves the state (when a directory is set). Idempotent.
  void Stop();
  // Writes the state file now (tests, Stop(), and every save_interval on the engine's thread).
  // Failures are counted (lookout_slo_state_saves_total{result="error"}) and logged.
  void SaveState();

  void Collect(std::vector<MetricFamily>& out) override;

  size_t slo_count() const { return slos_.size(); }
  // Heap bytes held by the windows and series state (all SLOs and payments).
  size_t HeapBytes() const;

 private:
  // What the state file knows of one event set (an SLO's, or the payments').
  struct Restore {
    uint64_t fingerprint = 0;  // of everything that decides what the set counts, and how
    bool restored = false;
    std::map<std::string, uint64_t> refused;  // reason -> times
  };
  struct Slo {
    SloSpec spec;
    std::unique_ptr<WindowLayout> layout;
    std::unique_ptr<EventSet> events;               // columns: events (good or bad), total
    std::vector<std::pair<int, int>> page, ticket;  // (long, short) window indexes
    Restore state;
  };
  struct Payments {
    PaymentsSpec spec;
    std::unique_ptr<WindowLayout> layout;
    std::unique_ptr<EventSet> events;  // columns: attempts, success, declines, errors
    Restore state;
  };

  int64_t TickNumber() const;
  // The state file: read at construction, written by SaveState().
  void RestoreState();
  std::string EncodeState() const;  // under mu_
  void CollectState(std::vector<MetricFamily>& out) const;
  void CollectSlos(std::vector<MetricFamily>& out) const;
  void CollectPayments(std::vector<MetricFamily>& out) const;
  void CollectSelf(std::vector<MetricFamily>& out) const;

  EngineOptions options_;
  std::shared_ptr<MetricViewSource> source_;
  const Clock& clock_;
  const std::chrono::steady_clock::time_point start_mono_;
  const double start_unix_;
  int64_t tick_base_ = 0;  // the tick number at start: 0, or the restored tick plus the downtime
  std::vector<std::string> series_names_;  // what the SLOs and payments read, for the store

  mutable std::mutex mu_;
  std::vector<Slo> slos_;               // guarded by mu_ (the vector itself is fixed)
  std::unique_ptr<Payments> payments_;  // null when off; guarded by mu_
  uint64_t ticks_ = 0;                  // guarded by mu_
  double last_read_seconds_ = 0;        // guarded by mu_
  double last_update_seconds_ = 0;      // guarded by mu_

  std::unique_ptr<class StateDirectory> state_dir_;  // null when the state file is off
  double state_gap_seconds_ = 0;                     // downtime accounted at start-up
  std::mutex save_mu_;                               // one save at a time
  uint64_t saves_ok_ = 0, saves_failed_ = 0;         // guarded by mu_
  double last_save_seconds_ = 0;                     // guarded by mu_
  size_t state_bytes_ = 0;                           // guarded by mu_
  bool stopped_ = false;                             // guarded by run_mu_

  std::mutex run_mu_;
  std::condition_variable run_cv_;
  bool stopping_ = false;  // guarded by run_mu_
  std::thread thread_;
};

}  // namespace lookout::slo
