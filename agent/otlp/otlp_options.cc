#include "agent/otlp/otlp_options.h"

namespace lookout {

const OptionTable<OtlpOptions>& OtlpOptionTable() {
  using O = OtlpOptions;
  static const OptionTable<O> kTable{{
      option::Bool<O>("http.enabled", &O::http_enabled, "true",
                      "OTLP/HTTP receiver: `POST /v1/metrics` and `/v1/traces` (protobuf or JSON, "
                      "gzip)"),
      option::ListenAddress<O>("http.listen_address", &O::http_listen_address, "0.0.0.0:4318",
                               "host:port of the OTLP/HTTP receiver"),
      option::Bool<O>("grpc.enabled", &O::grpc_enabled, "true",
                      "OTLP/gRPC receiver: MetricsService/Export and TraceService/Export"),
      option::ListenAddress<O>("grpc.listen_address", &O::grpc_listen_address, "0.0.0.0:4317",
                               "host:port of the OTLP/gRPC receiver"),
      option::Int<O>("max_request_bytes", &O::max_request_bytes, 1024, int64_t{1} << 31, "67108864",
                     "request size after decompression (413 / RESOURCE_EXHAUSTED beyond)"),
      option::Int<O>("max_connections", &O::max_connections, 1, 1'000'000, "256",
                     "open connections per OTLP listener (HTTP and gRPC each); a newcomer beyond "
                     "it evicts the longest-idle connection of the client holding the most"),
      option::Int<O>("max_connections_per_peer", &O::max_connections_per_peer, 0, 1'000'000, "64",
                     "open connections per client address and listener; beyond it the client's "
                     "own longest-idle one is evicted (0: no cap)"),
      option::Dur<O>("first_byte_timeout", &O::first_byte_timeout, Duration(100),
                     Duration(3'600'000), "5s",
                     "a new connection that sends no byte within this is closed"),
      option::Dur<O>("idle_timeout", &O::idle_timeout, Duration(1000), Duration(86'400'000), "120s",
                     "a connection with no request for this long is closed (gRPC: "
                     "max_connection_idle, with GOAWAY)"),
      option::Bool<O>("metrics.enabled", &O::metrics_enabled, "true",
                      "keep pushed metrics and re-expose them on /metrics (Prometheus names)"),
      option::Dur<O>("metrics.series_ttl", &O::metrics_series_ttl, Duration(1000),
                     Duration(7 * 86'400'000LL), "5m",
                     "a series not pushed for this long disappears"),
      option::Int<O>("metrics.max_series", &O::metrics_max_series, 1, int64_t{1} << 32, "200000",
                     "new series beyond this are refused (`partial_success`, "
                     "`reason=\"series_limit\"`)"),
  }};
  return kTable;
}

}  // namespace lookout
