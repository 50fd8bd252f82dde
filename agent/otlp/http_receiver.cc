#include "agent/otlp/http_receiver.h"

#include <google/protobuf/arena.h>

#include "agent/common/compression.h"
#include "agent/otlp/metric_store.h"
#include "agent/otlp/otlp_codec.h"
#include "google/rpc/status.pb.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb.h"

namespace lookout::otlp {
namespace {

namespace pbm = opentelemetry::proto::collector::metrics::v1;

// google.rpc.Code values for the Status body.
constexpr int kInvalidArgument = 3;
constexpr int kNotFound = 5;
constexpr int kResourceExhausted = 8;
constexpr int kUnimplemented = 12;

void Fail(HttpResponse& resp, int status, int code, const std::string& message, Encoding enc) {
  google::rpc::Status st;
  st.set_code(code);
  st.set_message(message);
  resp.status = status;
  resp.content_type = std::string(ContentTypeOf(enc));
  resp.body = Encode(st, enc);
}

}  // namespace

OtlpHttpReceiver::OtlpHttpReceiver(std::shared_ptr<OtlpMetricStore> metrics,
                                   size_t max_request_bytes, Family<Counter>& requests)
    : metrics_(std::move(metrics)), max_request_bytes_(max_request_bytes), requests_(requests) {}

void OtlpHttpReceiver::Handle(const HttpRequest& req, HttpResponse& resp) {
  const auto enc_opt = EncodingFromContentType(req.Header("content-type"));
  const Encoding reply_enc = enc_opt.value_or(Encoding::kProtobuf);
  std::string signal = "other";
  auto done = [&] { requests_.WithLabels({signal, "http", std::to_string(resp.status)}).Inc(); };
  if (req.path != "/v1/metrics" || metrics_ == nullptr) {
    Fail(resp, 404, kNotFound, "unknown path " + req.path, reply_enc);
    return done();
  }
  signal = "metrics";
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

}  // namespace lookout::otlp
