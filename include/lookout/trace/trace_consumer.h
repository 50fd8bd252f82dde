#pragma once
// TraceConsumer: what the OTLP trace receivers (HTTP and gRPC) hand spans to, as the
// OpenTelemetry Collector's receivers hand them to `consumer.Traces`. The receivers depend on
// this interface only; the agent wires in trace::TracePipeline, tests wire in fakes.
//
// Input is the serialized ExportTraceServiceRequest (opentelemetry.proto.collector.trace.v1),
// protobuf encoding, exactly as it came off the wire (after transport decompression): consumers
// scan the bytes, receivers never parse them into objects.
//
// Thread-safety: implementations must accept calls from any number of threads at once.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace lookout::trace {

// What became of one request. Receivers map it to their protocol's answer, as OTLP specifies.
struct AcceptResult {
  enum class Kind {
    kAccepted,     // HTTP 200 / gRPC OK (rejected_spans > 0 means partial success)
    kBadRequest,   // 400 / INVALID_ARGUMENT: not an ExportTraceServiceRequest
    kFull,         // 429 / RESOURCE_EXHAUSTED with retry_after: try again later
    kTooLarge,     // 413 / RESOURCE_EXHAUSTED without RetryInfo: can never fit the queue
    kUnavailable,  // 503 / UNAVAILABLE with retry_after: the consumer cannot store (disk error)
  };
  Kind kind = Kind::kAccepted;
  std::string message;  // for the error status or partial_success.error_message
  int64_t rejected_spans = 0;
  std::chrono::seconds retry_after{0};
};

class TraceConsumer {
 public:
  virtual ~TraceConsumer() = default;
  // `request`: serialized ExportTraceServiceRequest; `peer_ip`: the client's address ("" if
  // unknown), used to find its pod; `protocol`: "http" or "grpc", a metric label.
  // Nothing counts as accepted until it is stored: a kAccepted answer is a promise.
  virtual AcceptResult Accept(std::string_view request, std::string_view peer_ip,
                              std::string_view protocol) noexcept = 0;
  // A request the receiver refused before Accept (an OTLP/JSON body that does not decode)
  // whose spans could still be counted, so they are counted as received and refused.
  virtual void CountRefused(int64_t spans, std::string_view protocol) noexcept = 0;
};

}  // namespace lookout::trace
