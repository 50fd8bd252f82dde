#include "agent/trace/trace_pipeline.h"

namespace lookout::trace {

TracePipeline::TracePipeline(std::unique_ptr<ResourceEnricher> enricher,
                             std::shared_ptr<SpanMetrics> metrics, double sampling_ratio,
                             std::chrono::seconds retry_after, std::shared_ptr<SpanQueue> queue,
                             SelfMetrics& registry, FairShareOptions fair_share)
    : enricher_(std::move(enricher)),
      metrics_(std::move(metrics)),
      processor_(enricher_.get(),
                 metrics_ ? metrics_->options().dimensions : std::vector<std::string>{},
                 sampling_ratio, metrics_ != nullptr),
      retry_after_(retry_after),
      queue_(std::move(queue)),
      received_(
          registry.AddCounter(::prometheus::BuildCounter()
                                  .Name("lookout_trace_spans_received_total")
                                  .Help("Spans in OTLP trace requests received, by protocol."),
                              {"protocol"})),
      accepted_(
          registry
              .AddCounter(
                  ::prometheus::BuildCounter()
                      .Name("lookout_trace_spans_accepted_total")
                      .Help("Spans acknowledged to senders: queued for export (or sampled out)."),
                  {})
              .Get()),
      refused_(registry.AddCounter(::prometheus::BuildCounter()
                                       .Name("lookout_trace_spans_refused_total")
                                       .Help("Spans refused to senders, by reason (queue_full, "
                                             "fair_share, too_large, unavailable, invalid, "
                                             "malformed). queue_full, fair_share and unavailable "
                                             "ones are retried by the sender."),
                                   {"reason"})),
      sampled_out_(
          registry
              .AddCounter(::prometheus::BuildCounter()
                              .Name("lookout_trace_spans_sampled_out_total")
                              .Help("Spans dropped by head sampling (traces.sampling_ratio)."),
                          {})
              .Get()),
      fair_share_(fair_share, registry) {
  // Every reason is exposed at 0 from the start: a series born with its first event hides that
  // event from rate() and increase(), which take a series' first sample as the baseline.
  for (const char* reason :
       {"queue_full", "fair_share", "too_large", "unavailable", "invalid", "malformed"}) {
    refused_.WithLabels({reason});
  }
}

void TracePipeline::CountRefused(int64_t spans, std::string_view protocol) noexcept {
  received_.WithLabels({std::string(protocol)}).Increment(static_cast<double>(spans));
  refused_.WithLabels({"malformed"}).Increment(static_cast<double>(spans));
}

AcceptResult TracePipeline::Accept(std::string_view request, std::string_view peer_ip,
                                   std::string_view protocol) noexcept {
  AcceptResult result;
  try {
    thread_local ProcessedRequest p;
    // Reused per thread, but a rare huge request must not pin its buffers forever.
    if (p.forward.capacity() > (4u << 20)) std::string().swap(p.forward);
    if (p.facts.capacity() > 65536) std::vector<SpanFacts>().swap(p.facts);
    if (Status st = processor_.Process(request, peer_ip, p); !st.ok()) {
      refused_.WithLabels({"malformed"}).Increment();
      result.kind = AcceptResult::Kind::kBadRequest;
      result.message = st.error().detail;
      return result;
    }
    received_.WithLabels({std::string(protocol)}).Increment(static_cast<double>(p.spans));
    if (p.forwarded > 0) {
      const SpanQueueStats q = queue_->Stats();
      // A request larger than the whole queue is the queue's to refuse, for good (too_large).
      if (p.forward.size() <= q.capacity_bytes &&
          !fair_share_.Admit(peer_ip, p.forward.size(), p.spans, q)) {
        refused_.WithLabels({"fair_share"}).Increment(static_cast<double>(p.spans));
        result.kind = AcceptResult::Kind::kFull;
        result.message =
            "the export queue is nearly full and this sender holds more than its "
            "share of it; retry later";
        result.retry_after = retry_after_;
        return result;
      }
      switch (queue_->Push(p.forward, p.forwarded)) {
        case SpanQueue::PushResult::kOk:
          fair_share_.Pushed(peer_ip, p.forward.size());
          break;
        case SpanQueue::PushResult::kFull:
          refused_.WithLabels({"queue_full"}).Increment(static_cast<double>(p.spans));
          result.kind = AcceptResult::Kind::kFull;
          result.message = "the export queue is full; retry later";
          result.retry_after = retry_after_;
          return result;
        case SpanQueue::PushResult::kTooLarge:
          refused_.WithLabels({"too_large"}).Increment(static_cast<double>(p.spans));
          result.kind = AcceptResult::Kind::kTooLarge;
          result.message = "the request is larger than the whole export queue";
          return result;
        case SpanQueue::PushResult::kError:
          refused_.WithLabels({"unavailable"}).Increment(static_cast<double>(p.spans));
          result.kind = AcceptResult::Kind::kUnavailable;
          result.message = "the export queue cannot store spans now";
          result.retry_after = retry_after_;
          return result;
      }
    }
    if (metrics_) RecordSpanMetrics(*metrics_, p);
    accepted_.Increment(static_cast<double>(p.spans - p.invalid));
    sampled_out_.Increment(static_cast<double>(p.sampled_out));
    if (p.invalid > 0) {
      refused_.WithLabels({"invalid"}).Increment(static_cast<double>(p.invalid));
      result.rejected_spans = static_cast<int64_t>(p.invalid);
      result.message = p.invalid_reason;
    }
  } catch (const std::exception& e) {  // bad_alloc: refuse this request, keep serving
    refused_.WithLabels({"unavailable"}).Increment();
    result.kind = AcceptResult::Kind::kUnavailable;
    result.message = e.what();
    result.retry_after = retry_after_;
  }
  return result;
}

}  // namespace lookout::trace
