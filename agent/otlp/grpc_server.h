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
// Connections: gRPC 1.51 has no connection cap, so an AcceptGuard (agent/server/accept_guard.h)
// owns the listening socket, applies otlp.max_connections, max_connections_per_peer and
// first_byte_timeout, and hands each connection to gRPC's external-connection acceptor. gRPC
// itself closes connections idle for otlp.idle_timeout (grpc.max_connection_idle_ms) and
// those that send no HTTP/2 settings within first_byte_timeout (grpc.server_handshake_timeout_ms).
//
// Thread-safety: Start()/Stop() from one thread; the service is called on gRPC's threads.

#include <memory>
#include <mutex>
#include <string>

#include "agent/otlp/otlp_options.h"
#include "lookout/metrics/self_metrics.h"
#include "lookout/otlp/metrics_consumer.h"
#include "lookout/trace/trace_consumer.h"

namespace grpc {
class Server;
namespace experimental {
class ExternalConnectionAcceptor;
}
}  // namespace grpc
namespace boost::asio {
class io_context;
}

namespace lookout {
class AcceptGuard;
}

namespace lookout::otlp {

class OtlpGrpcServer {
 public:
  // `options`: grpc_listen_address, max_request_bytes and the connection limits. The guard
  // accepts on `ioc`; its metrics are lookout_otlp_grpc_connections* in `registry`.
  OtlpGrpcServer(boost::asio::io_context& ioc, const OtlpOptions& options,
                 std::shared_ptr<MetricsConsumer> metrics,
                 std::shared_ptr<trace::TraceConsumer> traces,
                 Family<::prometheus::Counter>& requests, std::shared_ptr<SelfMetrics> registry);
  ~OtlpGrpcServer();
  // Throws std::runtime_error when the address cannot be bound.
  void Start();
  // Stops accepting; calls in flight get until `deadline_ms` to finish.
  void Stop(int deadline_ms = 2000);
  int port() const { return port_; }
  size_t open_connections() const;

  class MetricsService;  // public so the .cc can define them
  class TraceService;

 private:
  const OtlpOptions options_;
  // gRPC's acceptor for the guard's connections, while the server runs.
  struct HandoffSlot {
    std::mutex mu;
    std::shared_ptr<grpc::experimental::ExternalConnectionAcceptor> acceptor;  // guarded by mu
  };
  const std::shared_ptr<HandoffSlot> handoff_ = std::make_shared<HandoffSlot>();
  std::unique_ptr<AcceptGuard> guard_;  // before the services, which report requests to it
  std::unique_ptr<MetricsService> metrics_service_;
  std::unique_ptr<TraceService> trace_service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

}  // namespace lookout::otlp
