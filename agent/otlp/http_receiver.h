#pragma once
// OTLP/HTTP receiver (port 4318): POST /v1/metrics with a protobuf or JSON body, optionally
// gzip/deflate-compressed. Answers as the OTLP specification says: 200 with an
// Export*ServiceResponse (partial_success when some points were refused) in the request's
// content type; 400 undecodable; 413 over otlp.max_request_bytes after decompression; 415 an
// unsupported content type; 405 other methods; 404 other paths. Error bodies are a
// google.rpc.Status in the request's encoding.
//
// Thread-safety: Handle() may be called concurrently (the store locks itself).

#include <cstddef>
#include <memory>

#include "agent/server/http_server.h"
#include "lookout/metrics/registry.h"

namespace lookout::otlp {

class OtlpMetricStore;

class OtlpHttpReceiver {
 public:
  // `metrics` may be null (metrics off): /v1/metrics then answers 404.
  // `requests`: lookout_otlp_requests_total{signal,protocol,code}, shared with the gRPC server.
  OtlpHttpReceiver(std::shared_ptr<OtlpMetricStore> metrics, size_t max_request_bytes,
                   Family<Counter>& requests);
  void Handle(const HttpRequest& req, HttpResponse& resp);

 private:
  const std::shared_ptr<OtlpMetricStore> metrics_;
  const size_t max_request_bytes_;
  Family<Counter>& requests_;
};

}  // namespace lookout::otlp
