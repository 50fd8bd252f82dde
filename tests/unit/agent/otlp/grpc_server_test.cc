// OTLP/gRPC trace receiver: the raw TraceService/Export method hands the consumer the bytes as
// sent, and maps each AcceptResult to the gRPC answer the OTLP specification asks for.
#include "agent/otlp/grpc_server.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>

#include "agent/common/grpc_unary.h"
#include "agent/common/otlp_status.h"
#include "exporters/otlp/span_senders.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.grpc.pb.h"

namespace lookout::otlp {
namespace {

namespace pbt = opentelemetry::proto::collector::trace::v1;

// Debian's gRPC and abseil are not built with ThreadSanitizer: the synchronisation inside them is
// invisible to it, and it reports their threads' bookkeeping as races (abseil's GraphCycles,
// gRPC's epoll poller, callback tags). These tests run in the release and ASan passes instead.
#if defined(__SANITIZE_THREAD__)
#define LOOKOUT_SKIP_UNDER_TSAN() \
  GTEST_SKIP() << "gRPC is not built with ThreadSanitizer here (false reports inside it)"
#else
#define LOOKOUT_SKIP_UNDER_TSAN() (void)0
#endif

// Answers what it is told and keeps what it was given.
class FakeConsumer final : public trace::TraceConsumer {
 public:
  trace::AcceptResult Accept(std::string_view request, std::string_view peer_ip,
                             std::string_view protocol) noexcept override {
    std::lock_guard lock(mu);
    requests.emplace_back(request);
    peers.emplace_back(peer_ip);
    protocols.emplace_back(protocol);
    return answer;
  }
  void CountRefused(int64_t, std::string_view) noexcept override {}

  std::mutex mu;
  trace::AcceptResult answer;
  std::vector<std::string> requests, peers, protocols;
};

struct Call {
  grpc::Status status;
  std::string response;
};

struct Fixture {
  Fixture()
      : consumer(std::make_shared<FakeConsumer>()),
        server("127.0.0.1:0", 16 << 20, nullptr, consumer,
               registry.AddCounter(
                   ::prometheus::BuildCounter().Name("lookout_otlp_requests_total").Help("x"),
                   {"signal", "protocol", "code"})) {
    server.Start();
    channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(server.port()),
                                  grpc::InsecureChannelCredentials());
  }

  Call Export(const std::string& bytes, bool gzip = false) {
    grpc::GenericStub stub(channel);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    if (gzip) ctx.set_compression_algorithm(GRPC_COMPRESS_GZIP);
    Call call;
    call.status = BlockingUnaryCall(stub, ctx, kOtlpTraceExportMethod, bytes, &call.response);
    return call;
  }

  SelfMetrics registry;
  std::shared_ptr<FakeConsumer> consumer;
  OtlpGrpcServer server;
  std::shared_ptr<grpc::Channel> channel;
};

// One ResourceSpans written with scope_spans (field 2) BEFORE resource (field 1): valid
// protobuf that a parse-and-serialise round trip would reorder, so equal bytes at the consumer
// prove the receiver passed them through.
std::string NonCanonicalRequest(size_t padding) {
  pbt::ExportTraceServiceRequest req;
  auto* rs = req.add_resource_spans();
  auto* attr = rs->mutable_resource()->add_attributes();
  attr->set_key("service.name");
  attr->mutable_value()->set_string_value("checkout");
  auto* span = rs->add_scope_spans()->add_spans();
  span->set_trace_id(std::string(16, '\x01'));
  span->set_span_id(std::string(8, '\x02'));
  span->set_name(std::string(padding, 'n'));
  const std::string resource = rs->resource().SerializeAsString();
  const std::string scope = rs->scope_spans(0).SerializeAsString();
  auto len = [](size_t n) {
    std::string v;
    while (n >= 0x80) {
      v.push_back(static_cast<char>((n & 0x7f) | 0x80));
      n >>= 7;
    }
    v.push_back(static_cast<char>(n));
    return v;
  };
  const std::string inner =
      "\x12" + len(scope.size()) + scope + "\x0a" + len(resource.size()) + resource;
  return "\x0a" + len(inner.size()) + inner;
}

TEST(OtlpGrpcTraces, TheConsumerGetsTheBytesAsSent) {
  LOOKOUT_SKIP_UNDER_TSAN();
  Fixture f;
  for (size_t padding : {size_t{10}, size_t{3} << 20}) {  // one slice; many HTTP/2 frames
    const std::string sent = NonCanonicalRequest(padding);
    pbt::ExportTraceServiceRequest parsed;
    ASSERT_TRUE(parsed.ParseFromString(sent));
    ASSERT_NE(parsed.SerializeAsString(), sent) << "the request must not be canonical";
    for (bool gzip : {false, true}) {
      const Call call = f.Export(sent, gzip);
      ASSERT_TRUE(call.status.ok()) << call.status.error_message();
      std::lock_guard lock(f.consumer->mu);
      ASSERT_FALSE(f.consumer->requests.empty());
      EXPECT_TRUE(f.consumer->requests.back() == sent) << "padding " << padding << " gzip " << gzip;
      EXPECT_EQ(f.consumer->peers.back(), "127.0.0.1");
      EXPECT_EQ(f.consumer->protocols.back(), "grpc");
    }
  }
}

// The span exporter's gRPC sender gzips a batch itself (libdeflate) and hands gRPC the compressed
// bytes to send as they are: a gRPC server that decompresses once must see the exact request.
// Sent uncompressed-flagged, or compressed again by gRPC, the consumer would get gzip bytes.
TEST(OtlpGrpcTraces, TheSpanSendersOwnGzipIsDecompressedOnceByTheServer) {
  LOOKOUT_SKIP_UNDER_TSAN();
  Fixture f;
  for (bool gzip : {true, false}) {
    SenderOptions o;
    o.endpoint = "127.0.0.1:" + std::to_string(f.server.port());
    o.gzip = gzip;
    auto sender = MakeGrpcSpanSender(o);
    for (size_t padding : {size_t{0}, size_t{200000}}) {
      const std::string sent = NonCanonicalRequest(padding);
      const SendResult r = sender->Send(sent);
      ASSERT_EQ(r.kind, SendResult::Kind::kOk) << r.reason << " " << r.message;
      std::lock_guard lock(f.consumer->mu);
      ASSERT_FALSE(f.consumer->requests.empty());
      EXPECT_TRUE(f.consumer->requests.back() == sent) << "gzip " << gzip << " padding " << padding;
    }
  }
}

TEST(OtlpGrpcTraces, AnswersAsTheSpecificationSays) {
  LOOKOUT_SKIP_UNDER_TSAN();
  Fixture f;
  const std::string body = NonCanonicalRequest(10);
  using Kind = trace::AcceptResult::Kind;

  f.consumer->answer = {Kind::kAccepted, "", 0, {}};
  Call call = f.Export(body);
  ASSERT_TRUE(call.status.ok());
  EXPECT_TRUE(call.response.empty()) << "an empty ExportTraceServiceResponse";

  f.consumer->answer = {Kind::kAccepted, "2 spans without a trace id", 2, {}};
  call = f.Export(body);
  ASSERT_TRUE(call.status.ok());
  pbt::ExportTraceServiceResponse resp;
  ASSERT_TRUE(resp.ParseFromString(call.response));
  EXPECT_EQ(resp.partial_success().rejected_spans(), 2);
  EXPECT_EQ(resp.partial_success().error_message(), "2 spans without a trace id");

  f.consumer->answer = {Kind::kFull, "queue full", 0, std::chrono::seconds(7)};
  call = f.Export(body);
  EXPECT_EQ(call.status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(ParseRetryInfo(call.status.error_details()), std::chrono::milliseconds(7000));

  f.consumer->answer = {Kind::kUnavailable, "disk", 0, std::chrono::seconds(3)};
  call = f.Export(body);
  EXPECT_EQ(call.status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(ParseRetryInfo(call.status.error_details()), std::chrono::milliseconds(3000));

  f.consumer->answer = {Kind::kTooLarge, "never fits", 0, {}};
  call = f.Export(body);
  EXPECT_EQ(call.status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_FALSE(ParseRetryInfo(call.status.error_details()).has_value()) << "not retryable";

  f.consumer->answer = {Kind::kBadRequest, "not a request", 0, {}};
  call = f.Export(body);
  EXPECT_EQ(call.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(call.status.error_message(), "not a request");
}

TEST(OtlpGrpcTraces, MessagesOverTheLimitAreRefusedByGrpc) {
  LOOKOUT_SKIP_UNDER_TSAN();
  SelfMetrics registry;
  auto consumer = std::make_shared<FakeConsumer>();
  OtlpGrpcServer server(
      "127.0.0.1:0", 1024, nullptr, consumer,
      registry.AddCounter(
          ::prometheus::BuildCounter().Name("lookout_otlp_requests_total").Help("x"),
          {"signal", "protocol", "code"}));
  server.Start();
  auto stub = pbt::TraceService::NewStub(grpc::CreateChannel(
      "127.0.0.1:" + std::to_string(server.port()), grpc::InsecureChannelCredentials()));
  pbt::ExportTraceServiceRequest req;
  req.add_resource_spans()->add_scope_spans()->add_spans()->set_name(std::string(4096, 'x'));
  pbt::ExportTraceServiceResponse resp;
  grpc::ClientContext ctx;
  const grpc::Status st = stub->Export(&ctx, req, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  std::lock_guard lock(consumer->mu);
  EXPECT_TRUE(consumer->requests.empty());
}

}  // namespace
}  // namespace lookout::otlp
