#pragma once
// SpanExporter: one thread that drains the span queue into the backend. Batches by size
// (max_batch_spans / max_batch_bytes) and time (batch_timeout); retries what the sender calls
// retryable with exponential backoff and jitter, honouring Retry-After / RetryInfo; drops (and
// counts, by reason) what is permanent. A batch leaves the queue only once it was delivered or
// given up on, so a disk-backed queue keeps undelivered spans across restarts.
//
// Thread-safety: Start/Stop from one thread.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <random>
#include <thread>

#include "lookout/metrics/self_metrics.h"
#include "lookout/trace/span_queue.h"
#include "lookout/trace/span_sender.h"

namespace lookout::otlp {

struct SpanExporterOptions {
  uint64_t max_batch_spans = 8192;
  size_t max_batch_bytes = 4 << 20;
  std::chrono::milliseconds batch_timeout{200};
  std::chrono::milliseconds initial_backoff{1000};
  std::chrono::milliseconds max_backoff{30000};
  double backoff_multiplier = 2;
  double jitter = 0.5;  // each wait is drawn from [1 - jitter, 1 + jitter] x the backoff
  // Give a batch up after retrying this long; 0 = never (it waits in the queue; when the queue
  // fills, receivers answer 429 so senders keep their spans).
  std::chrono::milliseconds max_elapsed{0};
};

class SpanExporter {
 public:
  SpanExporter(SpanExporterOptions options, std::shared_ptr<SpanQueue> queue,
               std::unique_ptr<SpanSender> sender, SelfMetrics& registry);
  ~SpanExporter();
  void Start();
  // Delivers what is queued until `deadline` passes, then stops. Spans still in a memory queue
  // are dropped and counted (reason "shutdown"); a disk queue keeps them for the next start.
  void Stop(std::chrono::milliseconds deadline);

 private:
  enum class Outcome { kDelivered, kDropped, kAborted };
  void Run();
  Outcome Deliver(const SpanBatch& batch);
  // Sleeps `d`, or less when Stop's deadline comes first; false when the deadline passed.
  bool Sleep(std::chrono::milliseconds d);
  bool PastDeadline() const;

  const SpanExporterOptions o_;
  const std::shared_ptr<SpanQueue> queue_;
  const std::unique_ptr<SpanSender> sender_;
  ::prometheus::Counter& exported_;
  Family<::prometheus::Counter>& dropped_;
  Family<::prometheus::Counter>& failures_;
  ::prometheus::Counter& retries_;
  Family<::prometheus::Counter>& requests_;
  ::prometheus::Histogram& duration_;
  std::mt19937_64 rng_{std::random_device{}()};
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // guarded by mu_
  std::chrono::steady_clock::time_point deadline_;
};

}  // namespace lookout::otlp
