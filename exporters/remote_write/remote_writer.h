#pragma once
// RemoteWriter: pushes what the agent's /metrics serves to one Prometheus remote-write
// endpoint (remote write 1.0: snappy-compressed protobuf WriteRequest, its required headers).
//
// Every `interval` a collector thread gathers the families, turns them into series stamped with
// the collection time (a scraped sample keeps its scrape time), adds target_labels
// (job, instance), then the endpoint's external_labels (each where a series has none), applies
// write_relabel_configs and adds a stale marker for each series the previous collection sent and
// this one has not (staleness.h), and queues them as requests of at most max_samples_per_send
// samples (the collection's metadata rides on its first). A sender thread sends the requests in
// order, one at a time: 2xx delivers; 5xx, 429 and transport errors are retried with exponential
// backoff from min_backoff to max_backoff, honouring Retry-After; any other status drops the
// request (counted by reason). The queue (sample_queue.h: memory, or the WAL on disk) drops its
// oldest requests when full (counted, reason queue_full).
//
// One sender per endpoint (no shards): see README "Remote write" for why.
//
// Thread-safety: Start/Stop from one thread.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "agent/common/log.h"
#include "exporters/remote_write/sample_queue.h"
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
};

class RemoteWriter {
 public:
  using Gather = std::function<std::vector<MetricFamily>()>;
  // `queue`: MakeMemorySampleQueue(options.capacity) or a WAL; `clock_ms`: unix milliseconds
  // now (injected for tests).
  RemoteWriter(EndpointOptions options, std::chrono::milliseconds interval, Gather gather,
               std::unique_ptr<HttpClient> client, std::unique_ptr<SampleQueue> queue,
               RemoteWriteMetrics& metrics, std::function<int64_t()> clock_ms);
  ~RemoteWriter();
  void Start();
  // Sends what is queued until `deadline` passes, then stops. A memory queue's rest is dropped
  // (counted, reason shutdown); a WAL keeps it for the next start.
  void Stop(std::chrono::milliseconds deadline);

  // One collection into the queue (the collector thread's step; tests call it directly).
  void CollectOnce();
  // Sends the queue's oldest request, with retries; false when stopping cut it short.
  bool SendOnce();
  size_t pending() const;  // samples queued

 private:
  void CollectLoop();
  void SendLoop();
  std::vector<std::pair<std::string, std::string>> Headers();
  bool Sleep(std::chrono::milliseconds d);
  void Warn(std::string_view msg, const std::string& error);  // rate-limited
  void UpdateQueueGauges();
  enum class Sent { kDone, kEmpty, kStopped };  // delivered or dropped; nothing queued; stopping
  Sent SendOne();

  const EndpointOptions o_;
  const std::chrono::milliseconds interval_;
  const Gather gather_;
  const std::unique_ptr<HttpClient> client_;
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
  ::prometheus::Gauge& shards_;

  StalenessTracker staleness_;  // collector thread only
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;                           // guarded by mu_
  bool has_work_ = false;                           // guarded by mu_: a collection queued since
  std::chrono::steady_clock::time_point deadline_;  // guarded by mu_
  std::string token_;  // bearer token as last read (sender thread only)
  std::chrono::system_clock::time_point token_mtime_{};
  LogRateLimiter log_limit_{std::chrono::seconds(10)};
  std::thread collector_;
  std::thread sender_;
};

}  // namespace lookout::remote_write
