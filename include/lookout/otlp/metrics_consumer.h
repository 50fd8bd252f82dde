#pragma once
// MetricsConsumer: what the OTLP metrics receivers (HTTP and gRPC) hand decoded requests to, as
// the OpenTelemetry Collector's receivers hand them to `consumer.Metrics`. The receivers depend
// on this interface only; the agent wires in otlp::OtlpMetricStore.
//
// Unlike traces (forwarded as bytes), metrics are stored as samples, so the receivers decode
// the request (protobuf or OTLP/JSON) into the generated message and pass that.
//
// Thread-safety: implementations must accept calls from any number of threads at once.

#include <cstdint>
#include <string>

namespace opentelemetry::proto::collector::metrics::v1 {
class ExportMetricsServiceRequest;
}

namespace lookout::otlp {

// Maps to ExportMetricsServiceResponse.partial_success when rejected > 0.
struct IngestResult {
  int64_t accepted = 0;  // data points
  int64_t rejected = 0;
  std::string error_message;
};

class MetricsConsumer {
 public:
  virtual ~MetricsConsumer() = default;
  virtual IngestResult Ingest(
      const opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceRequest& req) = 0;
};

}  // namespace lookout::otlp
