#include "agent/otlp/http_receiver.h"

#include <google/protobuf/arena.h>

#include "agent/common/compression.h"
#include "agent/otlp/otlp_codec.h"
#include "google/rpc/status.pb.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"

namespace lookout::otlp {
namespace {

namespace pbm = opentelemetry::proto::collector::metrics::v1;
namespace pbt = opentelemetry::proto::collector::trace::v1;

// google.rpc.Code values for the Status body.
constexpr int kInvalidArgument = 3;
constexpr int kNotFound = 5;
constexpr int kResourceExhausted = 8;
constexpr int kUnimplemented = 12;
constexpr int kUnavailable = 14;

void Fail(HttpResponse& resp, int status, int code, const std::string& message, Encoding enc) {
  google::rpc::Status st;
  st.set_code(code);
  st.set_message(message);
  resp.status = status;
  resp.content_type = std::string(ContentTypeOf(enc));
  resp.body = Encode(st, enc);
}

}  // namespace

OtlpHttpReceiver::OtlpHttpReceiver(std::shared_ptr<MetricsConsumer> metrics,
                                   std::shared_ptr<trace::TraceConsumer> traces,
                                   size_t max_request_bytes,
                                   Family<::prometheus::Counter>& requests)
    : metrics_(std::move(metrics)),
      traces_(std::move(traces)),
      max_request_bytes_(max_request_bytes),
      requests_(requests) {}

void OtlpHttpReceiver::Handle(const HttpRequest& req, HttpResponse& resp) {
  const auto enc_opt = EncodingFromContentType(req.Header("content-type"));
  const Encoding reply_enc = enc_opt.value_or(Encoding::kProtobuf);
  std::string signal = "other";
  auto done = [&] {
    requests_.WithLabels({signal, "http", std::to_string(resp.status)}).Increment();
  };
  if (req.path == "/v1/metrics" && metrics_ != nullptr) {
    signal = "metrics";
  } else if (req.path == "/v1/traces" && traces_ != nullptr) {
    signal = "traces";
  } else {
    Fail(resp, 404, kNotFound, "unknown path " + req.path, reply_enc);
    return done();
  }
  if (req.method != "POST") {
    resp.headers.emplace_back("Allow", "POST");
    Fail(resp, 405, kUnimplemented, "use POST", reply_enc);
    return done();
  }
  if (!enc_opt) {
    Fail(resp, 415, kInvalidArgument,
         "Content-Type must be application/x-protobuf or application/json", reply_enc);
    return done();
  }
  std::string inflated;
  std::string_view body = req.body;
  const std::string encoding = req.Header("content-encoding");
  if (encoding == "gzip" || encoding == "deflate") {
    auto r = Inflate(req.body, max_request_bytes_);
    if (!r.ok()) {
      const bool too_large = r.error().reason == "too_large";
      Fail(resp, too_large ? 413 : 400, too_large ? kResourceExhausted : kInvalidArgument,
           r.error().detail, reply_enc);
      return done();
    }
    inflated = std::move(r).value();
    body = inflated;
  } else if (!encoding.empty() && encoding != "identity") {
    Fail(resp, 415, kInvalidArgument, "unsupported Content-Encoding " + encoding, reply_enc);
    return done();
  }
  if (body.size() > max_request_bytes_) {
    Fail(resp, 413, kResourceExhausted, "request larger than otlp.max_request_bytes", reply_enc);
    return done();
  }
  if (signal == "traces") {
    HandleTraces(req, body, *enc_opt, resp);
    return done();
  }
  google::protobuf::Arena arena;
  auto* request = google::protobuf::Arena::CreateMessage<pbm::ExportMetricsServiceRequest>(&arena);
  if (Status st = Decode(body, *enc_opt, request); !st.ok()) {
    Fail(resp, 400, kInvalidArgument, st.error().detail, reply_enc);
    return done();
  }
  const IngestResult r = metrics_->Ingest(*request);
  pbm::ExportMetricsServiceResponse out;
  if (r.rejected > 0) {
    out.mutable_partial_success()->set_rejected_data_points(r.rejected);
    out.mutable_partial_success()->set_error_message(r.error_message);
  }
  resp.status = 200;
  resp.content_type = std::string(ContentTypeOf(*enc_opt));
  resp.body = Encode(out, *enc_opt);
  done();
}

void OtlpHttpReceiver::HandleTraces(const HttpRequest& req, std::string_view body, Encoding enc,
                                    HttpResponse& resp) {
  std::string from_json;
  if (enc == Encoding::kJson) {
    // JSON is decoded into the generated message and re-encoded as protobuf, so one scanner
    // serves both; protobuf bodies go straight to it.
    google::protobuf::Arena arena;
    auto* request = google::protobuf::Arena::CreateMessage<pbt::ExportTraceServiceRequest>(&arena);
    if (Status st = Decode(body, enc, request); !st.ok()) {
      if (auto spans = CountJsonSpans(body)) traces_->CountRefused(*spans, "http");
      Fail(resp, 400, kInvalidArgument, st.error().detail, enc);
      return;
    }
    request->SerializeToString(&from_json);
    body = from_json;
  }
  const trace::AcceptResult r = traces_->Accept(body, req.remote_address, "http");
  using Kind = trace::AcceptResult::Kind;
  switch (r.kind) {
    case Kind::kAccepted:
      break;
    case Kind::kBadRequest:
      return Fail(resp, 400, kInvalidArgument, r.message, enc);
    case Kind::kTooLarge:
      return Fail(resp, 413, kResourceExhausted, r.message, enc);
    case Kind::kFull:
    case Kind::kUnavailable:
      resp.headers.emplace_back("Retry-After", std::to_string(r.retry_after.count()));
      return Fail(resp, r.kind == Kind::kFull ? 429 : 503,
                  r.kind == Kind::kFull ? kResourceExhausted : kUnavailable, r.message, enc);
  }
  pbt::ExportTraceServiceResponse out;
  if (r.rejected_spans > 0) {
    out.mutable_partial_success()->set_rejected_spans(r.rejected_spans);
    out.mutable_partial_success()->set_error_message(r.message);
  }
  resp.status = 200;
  resp.content_type = std::string(ContentTypeOf(enc));
  resp.body = Encode(out, enc);
}

}  // namespace lookout::otlp
