#pragma once
// The span path shared by the OTLP/HTTP and OTLP/gRPC receivers: scan and enrich the request
// (SpanProcessor), queue the bytes to forward, and only then count its spans into span metrics.
// Nothing is acknowledged before it is in the queue. Near a full queue, senders holding more than
// their share are refused first (fair_share.h).
//
// Thread-safety: Accept may be called from any number of threads.

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "agent/trace/fair_share.h"
#include "agent/trace/resource_enricher.h"
#include "agent/trace/span_metrics.h"
#include "agent/trace/span_processor.h"
#include "lookout/metrics/self_metrics.h"
#include "lookout/trace/span_queue.h"
#include "lookout/trace/trace_consumer.h"

namespace lookout::trace {

class TracePipeline final : public TraceConsumer {
 public:
  // `metrics` may be null (span metrics off).
  TracePipeline(std::unique_ptr<ResourceEnricher> enricher, std::shared_ptr<SpanMetrics> metrics,
                double sampling_ratio, std::chrono::seconds retry_after,
                std::shared_ptr<SpanQueue> queue, SelfMetrics& registry,
                FairShareOptions fair_share = {});

  AcceptResult Accept(std::string_view request, std::string_view peer_ip,
                      std::string_view protocol) noexcept override;
  // Counted as received and refused as "malformed", as Accept counts the protobuf bodies it
  // cannot read.
  void CountRefused(int64_t spans, std::string_view protocol) noexcept override;

 private:
  const std::unique_ptr<ResourceEnricher> enricher_;
  const std::shared_ptr<SpanMetrics> metrics_;
  const SpanProcessor processor_;
  const std::chrono::seconds retry_after_;
  const std::shared_ptr<SpanQueue> queue_;
  Family<::prometheus::Counter>& received_;
  ::prometheus::Counter& accepted_;
  Family<::prometheus::Counter>& refused_;
  ::prometheus::Counter& sampled_out_;
  FairShare fair_share_;
};

}  // namespace lookout::trace
