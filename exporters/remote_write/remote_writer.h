#pragma once
// RemoteWriter: pushes what the agent's /metrics serves to one Prometheus remote-write
// endpoint (remote write 1.0: snappy-compressed protobuf WriteRequest, its required headers).
//
// Every `interval` a collector thread gathers the families, turns them into series stamped with
// the collection time (a scraped sample keeps its scrape time), adds target_labels
// (job, instance), then the endpoint's external_labels (each where a series has none), applies
// write_relabel_configs and adds a stale marker for each series the previous collection sent and
// this one has not (staleness.h), and queues them as requests of at most max_samples_per_send
// samples (the collection's metadata rides on its first). The queue (sample_queue.h: memory,
// or the WAL on disk) drops its oldest requests when full (counted, reason queue_full).
//
// Shards: up to `shards` requests are in flight at once, each on its own connection (the
// sender thread and shards - 1 helper threads, each with its own HttpClient). Requests of one
// collection hold distinct series, so they go out together; a later collection's requests start
// only once every earlier one is done, so each series reaches the receiver in order, as
// Prometheus's hash-partitioned shards guarantee. The shard count starts at min_shards and
// follows throughput between min_shards and max_shards (shard_sizer.h, Prometheus's formula),
// changing only between requests (nothing in flight: Prometheus's flush on reshard).
//
// Each request: 2xx delivers; 5xx, 429 and transport errors are retried with exponential
// backoff from min_backoff to max_backoff, honouring Retry-After; any other status drops the
// request (counted by reason).
//
// Thread-safety: Start/Stop from one thread.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "agent/common/log.h"
#include "exporters/remote_write/sample_queue.h"
#include "exporters/remote_write/shard_sizer.h"
#include "exporters/remote_write/staleness.h"
#include "exporters/remote_write/write_request.h"
#include "lookout/http_client.h"
#include "lookout/metrics/relabel.h"
#include "lookout/metrics/self_metrics.h"

namespace lookout::remote_write {

struct EndpointOptions {
  std::string url;
  std::string name;  // remote_name label; "" = the URL's host:port
  std::string user_agent = "lookout";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string bearer_token_file;  // read again when it changes
  std::string basic_auth_username;
  std::string basic_auth_password_file;
  TlsClientOptions tls;
  Labels target_labels;  // job, instance: added first, where a series has none
  Labels external_labels;
  Relabeler write_relabel_configs;
  bool send_exemplars = false;
  bool send_metadata = true;
  std::chrono::milliseconds remote_timeout{30000};
  // queue_config
  size_t capacity = 100000;  // samples waiting to be sent, at most (memory queue)
  size_t max_samples_per_send = 500;
  std::chrono::milliseconds min_backoff{30};
  std::chrono::milliseconds max_backoff{5000};
  int min_shards = 1;
  int max_shards = 200;  // Prometheus 2.42's default
  // Prometheus flushes a partial batch after it; a collection here is queued whole, so it only
  // bounds resharding: no change while nothing was delivered for 2 x max(it, interval).
  std::chrono::milliseconds batch_send_deadline{5000};
};

// The self-metrics every endpoint shares, labelled {remote_name, url}: Prometheus's
// prometheus_remote_storage_* under lookout_remote_write_*.
struct RemoteWriteMetrics {
  explicit RemoteWriteMetrics(SelfMetrics& registry);
  Family<::prometheus::Counter>& samples_total;
  Family<::prometheus::Counter>& samples_failed_total;
  Family<::prometheus::Counter>& samples_retried_total;
  Family<::prometheus::Counter>& samples_dropped_total;  // + reason
  Family<::prometheus::Counter>& exemplars_total;
  Family<::prometheus::Counter>& bytes_total;
  Family<::prometheus::Gauge>& samples_pending;
  Family<::prometheus::Gauge>& queue_bytes;
  Family<::prometheus::Gauge>& highest_sent_timestamp_seconds;
  Family<::prometheus::Gauge>& shards;
  Family<::prometheus::Gauge>& shards_desired;
  Family<::prometheus::Gauge>& shards_min;
  Family<::prometheus::Gauge>& shards_max;
};

class RemoteWriter {
 public:
  using Gather = std::function<std::vector<MetricFamily>()>;
  using ClientFactory = std::function<std::unique_ptr<HttpClient>()>;
  // `make_client`: one client per shard; `queue`: MakeMemorySampleQueue(options.capacity) or a
  // WAL; `clock_ms`: unix milliseconds now (injected for tests).
  RemoteWriter(EndpointOptions options, std::chrono::milliseconds interval, Gather gather,
               ClientFactory make_client, std::unique_ptr<SampleQueue> queue,
               RemoteWriteMetrics& metrics, std::function<int64_t()> clock_ms);
  ~RemoteWriter();
  void Start();
  // Sends what is queued until `deadline` passes, then stops. A memory queue's rest is dropped
  // (counted, reason shutdown); a WAL keeps it for the next start.
  void Stop(std::chrono::milliseconds deadline);

  // One collection into the queue (the collector thread's step; tests call it directly).
  void CollectOnce();
  // Sends the oldest requests (up to `shards` at once), with retries; false when stopping cut
  // it short. The sender thread's step; tests call it directly.
  bool SendOnce();
  // The resharding step (every ShardSizer::kUpdateInterval on the sender thread, between
  // Takes; tests call it directly), `elapsed` since the previous one: returns the shard count
  // from now on.
  int UpdateShards(std::chrono::nanoseconds elapsed = ShardSizer::kUpdateInterval);
  size_t pending() const;  // samples queued
  int shards() const;

 private:
  enum class Outcome { kPending, kDelivered, kDropped, kStopped };
  enum class Sent { kDone, kEmpty, kStopped };  // delivered or dropped; nothing queued; stopping
  void CollectLoop();
  void SendLoop();
  void HelperLoop(int id);
  uint32_t NextLanes(uint64_t samples);  // the lane count for a collection (collector thread)
  // Starts requests of the current Take until none is left to start (the sender, id 0, and
  // each helper while id < shards).
  void Work(int id, HttpClient& client);
  // The next requests that may start now, as one (mu_ held): empty when none may.
  std::vector<size_t> PickLocked();
  // Whether `later` may be in flight with `earlier` unfinished: no series in both (mu_ held).
  bool MayOverlapLocked(const QueuedRequest& earlier, const QueuedRequest& later) const;
  Outcome SendRequest(HttpClient& client, const QueuedRequest& r);
  std::vector<std::pair<std::string, std::string>> Headers();
  bool Sleep(std::chrono::milliseconds d);
  bool PastDeadlineLocked() const;  // stopping and the deadline passed (mu_ held)
  void Warn(std::string_view msg, const std::string& error);  // rate-limited
  void UpdateQueueGauges();
  Sent SendBatch();

  const EndpointOptions o_;
  const std::chrono::milliseconds interval_;
  const Gather gather_;
  const ClientFactory make_client_;
  const std::unique_ptr<SampleQueue> queue_;
  const std::function<int64_t()> clock_ms_;
  const std::string name_;
  ::prometheus::Counter& sent_;
  ::prometheus::Counter& failed_;
  ::prometheus::Counter& retried_;
  Family<::prometheus::Counter>& dropped_;
  ::prometheus::Counter& exemplars_;
  ::prometheus::Counter& bytes_;
  ::prometheus::Gauge& pending_gauge_;
  ::prometheus::Gauge& queue_bytes_;
  ::prometheus::Gauge& highest_;
  ::prometheus::Gauge& shards_gauge_;
  ::prometheus::Gauge& shards_desired_;

  StalenessTracker staleness_;    // collector thread only
  uint64_t last_collection_ = 0;  // collector thread only: the last QueuedRequest::collection
  ShardSizer sizer_;
  std::unique_ptr<HttpClient> client_;  // the sender thread's
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;                           // guarded by mu_
  bool has_work_ = false;                           // guarded by mu_: a collection queued since
  std::chrono::steady_clock::time_point deadline_;  // guarded by mu_
  int shards_;                                      // guarded by mu_
  // Guarded by mu_: the shards that could start, once the system refused a thread.
  int thread_cap_ = std::numeric_limits<int>::max();
  // The Take being sent, guarded by mu_: each request's outcome and whether it started.
  const std::vector<QueuedRequest>* batch_ = nullptr;
  std::vector<Outcome> outcomes_;
  std::vector<bool> started_;
  size_t first_unstarted_ = 0, first_unfinished_ = 0, running_ = 0;
  std::vector<bool> worked_;    // the shards that sent a request of this Take
  bool stop_starting_ = false;  // stopping: the rest stays queued
  // This run's first collection (guarded by mu_): lanes are comparable only within a run (a
  // WAL's older requests are each ordered after everything before them).
  uint64_t run_first_collection_ = UINT64_MAX;
  uint32_t lanes_ = 0;                // collector thread only
  uint64_t last_samples_ = 0;         // collector thread only: the previous collection's samples
  bool helpers_exit_ = false;         // guarded by mu_
  std::vector<std::thread> helpers_;  // sender thread (and Stop, after it ended)
  int64_t newest_queued_ms_ = 0;      // guarded by mu_
  int64_t newest_sent_ms_ = 0;        // guarded by mu_
  std::chrono::steady_clock::time_point last_delivery_{};  // guarded by mu_
  std::mutex token_mu_;
  std::string token_;  // bearer token as last read, guarded by token_mu_
  std::chrono::system_clock::time_point token_mtime_{};  // guarded by token_mu_
  LogRateLimiter log_limit_{std::chrono::seconds(10)};
  std::thread collector_;
  std::thread sender_;
};

}  // namespace lookout::remote_write
