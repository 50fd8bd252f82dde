#include "exporters/otlp/span_exporter.h"

#include <gtest/gtest.h>

#include <deque>

#include "agent/common/otlp_status.h"
#include "exporters/otlp/memory_queue.h"
#include "exporters/otlp/span_senders.h"
#include "lookout/metrics/self_metrics.h"
#include "tests/unit/test_util.h"

namespace lookout::otlp {
namespace {

using namespace std::chrono_literals;

// Answers from a script, then OK; records what it was sent.
class ScriptedSender final : public SpanSender {
 public:
  explicit ScriptedSender(std::deque<SendResult> script) : script_(std::move(script)) {}
  SendResult Send(const SpanBatch& batch) noexcept override {
    std::lock_guard lock(mu_);
    sent_.push_back(batch.payload);
    times_.push_back(std::chrono::steady_clock::now());
    if (script_.empty()) return {};
    SendResult r = script_.front();
    script_.pop_front();
    return r;
  }
  std::vector<std::string> sent() {
    std::lock_guard lock(mu_);
    return sent_;
  }
  std::vector<std::chrono::steady_clock::time_point> times() {
    std::lock_guard lock(mu_);
    return times_;
  }

 private:
  std::mutex mu_;
  std::deque<SendResult> script_;
  std::vector<std::string> sent_;
  std::vector<std::chrono::steady_clock::time_point> times_;
};

std::shared_ptr<MemorySpanQueue> MemoryQueue(size_t bytes) {
  MemorySpanQueueOptions o;
  o.max_bytes = bytes;
  return std::make_shared<MemorySpanQueue>(o);
}

SendResult Retryable(std::string reason, std::optional<std::chrono::milliseconds> after = {}) {
  SendResult r;
  r.kind = SendResult::Kind::kRetryable;
  r.reason = std::move(reason);
  r.retry_after = after;
  return r;
}

double Value(SelfMetrics& reg, const std::string& name, const Labels& labels = {}) {
  std::vector<MetricFamily> fs;
  reg.Collect(fs);
  testing::Collected c{Ok{}, fs};
  return c.Value(name, labels);
}

SpanExporterOptions FastOptions() {
  SpanExporterOptions o;
  o.batch_timeout = 5ms;
  o.initial_backoff = 10ms;
  o.max_backoff = 40ms;
  return o;
}

void WaitFor(const std::function<bool()>& cond) {
  for (int i = 0; i < 500 && !cond(); ++i) std::this_thread::sleep_for(10ms);
}

TEST(SpanExporter, RetriesRetryableFailuresUntilDelivered) {
  auto queue = MemoryQueue(1 << 20);
  auto sender = std::make_unique<ScriptedSender>(std::deque<SendResult>{
      Retryable("http_503"), Retryable("connect"), Retryable("grpc_unavailable", 30ms)});
  auto* s = sender.get();
  SelfMetrics reg;
  SpanExporter ex(FastOptions(), queue, std::move(sender), reg);
  ASSERT_EQ(queue->Push("AAAA", 3), SpanQueue::PushResult::kOk);
  ex.Start();
  WaitFor([&] { return Value(reg, "lookout_trace_spans_exported_total") == 3; });
  ex.Stop(1s);
  const auto sent = s->sent();
  ASSERT_EQ(sent.size(), 4u);
  for (const auto& b : sent) EXPECT_EQ(b, "AAAA");  // the same batch each time
  EXPECT_EQ(Value(reg, "lookout_trace_export_retries_total"), 3);
  EXPECT_EQ(Value(reg, "lookout_trace_export_failures_total", {{"reason", "http_503"}}), 1);
  const auto t = s->times();
  EXPECT_GE(t[3] - t[2], 30ms);  // RetryInfo honoured
  EXPECT_EQ(queue->Stats().spans, 0u);
}

TEST(SpanExporter, PermanentErrorsAndPartialSuccessDropAndCount) {
  auto queue = MemoryQueue(1 << 20);
  SendResult permanent;
  permanent.kind = SendResult::Kind::kPermanent;
  permanent.reason = "http_400";
  SendResult partial;
  partial.rejected_spans = 2;
  auto sender = std::make_unique<ScriptedSender>(std::deque<SendResult>{permanent, partial});
  SelfMetrics reg;
  SpanExporterOptions o = FastOptions();
  o.max_batch_spans = 5;
  SpanExporter ex(o, queue, std::move(sender), reg);
  ASSERT_EQ(queue->Push("A", 5), SpanQueue::PushResult::kOk);
  ex.Start();
  WaitFor([&] { return queue->Stats().spans == 0; });
  ASSERT_EQ(queue->Push("B", 5), SpanQueue::PushResult::kOk);
  WaitFor([&] { return Value(reg, "lookout_trace_spans_exported_total") == 3; });
  ex.Stop(1s);
  EXPECT_EQ(Value(reg, "lookout_trace_spans_dropped_total", {{"reason", "http_400"}}), 5);
  EXPECT_EQ(Value(reg, "lookout_trace_spans_dropped_total", {{"reason", "rejected_by_backend"}}),
            2);
  EXPECT_EQ(Value(reg, "lookout_trace_export_retries_total"), 0);
}

TEST(SpanExporter, GivesUpAfterMaxElapsedWhenConfigured) {
  auto queue = MemoryQueue(1 << 20);
  std::deque<SendResult> script(100, Retryable("http_503"));
  SelfMetrics reg;
  SpanExporterOptions o = FastOptions();
  o.max_elapsed = 50ms;
  SpanExporter ex(o, queue, std::make_unique<ScriptedSender>(script), reg);
  ASSERT_EQ(queue->Push("A", 4), SpanQueue::PushResult::kOk);
  ex.Start();
  WaitFor([&] {
    return Value(reg, "lookout_trace_spans_dropped_total", {{"reason", "retry_time_exhausted"}}) ==
           4;
  });
  ex.Stop(1s);
  EXPECT_EQ(Value(reg, "lookout_trace_spans_dropped_total", {{"reason", "retry_time_exhausted"}}),
            4);
}

TEST(SpanExporter, ShutdownDrainsWithinTheDeadlineThenCountsWhatIsLeft) {
  auto queue = MemoryQueue(1 << 20);
  std::deque<SendResult> script(1000, Retryable("connect"));
  SelfMetrics reg;
  SpanExporter ex(FastOptions(), queue, std::make_unique<ScriptedSender>(script), reg);
  ASSERT_EQ(queue->Push("A", 7), SpanQueue::PushResult::kOk);
  ex.Start();
  const auto start = std::chrono::steady_clock::now();
  ex.Stop(100ms);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  EXPECT_EQ(Value(reg, "lookout_trace_spans_dropped_total", {{"reason", "shutdown"}}), 7);
}

TEST(SpanSenders, ClassifiesAsTheOtlpSpecificationSays) {
  for (long code : {429L, 502L, 503L, 504L}) {
    EXPECT_EQ(ClassifyHttp(code, "", std::chrono::seconds(3)).kind, SendResult::Kind::kRetryable);
  }
  EXPECT_EQ(ClassifyHttp(503, "", std::chrono::seconds(3)).retry_after, 3000ms);
  for (long code : {400L, 401L, 403L, 404L, 413L, 500L}) {
    EXPECT_EQ(ClassifyHttp(code, "", std::nullopt).kind, SendResult::Kind::kPermanent) << code;
  }
  EXPECT_EQ(ClassifyHttp(400, "", std::nullopt).reason, "http_400");
  EXPECT_EQ(ClassifyHttp(200, "", std::nullopt).kind, SendResult::Kind::kOk);
  EXPECT_EQ(ClassifyTransportError("connect", "refused").kind, SendResult::Kind::kRetryable);
  EXPECT_EQ(ClassifyTransportError("io", "reset").kind, SendResult::Kind::kRetryable);
  EXPECT_EQ(ClassifyTransportError("request", "bad url").kind, SendResult::Kind::kPermanent);
  // gRPC: CANCELLED 1, DEADLINE_EXCEEDED 4, ABORTED 10, OUT_OF_RANGE 11, UNAVAILABLE 14,
  // DATA_LOSS 15 retryable; RESOURCE_EXHAUSTED 8 only with RetryInfo.
  for (int code : {1, 4, 10, 11, 14, 15}) {
    EXPECT_EQ(ClassifyGrpc(code, "", "", "").kind, SendResult::Kind::kRetryable) << code;
  }
  for (int code : {2, 3, 5, 7, 8, 9, 12, 13, 16}) {
    EXPECT_EQ(ClassifyGrpc(code, "", "", "").kind, SendResult::Kind::kPermanent) << code;
  }
  const std::string details = MakeRetryInfoStatus(8, "slow down", 2500ms);
  const SendResult r = ClassifyGrpc(8, "slow down", details, "");
  EXPECT_EQ(r.kind, SendResult::Kind::kRetryable);
  EXPECT_EQ(r.retry_after, 2500ms);
  EXPECT_EQ(r.reason, "grpc_resource_exhausted");
  // Partial success: ExportTraceServiceResponse{partial_success{rejected_spans: 3, "no"}}.
  const std::string partial("\x0a\x06\x08\x03\x12\x02no", 8);
  const SendResult p = ClassifyGrpc(0, "", "", partial);
  EXPECT_EQ(p.kind, SendResult::Kind::kOk);
  EXPECT_EQ(p.rejected_spans, 3);
  EXPECT_EQ(p.message, "no");
  EXPECT_EQ(ClassifyHttp(200, partial, std::nullopt).rejected_spans, 3);
  // Garbage details or responses read as nothing, never crash.
  EXPECT_FALSE(ParseRetryInfo("\xff\xff").has_value());
  EXPECT_EQ(ParsePartialSuccess("\x0a\x7f").rejected_spans, 0);
}

}  // namespace
}  // namespace lookout::otlp
