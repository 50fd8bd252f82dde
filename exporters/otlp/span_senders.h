#pragma once
// The two ways to deliver spans to Jaeger (or any OTLP backend): OTLP/gRPC (TraceService/Export)
// and OTLP/HTTP protobuf (POST /v1/traces via libcurl). Both send the queued bytes as they are;
// a batch the memory queue gzipped already is sent compressed as it is, any other is gzipped here
// when `gzip` is set.
//
// Thread-safety: one caller at a time (the exporter thread).

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "lookout/http_client.h"
#include "lookout/trace/span_sender.h"

namespace lookout::otlp {

struct SenderOptions {
  // grpc: host:port (dns:///host:port works too); http: the full URL of /v1/traces.
  std::string endpoint;
  std::vector<std::pair<std::string, std::string>> headers;  // e.g. authorization
  bool gzip = true;
  std::chrono::milliseconds timeout{10000};
  // TLS. grpc: on when `tls` is set (system roots unless ca_file); http: by the URL's scheme.
  bool tls = false;
  TlsClientOptions tls_options;
};

// `client` carries the TLS settings; the sender owns it.
std::unique_ptr<SpanSender> MakeHttpSpanSender(SenderOptions options,
                                               std::unique_ptr<HttpClient> client);
std::unique_ptr<SpanSender> MakeGrpcSpanSender(SenderOptions options);

// Classification of an HTTP answer / transport error, as the OTLP specification says (exposed
// for tests): 429, 502, 503, 504 and dropped connections are retryable.
SendResult ClassifyHttp(long status, std::string_view body,
                        std::optional<std::chrono::seconds> retry_after);
SendResult ClassifyTransportError(const std::string& reason, const std::string& detail);
// gRPC: UNAVAILABLE, DEADLINE_EXCEEDED, CANCELLED, ABORTED, OUT_OF_RANGE, DATA_LOSS are
// retryable; RESOURCE_EXHAUSTED only with RetryInfo in the status details.
SendResult ClassifyGrpc(int code, const std::string& message, const std::string& details,
                        std::string_view response);

}  // namespace lookout::otlp
