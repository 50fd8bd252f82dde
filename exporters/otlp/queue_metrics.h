#pragma once
// lookout_trace_queue_* gauges, read from the span queue when /metrics is scraped (so they are
// current even while the exporter sleeps in a backoff).
//
// Thread-safety: Collect from any thread (the queue's Stats is).

#include <memory>
#include <string>

#include "lookout/metrics/collectable.h"
#include "lookout/trace/span_queue.h"

namespace lookout::otlp {

class DiskSpanQueue;

class SpanQueueMetrics final : public Collectable {
 public:
  // `disk` is the same queue when it is disk-backed, else null.
  SpanQueueMetrics(std::shared_ptr<SpanQueue> queue, std::shared_ptr<DiskSpanQueue> disk);
  void Collect(std::vector<MetricFamily>& out) override;

 private:
  const std::shared_ptr<SpanQueue> queue_;
  const std::shared_ptr<DiskSpanQueue> disk_;
};

}  // namespace lookout::otlp
