#include "agent/otlp/grpc_server.h"

#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <chrono>
#include <mutex>
#include <stdexcept>

#include "agent/common/host_port.h"
#include "agent/common/otlp_status.h"
#include "agent/server/accept_guard.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.grpc.pb.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.grpc.pb.h"

namespace lookout::otlp {

namespace pbm = opentelemetry::proto::collector::metrics::v1;
namespace pbt = opentelemetry::proto::collector::trace::v1;

namespace {
// "ipv4:10.1.2.3:5678" / "ipv6:[::1]:5678" -> the address alone.
std::string PeerIp(const std::string& peer) {
  std::string_view ip;
  std::string_view port;
  return SplitPeerUri(peer, &ip, &port) ? std::string(ip) : std::string();
}
}  // namespace

// Service is the generated synchronous base; WithRawCallbackMethod_Export turns its one method
// into a callback method on grpc::ByteBuffer.
class OtlpGrpcServer::TraceService final
    : public pbt::TraceService::WithRawCallbackMethod_Export<pbt::TraceService::Service> {
 public:
  TraceService(std::shared_ptr<trace::TraceConsumer> consumer,
               Family<::prometheus::Counter>& requests, AcceptGuard& guard)
      : consumer_(std::move(consumer)), requests_(requests), guard_(guard) {}

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
    guard_.NoteRequest(ctx->peer());
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
  AcceptGuard& guard_;
};

class OtlpGrpcServer::MetricsService final : public pbm::MetricsService::CallbackService {
 public:
  MetricsService(std::shared_ptr<MetricsConsumer> store, Family<::prometheus::Counter>& requests,
                 AcceptGuard& guard)
      : store_(std::move(store)), requests_(requests), guard_(guard) {}

  grpc::ServerUnaryReactor* Export(grpc::CallbackServerContext* ctx,
                                   const pbm::ExportMetricsServiceRequest* req,
                                   pbm::ExportMetricsServiceResponse* resp) override {
    const IngestResult r = store_->Ingest(*req);
    if (r.rejected > 0) {
      resp->mutable_partial_success()->set_rejected_data_points(r.rejected);
      resp->mutable_partial_success()->set_error_message(r.error_message);
    }
    requests_.WithLabels({"metrics", "grpc", "OK"}).Increment();
    guard_.NoteRequest(ctx->peer());
    auto* reactor = ctx->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

 private:
  const std::shared_ptr<MetricsConsumer> store_;
  Family<::prometheus::Counter>& requests_;
  AcceptGuard& guard_;
};

OtlpGrpcServer::OtlpGrpcServer(boost::asio::io_context& ioc, const OtlpOptions& options,
                               std::shared_ptr<MetricsConsumer> metrics,
                               std::shared_ptr<trace::TraceConsumer> traces,
                               Family<::prometheus::Counter>& requests,
                               std::shared_ptr<SelfMetrics> registry)
    : options_(options) {
  AcceptGuardOptions g;
  g.listen_address = options.grpc_listen_address;
  g.max_connections = static_cast<size_t>(options.max_connections);
  g.max_connections_per_peer = static_cast<size_t>(options.max_connections_per_peer);
  g.first_byte_timeout = options.first_byte_timeout;
  // Connections reach gRPC only while it runs: Start fills the slot, Stop empties it, and a
  // connection handed over when it is empty is closed here (the guard's io threads may outlive
  // this object, so they hold the slot, not `this`).
  guard_ = std::make_unique<AcceptGuard>(
      ioc, g,
      [slot = handoff_](int fd, int listener_fd) {
        std::lock_guard lock(slot->mu);
        if (!slot->acceptor) {
          ::close(fd);
          return;
        }
        grpc::experimental::ExternalConnectionAcceptor::NewConnectionParameters p;
        p.listener_fd = listener_fd;
        p.fd = fd;
        slot->acceptor->HandleNewConnection(&p);
      },
      std::move(registry), "lookout_otlp_grpc");
  if (metrics) {
    metrics_service_ = std::make_unique<MetricsService>(std::move(metrics), requests, *guard_);
  }
  if (traces) trace_service_ = std::make_unique<TraceService>(std::move(traces), requests, *guard_);
}

OtlpGrpcServer::~OtlpGrpcServer() { Stop(0); }

void OtlpGrpcServer::Start() {
  grpc::ServerBuilder builder;
  builder.SetMaxReceiveMessageSize(
      static_cast<int>(std::min<size_t>(options_.max_request_bytes, INT32_MAX)));
  builder.AddChannelArgument(
      GRPC_ARG_MAX_CONNECTION_IDLE_MS,
      static_cast<int>(std::min<int64_t>(options_.idle_timeout.count(), INT32_MAX)));
  builder.AddChannelArgument(
      GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS,
      static_cast<int>(std::min<int64_t>(options_.first_byte_timeout.count(), INT32_MAX)));
  std::shared_ptr<grpc::experimental::ExternalConnectionAcceptor> acceptor =
      builder.experimental().AddExternalConnectionAcceptor(
          grpc::ServerBuilder::experimental_type::ExternalConnectionType::FROM_FD,
          grpc::InsecureServerCredentials());
  if (metrics_service_) builder.RegisterService(metrics_service_.get());
  if (trace_service_) builder.RegisterService(trace_service_.get());
  server_ = builder.BuildAndStart();
  if (!server_) throw std::runtime_error("cannot start the OTLP/gRPC server");
  {
    std::lock_guard lock(handoff_->mu);
    handoff_->acceptor = std::move(acceptor);
  }
  try {
    guard_->Start();
  } catch (const std::exception& e) {
    Stop(0);
    throw std::runtime_error("cannot listen for OTLP/gRPC: " + std::string(e.what()));
  }
  port_ = guard_->port();
}

void OtlpGrpcServer::Stop(int deadline_ms) {
  guard_->Stop();  // no new connections reach gRPC
  {
    std::lock_guard lock(handoff_->mu);
    handoff_->acceptor.reset();
  }
  if (!server_) return;
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::milliseconds(deadline_ms));
  server_->Wait();
  server_.reset();
}

size_t OtlpGrpcServer::open_connections() const { return guard_->connections(); }

}  // namespace lookout::otlp
