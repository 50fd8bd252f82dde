#include "exporters/otlp/queue_metrics.h"

#include "exporters/otlp/disk_queue.h"

namespace lookout::otlp {

SpanQueueMetrics::SpanQueueMetrics(std::shared_ptr<SpanQueue> queue,
                                   std::shared_ptr<DiskSpanQueue> disk)
    : queue_(std::move(queue)), disk_(std::move(disk)) {}

void SpanQueueMetrics::Collect(std::vector<MetricFamily>& out) {
  const SpanQueueStats s = queue_->Stats();
  const Labels where = {{"queue", disk_ ? "disk" : "memory"}};
  auto gauge = [&](std::string name, std::string help, double v, std::string unit = "") {
    MetricFamily f{std::move(name), std::move(help), MetricType::kGauge, std::move(unit), {}};
    Sample& x = f.samples.emplace_back();
    x.labels = where;
    x.value = v;
    out.push_back(std::move(f));
  };
  gauge("lookout_trace_queue_spans", "Spans accepted and waiting to be exported.",
        static_cast<double>(s.spans));
  gauge("lookout_trace_queue_bytes", "Bytes of queued spans (in memory or on disk).",
        static_cast<double>(s.bytes), "bytes");
  gauge("lookout_trace_queue_stored_bytes",
        "Bytes the queue holds: lookout_trace_queue_bytes as stored, gzip-compressed in a memory "
        "queue when traces.export.compression is gzip.",
        static_cast<double>(s.stored_bytes), "bytes");
  gauge("lookout_trace_queue_capacity_bytes",
        "The queue's size limit; beyond it senders get 429 / RESOURCE_EXHAUSTED.",
        static_cast<double>(s.capacity_bytes), "bytes");
  if (disk_) {
    MetricFamily f{"lookout_trace_queue_corrupt_records_total",
                   "Records of the disk queue found corrupt when read back and skipped.",
                   MetricType::kCounter,
                   "",
                   {}};
    Sample& x = f.samples.emplace_back();
    x.labels = where;
    x.value = static_cast<double>(disk_->corrupt_records());
    out.push_back(std::move(f));
  }
}

}  // namespace lookout::otlp
