#pragma once
// Fair admission to the span queue (issue 22): when the queue nears its limit, the sender that
// holds the most of it is refused first, so one noisy pod cannot make every other pod's exports
// fail.
//
// The rule. Let Q be the bytes the queue holds, C its capacity and T the bytes of the records
// it holds that were pushed since start-up: the newest R records, R being the queue's record
// count (the queue is FIFO, so exporting removes the oldest; counting records, not bytes, keeps
// this exact whatever framing the queue adds). Below threshold x C, every request is admitted.
// At or above it,
// a request from source S is refused when S already holds at least its fair share, T / n, n
// being the number of sources holding something (S included). A source holding less (a quiet
// pod) is admitted for as long as the queue has room; a single source alone stops at the
// threshold, so the rest of the queue stays free for the others.
//
// The source is the sender's address: pod IPs are per pod. Resource attributes are not used,
// because the sender sets them and could rotate them to escape its share. Pods on the host
// network share the node's address and one share.
//
// Refusals are counted in lookout_trace_spans_refused_by_source_total{source}, for at most
// `max_source_labels` distinct sources; later ones count under source="other".
//
// Thread-safety: all methods may be called from any thread (one mutex).

#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>

#include "agent/common/hash.h"
#include "lookout/metrics/self_metrics.h"
#include "lookout/trace/span_queue.h"

namespace lookout::trace {

struct FairShareOptions {
  double threshold = 0.75;  // fraction of the queue's capacity; 1 turns the rule off
  size_t max_source_labels = 32;
};

class FairShare {
 public:
  FairShare(FairShareOptions options, SelfMetrics& registry);

  // Before pushing `bytes` from `source` into `queue` (its Stats() now): false means refuse it
  // (429 / RESOURCE_EXHAUSTED). Counts the refusal of `spans` spans under the source.
  bool Admit(std::string_view source, uint64_t bytes, uint64_t spans, const SpanQueueStats& queue);
  // After one record of `bytes` from `source` was pushed. Never throws: without memory for the
  // accounting the record is simply not attributed.
  void Pushed(std::string_view source, uint64_t bytes) noexcept;

  // What `source` holds now by this accounting (tests).
  uint64_t held(std::string_view source) const;

 private:
  void Trim(uint64_t queue_records);  // mu_ held

  const FairShareOptions options_;
  Family<::prometheus::Counter>& refused_;
  mutable std::mutex mu_;
  // Consecutive records of one source share an entry, so memory follows the number of
  // alternations between senders, not the number of records.
  struct Pushes {
    std::string source;
    uint64_t bytes;
    uint64_t records;
  };
  std::deque<Pushes> pushes_;  // oldest first; guarded by mu_
  StringMap<uint64_t> held_;   // bytes by source, > 0 only; guarded by mu_
  uint64_t total_ = 0;         // bytes in pushes_; guarded by mu_
  uint64_t records_ = 0;       // records in pushes_; guarded by mu_
  StringMap<bool> labelled_;   // sources with their own refusal label; guarded by mu_
};

}  // namespace lookout::trace
