#pragma once
// OTLP/HTTP receiver (port 4318): POST /v1/metrics and /v1/traces with a protobuf or JSON body,
// optionally
// gzip/deflate-compressed. Answers as the OTLP specification says: 200 with an
// Export*ServiceResponse (partial_success when some points were refused) in the request's
// content type; 400 undecodable; 413 over otlp.max_request_bytes after decompression; 415 an
// unsupported content type; 405 other methods; 404 other paths; for traces 429 (queue full) or
// 503 (queue unavailable) with Retry-After. Error bodies are a google.rpc.Status in the
// request's encoding.
//
// Thread-safety: Handle() may be called concurrently (the store locks itself).

#include <cstddef>
#include <memory>

#include "agent/otlp/otlp_codec.h"
#include "agent/server/http_server.h"
#include "lookout/metrics/self_metrics.h"
#include "lookout/otlp/metrics_consumer.h"
#include "lookout/trace/trace_consumer.h"

namespace lookout::otlp {

class OtlpHttpReceiver {
 public:
  // `metrics` / `traces` may be null (that signal off): its path then answers 404.
  // `requests`: lookout_otlp_requests_total{signal,protocol,code}, shared with the gRPC server.
  OtlpHttpReceiver(std::shared_ptr<MetricsConsumer> metrics,
                   std::shared_ptr<trace::TraceConsumer> traces, size_t max_request_bytes,
                   Family<::prometheus::Counter>& requests);
  void Handle(const HttpRequest& req, HttpResponse& resp);

 private:
  void HandleTraces(const HttpRequest& req, std::string_view body, Encoding enc,
                    HttpResponse& resp);
  const std::shared_ptr<MetricsConsumer> metrics_;
  const std::shared_ptr<trace::TraceConsumer> traces_;
  const size_t max_request_bytes_;
  Family<::prometheus::Counter>& requests_;
};

}  // namespace lookout::otlp
