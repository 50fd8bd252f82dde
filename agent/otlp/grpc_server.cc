#include "agent/otlp/grpc_server.h"

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <stdexcept>

#include "agent/otlp/metric_store.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.grpc.pb.h"

namespace lookout::otlp {

namespace pbm = opentelemetry::proto::collector::metrics::v1;

class OtlpGrpcServer::MetricsService final : public pbm::MetricsService::CallbackService {
 public:
  MetricsService(std::shared_ptr<OtlpMetricStore> store, Family<Counter>& requests)
      : store_(std::move(store)), requests_(requests) {}

  grpc::ServerUnaryReactor* Export(grpc::CallbackServerContext* ctx,
                                   const pbm::ExportMetricsServiceRequest* req,
                                   pbm::ExportMetricsServiceResponse* resp) override {
    const IngestResult r = store_->Ingest(*req);
    if (r.rejected > 0) {
      resp->mutable_partial_success()->set_rejected_data_points(r.rejected);
      resp->mutable_partial_success()->set_error_message(r.error_message);
    }
    requests_.WithLabels({"metrics", "grpc", "OK"}).Inc();
    auto* reactor = ctx->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

 private:
  const std::shared_ptr<OtlpMetricStore> store_;
  Family<Counter>& requests_;
};

OtlpGrpcServer::OtlpGrpcServer(std::string listen_address, size_t max_request_bytes,
                               std::shared_ptr<OtlpMetricStore> metrics, Family<Counter>& requests)
    : listen_address_(std::move(listen_address)), max_request_bytes_(max_request_bytes) {
  if (metrics) metrics_service_ = std::make_unique<MetricsService>(std::move(metrics), requests);
}

OtlpGrpcServer::~OtlpGrpcServer() { Stop(0); }

void OtlpGrpcServer::Start() {
  grpc::ServerBuilder builder;
  builder.AddListeningPort(listen_address_, grpc::InsecureServerCredentials(), &port_);
  builder.SetMaxReceiveMessageSize(
      static_cast<int>(std::min<size_t>(max_request_bytes_, INT32_MAX)));
  if (metrics_service_) builder.RegisterService(metrics_service_.get());
  server_ = builder.BuildAndStart();
  if (!server_ || port_ == 0) {
    server_.reset();
    throw std::runtime_error("cannot listen for OTLP/gRPC on " + listen_address_);
  }
}

void OtlpGrpcServer::Stop(int deadline_ms) {
  if (!server_) return;
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::milliseconds(deadline_ms));
  server_->Wait();
  server_.reset();
}

}  // namespace lookout::otlp
