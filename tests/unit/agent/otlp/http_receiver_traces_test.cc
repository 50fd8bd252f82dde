// /v1/traces on the OTLP/HTTP receiver: the answers the OTLP specification asks for.
#include <gtest/gtest.h>

#include "agent/common/compression.h"
#include "agent/otlp/http_receiver.h"
#include "agent/trace/trace_pipeline.h"
#include "exporters/otlp/memory_queue.h"
#include "google/rpc/status.pb.h"
#include "tests/unit/agent/trace/trace_test_util.h"
#include "tests/unit/test_util.h"

namespace lookout::otlp {
namespace {

namespace pbt = opentelemetry::proto::collector::trace::v1;

std::shared_ptr<MemorySpanQueue> MemoryQueue(size_t bytes) {
  MemorySpanQueueOptions o;
  o.max_bytes = bytes;
  return std::make_shared<MemorySpanQueue>(o);
}

struct Fixture {
  explicit Fixture(size_t queue_bytes = 1 << 20)
      : queue(MemoryQueue(queue_bytes)),
        pipeline(std::make_shared<trace::TracePipeline>(
            std::make_unique<trace::ResourceEnricher>(
                nullptr, "",
                std::vector<std::pair<std::string, std::string>>{{"k8s.cluster.name", "c1"}}),
            nullptr, 1.0, std::chrono::seconds(7), queue, registry)),
        receiver(nullptr, pipeline, 1 << 20,
                 registry.AddCounter(
                     ::prometheus::BuildCounter().Name("lookout_otlp_requests_total").Help("x"),
                     {"signal", "protocol", "code"})) {}

  HttpResponse Post(std::string body, const std::string& content_type = "application/x-protobuf",
                    const std::string& encoding = "") {
    HttpRequest req;
    req.method = "POST";
    req.path = req.target = "/v1/traces";
    req.headers.emplace_back("content-type", content_type);
    if (!encoding.empty()) req.headers.emplace_back("content-encoding", encoding);
    req.body = std::move(body);
    req.remote_address = "127.0.0.1";
    HttpResponse resp;
    receiver.Handle(req, resp);
    return resp;
  }

  SelfMetrics registry;
  std::shared_ptr<MemorySpanQueue> queue;
  std::shared_ptr<trace::TracePipeline> pipeline;
  OtlpHttpReceiver receiver;
};

std::string Request(int spans, uint64_t seed = 1) {
  std::mt19937_64 rng(seed);
  testing::TraceRequest req;
  testing::AddResource(req, "svc", spans, rng);
  return req.SerializeAsString();
}

TEST(OtlpHttpTraces, AcceptsProtobufAndQueuesEnrichedSpans) {
  Fixture f;
  const auto resp = f.Post(Request(3));
  EXPECT_EQ(resp.status, 200);
  EXPECT_EQ(resp.content_type, "application/x-protobuf");
  pbt::ExportTraceServiceResponse out;
  ASSERT_TRUE(out.ParseFromString(resp.body));
  EXPECT_FALSE(out.has_partial_success());
  SpanBatch b;
  ASSERT_TRUE(f.queue->Peek(1000, 1 << 20, std::chrono::milliseconds(0), b));
  EXPECT_EQ(b.spans, 3u);
  testing::TraceRequest queued;
  ASSERT_TRUE(queued.ParseFromString(b.payload));
  EXPECT_EQ(queued.resource_spans(0).resource().attributes_size(), 2);
}

TEST(OtlpHttpTraces, AcceptsGzipAndJsonWithHexIds) {
  Fixture f;
  auto gz = Gzip(Request(2), 6);
  ASSERT_TRUE(gz.ok());
  EXPECT_EQ(f.Post(*gz, "application/x-protobuf", "gzip").status, 200);
  const std::string json =
      R"({"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":)"
      R"({"stringValue":"j"}}]},"scopeSpans":[{"scope":{"name":"s"},"spans":[)"
      R"({"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174",)"
      R"("name":"a","kind":2,"startTimeUnixNano":"1544712660000000000",)"
      R"("endTimeUnixNano":"1544712661000000000","status":{"code":2}},)"
      R"({"traceId":"","spanId":"eee19b7ec3c1b175","name":"bad"}]}]}]})";
  const auto resp = f.Post(json, "application/json");
  EXPECT_EQ(resp.status, 200);
  EXPECT_EQ(resp.content_type, "application/json");
  EXPECT_NE(resp.body.find("\"rejectedSpans\":\"1\""), std::string::npos) << resp.body;
  SpanBatch b;
  ASSERT_TRUE(f.queue->Peek(1000, 1 << 20, std::chrono::milliseconds(0), b));
  EXPECT_EQ(b.spans, 3u);  // 2 from gzip + 1 valid from JSON
  testing::TraceRequest queued;
  ASSERT_TRUE(queued.ParseFromString(b.payload));
  const auto& span = queued.resource_spans(1).scope_spans(0).spans(0);
  EXPECT_EQ(span.trace_id(), std::string("\x5b\x8e\xff\xf7\x98\x03\x81\x03\xd2\x69\xb6\x33\x81"
                                         "\x3f\xc6\x0c",
                                         16));
  EXPECT_EQ(span.status().code(), 2);
}

// A JSON request with base64 IDs (protobuf's JSON mapping, not OTLP/JSON's hex) is refused
// with 400, and its spans are counted as received and refused (malformed): they were not,
// although lookout_otlp_requests_total{code="400"} counted the request.
TEST(OtlpHttpTraces, SpansOfARefusedJsonRequestAreCounted) {
  Fixture f;
  const std::string json =
      R"({"resourceSpans":[{"scopeSpans":[{"spans":[)"
      R"({"traceId":"W47/95gDgQPSabYzgT/GDA==","spanId":"7uGbfsPBsXQ=","name":"a"},)"
      R"({"traceId":"W47/95gDgQPSabYzgT/GDA==","spanId":"7uGbfsPBsXU=","name":"b"}]}]},)"
      R"({"instrumentationLibrarySpans":[{"spans":[{"traceId":"x","name":"c"}]}]}]})";
  EXPECT_EQ(f.Post(json, "application/json").status, 400);
  EXPECT_EQ(f.Post("{not json", "application/json").status, 400);  // nothing to count
  std::vector<MetricFamily> out;
  f.registry.Collect(out);
  const MetricFamily* refused = testing::FindFamily(out, "lookout_trace_spans_refused_total");
  ASSERT_NE(refused, nullptr);
  double malformed = -1;
  for (const auto& smp : refused->samples) {
    if (testing::LabelValue(smp, "reason") == "malformed") malformed = smp.value;
  }
  EXPECT_EQ(malformed, 3);
  const MetricFamily* received = testing::FindFamily(out, "lookout_trace_spans_received_total");
  ASSERT_NE(received, nullptr);
  EXPECT_EQ(received->samples.at(0).value, 3);
}

TEST(OtlpHttpTraces, AnswersErrorsAsTheSpecificationSays) {
  Fixture f(3000);
  auto st = f.Post("\x0a\xff\x01garbage");
  EXPECT_EQ(st.status, 400);
  google::rpc::Status status;
  ASSERT_TRUE(status.ParseFromString(st.body));
  EXPECT_EQ(status.code(), 3);
  EXPECT_EQ(f.Post("{", "application/json").status, 400);
  EXPECT_EQ(f.Post(Request(1), "text/plain").status, 415);
  EXPECT_EQ(f.Post("x", "application/x-protobuf", "br").status, 415);
  EXPECT_EQ(f.Post(Request(100)).status, 413);  // larger than the whole queue
  // Fill the queue: then 429 with Retry-After, and nothing half-stored.
  int accepted = 0;
  HttpResponse last;
  for (int i = 0; i < 100; ++i) {
    last = f.Post(Request(5, i));
    if (last.status != 200) break;
    ++accepted;
  }
  EXPECT_EQ(last.status, 429);
  bool retry_after = false;
  for (const auto& [k, v] : last.headers) retry_after |= k == "Retry-After" && v == "7";
  EXPECT_TRUE(retry_after);
  EXPECT_EQ(f.queue->Stats().spans, static_cast<uint64_t>(accepted) * 5);
  HttpRequest get;
  get.method = "GET";
  get.path = "/v1/traces";
  HttpResponse r;
  f.receiver.Handle(get, r);
  EXPECT_EQ(r.status, 405);
}

}  // namespace
}  // namespace lookout::otlp
