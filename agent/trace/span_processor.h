#pragma once
// One OTLP trace request, scanned on the wire (see proto_wire.h): spans are validated, sampled
// and described for span metrics; resources gain their Kubernetes/static attributes; the bytes
// to forward are written without decoding and re-encoding the spans.
//
// Thread-safety: Process is const and may run on many threads at once (scratch is per call).

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "agent/trace/span_metrics.h"
#include "lookout/result.h"

namespace lookout::trace {

class ResourceEnricher;

struct ProcessedRequest {
  // resource_spans fields (field 1 of ExportTraceServiceRequest) to forward: a serialized
  // ExportTraceServiceRequest on its own, and concatenable with others into one.
  std::string forward;
  uint64_t spans = 0;        // in the request
  uint64_t forwarded = 0;    // in `forward`
  uint64_t invalid = 0;      // refused: bad trace/span id (reported as partial success)
  uint64_t sampled_out = 0;  // dropped by head sampling (not an error)
  std::string invalid_reason;
  // For span metrics, recorded only once the request is accepted (a refused request will be
  // retried by the sender and must not count twice). Views into the request body.
  std::vector<SpanFacts> facts;
  std::vector<std::string_view> dimension_values;  // facts[i] owns [i*ndims, (i+1)*ndims)
  std::deque<std::string> owned_text;  // text of non-string dimension values (stable addresses)
};

class SpanProcessor {
 public:
  // `enricher` and `metrics_dimensions` describe what to add and what to look up; either may be
  // empty. sampling_ratio in [0, 1]: spans are kept when their trace ID's random part (the
  // rightmost 56 bits) is at least (1 - ratio) * 2^56, so every agent keeps the same traces.
  SpanProcessor(const ResourceEnricher* enricher, std::vector<std::string> metrics_dimensions,
                double sampling_ratio, bool collect_facts);

  // Errors (reason "protobuf"): the body is not a valid ExportTraceServiceRequest; nothing is
  // forwarded then.
  Status Process(std::string_view request, std::string_view peer_ip, ProcessedRequest& out) const;

  // Whether the span of this trace ID is kept by head sampling.
  bool Sampled(std::string_view trace_id) const;

 private:
  Status ProcessResourceSpans(const std::string_view rs_field, std::string_view rs,
                              std::string_view peer_ip, ProcessedRequest& out) const;

  const ResourceEnricher* enricher_;
  const std::vector<std::string> dimensions_;
  const uint64_t sample_threshold_;  // 0 = keep everything
  const bool keep_all_;
  const bool collect_facts_;
};

// Records the facts of an accepted request.
void RecordSpanMetrics(SpanMetrics& metrics, const ProcessedRequest& req);

}  // namespace lookout::trace
