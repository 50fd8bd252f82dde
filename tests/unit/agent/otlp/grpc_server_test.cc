// OTLP/gRPC trace receiver: the raw TraceService/Export method hands the consumer the bytes as
// sent, and maps each AcceptResult to the gRPC answer the OTLP specification asks for.
#include "agent/otlp/grpc_server.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "agent/common/grpc_unary.h"
#include "agent/common/otlp_status.h"
#include "agent/config/config.h"
#include "exporters/otlp/memory_queue.h"
#include "exporters/otlp/span_senders.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.grpc.pb.h"
#include "tests/unit/http_client.h"
#include "tests/unit/test_util.h"

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

// The receiver's options as the embedded default config sets them, on a free loopback port.
OtlpOptions TestOptions(size_t max_request_bytes) {
  OtlpOptions o = DefaultConfig().otlp;
  o.grpc_listen_address = "127.0.0.1:0";
  o.max_request_bytes = max_request_bytes;
  return o;
}

// The io_context the accept guard runs on, with one thread.
struct IoThread {
  IoThread() : work(boost::asio::make_work_guard(ioc)), thread([this] { ioc.run(); }) {}
  ~IoThread() {
    work.reset();
    ioc.stop();
    thread.join();
  }
  boost::asio::io_context ioc;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work;
  std::thread thread;
};

Family<::prometheus::Counter>& RequestCounter(SelfMetrics& registry) {
  return registry.AddCounter(
      ::prometheus::BuildCounter().Name("lookout_otlp_requests_total").Help("x"),
      {"signal", "protocol", "code"});
}

struct Fixture {
  explicit Fixture(const OtlpOptions& options = TestOptions(16 << 20))
      : consumer(std::make_shared<FakeConsumer>()),
        server(io.ioc, options, nullptr, consumer, RequestCounter(*registry), registry) {
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

  IoThread io;
  std::shared_ptr<SelfMetrics> registry = std::make_shared<SelfMetrics>();
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

// True when the peer closes `c` within `wait`, whatever it sends first (gRPC's settings).
bool ClosedWithin(testing::RawClient& c, std::chrono::milliseconds wait) {
  const auto deadline = std::chrono::steady_clock::now() + wait;
  while (std::chrono::steady_clock::now() < deadline) {
    if (c.ClosedWithin(std::chrono::milliseconds(100))) return true;
  }
  return false;
}

// At the cap, the connection gRPC served a call on outlives a later one that never made a call:
// the guard learns of the call from gRPC's own name for the peer (NoteRequest), so this also
// checks that the guard and gRPC name peers alike.
TEST(OtlpGrpcConnections, AServedConnectionOutlivesANeverServedOne) {
  LOOKOUT_SKIP_UNDER_TSAN();
  OtlpOptions o = TestOptions(16 << 20);
  o.max_connections = 2;
  o.max_connections_per_peer = 0;
  Fixture f(o);
  const std::string body = NonCanonicalRequest(10);
  ASSERT_TRUE(f.Export(body).status.ok());  // the channel's connection, from 127.0.0.1
  testing::RawClient silent(static_cast<unsigned short>(f.server.port()), "127.0.0.2");
  silent.Send("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");  // handed over, never a call
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_TRUE(f.Export(body).status.ok());  // served again: now the more recently active
  testing::RawClient newcomer(static_cast<unsigned short>(f.server.port()), "127.0.0.3");
  newcomer.Send("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
  EXPECT_TRUE(ClosedWithin(silent, std::chrono::milliseconds(3000)));
  EXPECT_TRUE(f.Export(body).status.ok());
  EXPECT_EQ(testing::ValueByFirstLabel(*f.registry, "lookout_otlp_grpc_connections_closed_total",
                                       "evicted_max_connections"),
            1);
}

// The span exporter's gRPC sender gzips a batch itself (libdeflate), or gets it gzipped by the
// memory queue, and hands gRPC the compressed bytes to send as they are: a gRPC server that
// decompresses once must see the exact request. Sent uncompressed-flagged, or compressed again
// by gRPC, the consumer would get gzip bytes; sent as several gzip members (one per queued
// record), gRPC's C core would refuse it ("zlib: not all input consumed").
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
      SpanBatch batch;
      batch.payload = sent;
      const SendResult r = sender->Send(batch);
      ASSERT_EQ(r.kind, SendResult::Kind::kOk) << r.reason << " " << r.message;
      std::lock_guard lock(f.consumer->mu);
      ASSERT_FALSE(f.consumer->requests.empty());
      EXPECT_TRUE(f.consumer->requests.back() == sent) << "gzip " << gzip << " padding " << padding;
    }
  }
  // Three records through a gzip memory queue: one batch, one member, the records concatenated.
  MemorySpanQueueOptions qo;
  qo.gzip = true;
  MemorySpanQueue queue(qo);
  std::string all;
  for (size_t padding : {size_t{0}, size_t{1000}, size_t{200000}}) {
    const std::string record = NonCanonicalRequest(padding);
    ASSERT_EQ(queue.Push(record, 1), SpanQueue::PushResult::kOk);
    all += record;
  }
  SpanBatch batch;
  ASSERT_TRUE(queue.Peek(0, 0, std::chrono::milliseconds(0), batch));
  ASSERT_TRUE(batch.gzip);
  EXPECT_EQ(batch.records, 3u);
  SenderOptions o;
  o.endpoint = "127.0.0.1:" + std::to_string(f.server.port());
  o.gzip = false;  // the batch says it is gzipped: the option does not matter
  const SendResult r = MakeGrpcSpanSender(o)->Send(batch);
  ASSERT_EQ(r.kind, SendResult::Kind::kOk) << r.reason << " " << r.message;
  std::lock_guard lock(f.consumer->mu);
  EXPECT_TRUE(f.consumer->requests.back() == all);
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
  IoThread io;
  auto registry = std::make_shared<SelfMetrics>();
  auto consumer = std::make_shared<FakeConsumer>();
  OtlpGrpcServer server(io.ioc, TestOptions(1024), nullptr, consumer, RequestCounter(*registry),
                        registry);
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
