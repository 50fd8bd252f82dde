#include "exporters/otlp/span_senders.h"

#include <grpcpp/grpcpp.h>

#include <fstream>
#include <sstream>

#include "agent/common/compression.h"
#include "agent/common/grpc_unary.h"
#include "agent/common/otlp_status.h"

namespace lookout::otlp {
namespace {

SendResult Ok(std::string_view response) {
  SendResult r;
  const PartialSuccess p = ParsePartialSuccess(response);
  r.rejected_spans = p.rejected_spans;
  r.message = p.error_message;
  return r;
}

SendResult Failure(SendResult::Kind kind, std::string reason, std::string message) {
  SendResult r;
  r.kind = kind;
  r.reason = std::move(reason);
  r.message = std::move(message);
  return r;
}

class HttpSpanSender final : public SpanSender {
 public:
  HttpSpanSender(SenderOptions o, std::unique_ptr<HttpClient> client)
      : o_(std::move(o)), client_(std::move(client)) {}

  SendResult Send(const SpanBatch& batch) noexcept override {
    HttpClientRequest req;
    req.method = "POST";
    req.url = o_.endpoint;
    req.timeout = o_.timeout;
    req.max_response_bytes = 1 << 20;
    req.headers = o_.headers;
    req.headers.emplace_back("Content-Type", "application/x-protobuf");
    if (batch.gzip) {
      req.body = batch.payload;
      req.headers.emplace_back("Content-Encoding", "gzip");
    } else if (o_.gzip) {
      auto z = Gzip(batch.payload, 1);
      if (!z.ok()) return Failure(SendResult::Kind::kPermanent, "gzip", z.error().detail);
      req.body = std::move(z).value();
      req.headers.emplace_back("Content-Encoding", "gzip");
    } else {
      req.body = batch.payload;
    }
    auto r = client_->Do(req);
    if (!r.ok()) return ClassifyTransportError(r.error().reason, r.error().detail);
    return ClassifyHttp(r->status, r->body, r->retry_after);
  }

 private:
  const SenderOptions o_;
  const std::unique_ptr<HttpClient> client_;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class GrpcSpanSender final : public SpanSender {
 public:
  explicit GrpcSpanSender(SenderOptions o) : o_(std::move(o)) {
    std::shared_ptr<grpc::ChannelCredentials> creds;
    if (o_.tls) {
      grpc::SslCredentialsOptions ssl;
      if (!o_.tls_options.ca_file.empty()) ssl.pem_root_certs = ReadFile(o_.tls_options.ca_file);
      if (!o_.tls_options.cert_file.empty()) {
        ssl.pem_cert_chain = ReadFile(o_.tls_options.cert_file);
        ssl.pem_private_key = ReadFile(o_.tls_options.key_file);
      }
      creds = grpc::SslCredentials(ssl);
    } else {
      creds = grpc::InsecureChannelCredentials();
    }
    grpc::ChannelArguments args;
    args.SetMaxSendMessageSize(-1);
    args.SetMaxReceiveMessageSize(4 << 20);
    // gRPC's own retries would hide failures from our counters and double our backoff.
    args.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);
    // Reconnect quickly once Jaeger is back (gRPC's default backoff grows to 120 s).
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 5000);
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 500);
    channel_ = grpc::CreateCustomChannel(o_.endpoint, creds, args);
    stub_ = std::make_unique<grpc::GenericStub>(channel_);
  }

  SendResult Send(const SpanBatch& batch) noexcept override {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + o_.timeout);
    // Fail fast while Jaeger is down (UNAVAILABLE), instead of waiting out the deadline.
    ctx.set_wait_for_ready(false);
    for (const auto& [k, v] : o_.headers) ctx.AddMetadata(Lower(k), v);
    std::string body;
    grpc::Status status;
    if (batch.gzip) {
      // Gzipped by the memory queue (one member: gRPC's C core inflates exactly one).
      status = BlockingUnaryCall(*stub_, ctx, kOtlpTraceExportMethod, batch.payload, &body, true);
    } else if (o_.gzip) {
      // The whole batch, once, by libdeflate: gRPC's own gzip is zlib at level 6, 3.6-5.4x the
      // CPU per span (compression_bench).
      auto z = Gzip(batch.payload, 1);
      if (!z.ok()) return Failure(SendResult::Kind::kPermanent, "gzip", z.error().detail);
      status = BlockingUnaryCall(*stub_, ctx, kOtlpTraceExportMethod, *z, &body, true);
    } else {
      status = BlockingUnaryCall(*stub_, ctx, kOtlpTraceExportMethod, batch.payload, &body);
    }
    return ClassifyGrpc(status.error_code(), status.error_message(), status.error_details(), body);
  }

 private:
  static std::string Lower(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  }
  const SenderOptions o_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<grpc::GenericStub> stub_;
};

std::string GrpcCodeName(int code) {
  static const char* const kNames[] = {"ok",
                                       "cancelled",
                                       "unknown",
                                       "invalid_argument",
                                       "deadline_exceeded",
                                       "not_found",
                                       "already_exists",
                                       "permission_denied",
                                       "resource_exhausted",
                                       "failed_precondition",
                                       "aborted",
                                       "out_of_range",
                                       "unimplemented",
                                       "internal",
                                       "unavailable",
                                       "data_loss",
                                       "unauthenticated"};
  return std::string("grpc_") + (code >= 0 && code <= 16 ? kNames[code] : "unknown");
}

}  // namespace

SendResult ClassifyHttp(long status, std::string_view body,
                        std::optional<std::chrono::seconds> retry_after) {
  if (status >= 200 && status < 300) return Ok(body);
  const std::string reason = "http_" + std::to_string(status);
  if (status == 429 || status == 502 || status == 503 || status == 504) {
    SendResult r = Failure(SendResult::Kind::kRetryable, reason, std::string(body.substr(0, 256)));
    if (retry_after) r.retry_after = *retry_after;
    return r;
  }
  return Failure(SendResult::Kind::kPermanent, reason, std::string(body.substr(0, 256)));
}

SendResult ClassifyTransportError(const std::string& reason, const std::string& detail) {
  // A bad URL never gets better; everything else (refused, reset, timeout, DNS, TLS
  // handshake) is the backend being away, which the specification says to retry.
  const bool permanent = reason == "request";
  return Failure(permanent ? SendResult::Kind::kPermanent : SendResult::Kind::kRetryable, reason,
                 detail);
}

SendResult ClassifyGrpc(int code, const std::string& message, const std::string& details,
                        std::string_view response) {
  if (code == 0) return Ok(response);
  SendResult r = Failure(SendResult::Kind::kPermanent, GrpcCodeName(code), message);
  r.retry_after = ParseRetryInfo(details);
  switch (code) {
    case 1:   // CANCELLED
    case 4:   // DEADLINE_EXCEEDED
    case 10:  // ABORTED
    case 11:  // OUT_OF_RANGE
    case 14:  // UNAVAILABLE
    case 15:  // DATA_LOSS
      r.kind = SendResult::Kind::kRetryable;
      break;
    case 8:  // RESOURCE_EXHAUSTED: retryable only when the server says when
      if (r.retry_after) r.kind = SendResult::Kind::kRetryable;
      break;
    default:
      break;
  }
  return r;
}

std::unique_ptr<SpanSender> MakeHttpSpanSender(SenderOptions options,
                                               std::unique_ptr<HttpClient> client) {
  return std::make_unique<HttpSpanSender>(std::move(options), std::move(client));
}

std::unique_ptr<SpanSender> MakeGrpcSpanSender(SenderOptions options) {
  return std::make_unique<GrpcSpanSender>(std::move(options));
}

}  // namespace lookout::otlp
