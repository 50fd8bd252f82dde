#pragma once
// OTLP/gRPC receiver (port 4317): MetricsService/Export and TraceService/Export
// (opentelemetry.proto.collector.{metrics,trace}.v1). A full span queue answers
// RESOURCE_EXHAUSTED with RetryInfo; a queue that cannot store answers UNAVAILABLE.
// gRPC runs its own completion-queue threads; messages over otlp.max_request_bytes are refused
// by gRPC itself (RESOURCE_EXHAUSTED); gzip request compression is handled by gRPC.
//
// TraceService/Export is registered as a raw method: its request reaches the TraceConsumer as
// the bytes gRPC received (decompressed), the same bytes OTLP/HTTP hands it, so spans are never
// parsed into objects and serialised again. MetricsService/Export is a typed method: metrics
// are stored as samples, so the request is decoded anyway.
//
// Thread-safety: Start()/Stop() from one thread; the service is called on gRPC's threads.

#include <memory>
#include <string>

#include "lookout/metrics/self_metrics.h"
#include "lookout/otlp/metrics_consumer.h"
#include "lookout/trace/trace_consumer.h"

namespace grpc {
class Server;
}

namespace lookout::otlp {

class OtlpGrpcServer {
 public:
  OtlpGrpcServer(std::string listen_address, size_t max_request_bytes,
                 std::shared_ptr<MetricsConsumer> metrics,
                 std::shared_ptr<trace::TraceConsumer> traces,
                 Family<::prometheus::Counter>& requests);
  ~OtlpGrpcServer();
  // Throws std::runtime_error when the address cannot be bound.
  void Start();
  // Stops accepting; calls in flight get until `deadline_ms` to finish.
  void Stop(int deadline_ms = 2000);
  int port() const { return port_; }

  class MetricsService;  // public so the .cc can define them
  class TraceService;

 private:
  const std::string listen_address_;
  const size_t max_request_bytes_;
  std::unique_ptr<MetricsService> metrics_service_;
  std::unique_ptr<TraceService> trace_service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

}  // namespace lookout::otlp
