#pragma once
// SpanSender: delivers one batch (a serialized ExportTraceServiceRequest, maybe gzipped already)
// to the trace backend (Jaeger's OTLP endpoint) and says what happened, classified as the OTLP
// specification says, so the exporter knows whether to retry. Behind an interface so tests can
// answer without a network.
//
// Thread-safety: one exporter thread calls Send at a time.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "lookout/trace/span_queue.h"

namespace lookout {

struct SendResult {
  enum class Kind {
    kOk,         // delivered (maybe with some spans rejected: partial success, not retried)
    kRetryable,  // HTTP 429/502/503/504, a dropped connection, gRPC UNAVAILABLE, ...
    kPermanent,  // anything else: the batch is dropped and counted
  };
  Kind kind = Kind::kOk;
  std::string reason;  // for metrics: "http_503", "grpc_unavailable", "connect", ...
  std::string message;
  std::optional<std::chrono::milliseconds> retry_after;  // Retry-After / RetryInfo
  int64_t rejected_spans = 0;                            // partial_success
};

class SpanSender {
 public:
  virtual ~SpanSender() = default;
  virtual SendResult Send(const SpanBatch& batch) noexcept = 0;
};

}  // namespace lookout
