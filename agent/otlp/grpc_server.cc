#include "agent/otlp/grpc_server.h"

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <stdexcept>

#include "agent/common/otlp_status.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.grpc.pb.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.grpc.pb.h"

namespace lookout::otlp {

namespace pbm = opentelemetry::proto::collector::metrics::v1;
namespace pbt = opentelemetry::proto::collector::trace::v1;

namespace {
// "ipv4:10.1.2.3:5678" / "ipv6:[::1]:5678" -> the address alone.
std::string PeerIp(const std::string& peer) {
  std::string_view p = peer;
  if (p.starts_with("ipv4:")) {
    p.remove_prefix(5);
    return std::string(p.substr(0, p.rfind(':')));
  }
  if (p.starts_with("ipv6:[")) {
    p.remove_prefix(6);
    std::string ip(p.substr(0, p.find(']')));
    if (ip.starts_with("::ffff:") && ip.find('.') != std::string::npos) ip = ip.substr(7);
    return ip;
  }
  return {};
}
}  // namespace

// Service is the generated synchronous base; WithRawCallbackMethod_Export turns its one method
// into a callback method on grpc::ByteBuffer.
class OtlpGrpcServer::TraceService final
    : public pbt::TraceService::WithRawCallbackMethod_Export<pbt::TraceService::Service> {
 public:
  TraceService(std::shared_ptr<trace::TraceConsumer> consumer,
               Family<::prometheus::Counter>& requests)
      : consumer_(std::move(consumer)), requests_(requests) {}

  grpc::ServerUnaryReactor* Export(grpc::CallbackServerContext* ctx, const grpc::ByteBuffer* req,
                                   grpc::ByteBuffer* resp) override {
    // A message arrives in as many slices as it took HTTP/2 frames; one slice is read in place,
    // more are joined once (a copy, where a typed method would parse and re-serialise).
    std::vector<grpc::Slice> slices;
    std::string joined;
    std::string_view bytes;
    if (!req->Dump(&slices).ok())
      return Finish(ctx, grpc::Status(grpc::StatusCode::INTERNAL, "unreadable request buffer"));
    {
      if (slices.size() == 1) {
        bytes = {reinterpret_cast<const char*>(slices[0].begin()), slices[0].size()};
      } else {
        joined.reserve(req->Length());
        for (const auto& sl : slices)
          joined.append(reinterpret_cast<const char*>(sl.begin()), sl.size());
        bytes = joined;
      }
    }
    const trace::AcceptResult r = consumer_->Accept(bytes, PeerIp(ctx->peer()), "grpc");
    grpc::Status status;
    using Kind = trace::AcceptResult::Kind;
    switch (r.kind) {
      case Kind::kAccepted: {
        pbt::ExportTraceServiceResponse out;
        if (r.rejected_spans > 0) {
          out.mutable_partial_success()->set_rejected_spans(r.rejected_spans);
          out.mutable_partial_success()->set_error_message(r.message);
        }
        // Always a valid buffer, even when empty: gRPC sends no message for an invalid one.
        grpc::Slice body(out.SerializeAsString());
        *resp = grpc::ByteBuffer(&body, 1);
        break;
      }
      case Kind::kBadRequest:
        status = grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, r.message);
        break;
      case Kind::kTooLarge:
        status = grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, r.message);  // no RetryInfo
        break;
      case Kind::kFull:
        status = grpc::Status(
            grpc::StatusCode::RESOURCE_EXHAUSTED, r.message,
            MakeRetryInfoStatus(grpc::StatusCode::RESOURCE_EXHAUSTED, r.message, r.retry_after));
        break;
      case Kind::kUnavailable:
        status = grpc::Status(
            grpc::StatusCode::UNAVAILABLE, r.message,
            MakeRetryInfoStatus(grpc::StatusCode::UNAVAILABLE, r.message, r.retry_after));
        break;
    }
    return Finish(ctx, status);
  }

 private:
  grpc::ServerUnaryReactor* Finish(grpc::CallbackServerContext* ctx, const grpc::Status& status) {
    requests_.WithLabels({"traces", "grpc", CodeName(status.error_code())}).Increment();
    auto* reactor = ctx->DefaultReactor();
    reactor->Finish(status);
    return reactor;
  }
  static const char* CodeName(grpc::StatusCode c) {
    switch (c) {
      case grpc::StatusCode::OK:
        return "OK";
      case grpc::StatusCode::INVALID_ARGUMENT:
        return "INVALID_ARGUMENT";
      case grpc::StatusCode::RESOURCE_EXHAUSTED:
        return "RESOURCE_EXHAUSTED";
      case grpc::StatusCode::UNAVAILABLE:
        return "UNAVAILABLE";
      default:
        return "OTHER";
    }
  }
  const std::shared_ptr<trace::TraceConsumer> consumer_;
  Family<::prometheus::Counter>& requests_;
};

class OtlpGrpcServer::MetricsService final : public pbm::MetricsService::CallbackService {
 public:
  MetricsService(std::shared_ptr<MetricsConsumer> store, Family<::prometheus::Counter>& requests)
      : store_(std::move(store)), requests_(requests) {}

  grpc::ServerUnaryReactor* Export(grpc::CallbackServerContext* ctx,
                                   const pbm::ExportMetricsServiceRequest* req,
                                   pbm::ExportMetricsServiceResponse* resp) override {
    const IngestResult r = store_->Ingest(*req);
    if (r.rejected > 0) {
      resp->mutable_partial_success()->set_rejected_data_points(r.rejected);
      resp->mutable_partial_success()->set_error_message(r.error_message);
    }
    requests_.WithLabels({"metrics", "grpc", "OK"}).Increment();
    auto* reactor = ctx->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

 private:
  const std::shared_ptr<MetricsConsumer> store_;
  Family<::prometheus::Counter>& requests_;
};

OtlpGrpcServer::OtlpGrpcServer(std::string listen_address, size_t max_request_bytes,
                               std::shared_ptr<MetricsConsumer> metrics,
                               std::shared_ptr<trace::TraceConsumer> traces,
                               Family<::prometheus::Counter>& requests)
    : listen_address_(std::move(listen_address)), max_request_bytes_(max_request_bytes) {
  if (metrics) metrics_service_ = std::make_unique<MetricsService>(std::move(metrics), requests);
  if (traces) trace_service_ = std::make_unique<TraceService>(std::move(traces), requests);
}

OtlpGrpcServer::~OtlpGrpcServer() { Stop(0); }

void OtlpGrpcServer::Start() {
  grpc::ServerBuilder builder;
  builder.AddListeningPort(listen_address_, grpc::InsecureServerCredentials(), &port_);
  builder.SetMaxReceiveMessageSize(
      static_cast<int>(std::min<size_t>(max_request_bytes_, INT32_MAX)));
  if (metrics_service_) builder.RegisterService(metrics_service_.get());
  if (trace_service_) builder.RegisterService(trace_service_.get());
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
