#include "exporters/otlp/span_exporter.h"

#include <algorithm>
#include <cmath>

#include "agent/common/log.h"

namespace lookout::otlp {

SpanExporter::SpanExporter(SpanExporterOptions options, std::shared_ptr<SpanQueue> queue,
                           std::unique_ptr<SpanSender> sender, SelfMetrics& registry)
    : o_(options),
      queue_(std::move(queue)),
      sender_(std::move(sender)),
      exported_(registry
                    .AddCounter(
                        ::prometheus::BuildCounter()
                            .Name("lookout_trace_spans_exported_total")
                            .Help("Spans delivered to the trace backend (and not rejected by it)."),
                        {})
                    .Get()),
      dropped_(
          registry.AddCounter(::prometheus::BuildCounter()
                                  .Name("lookout_trace_spans_dropped_total")
                                  .Help("Accepted spans that will never be delivered, by reason "
                                        "(permanent backend error, rejected by the backend, retry "
                                        "time exhausted, shutdown, corrupt on disk)."),
                              {"reason"})),
      failures_(registry.AddCounter(
          ::prometheus::BuildCounter()
              .Name("lookout_trace_export_failures_total")
              .Help(
                  "Failed export attempts, by reason (http_503, grpc_unavailable, connect, ...)."),
          {"reason"})),
      retries_(registry
                   .AddCounter(::prometheus::BuildCounter()
                                   .Name("lookout_trace_export_retries_total")
                                   .Help("Export attempts that were retries of a failed batch."),
                               {})
                   .Get()),
      requests_(
          registry.AddCounter(::prometheus::BuildCounter()
                                  .Name("lookout_trace_export_requests_total")
                                  .Help("Export attempts, by result (ok, retryable, permanent)."),
                              {"result"})),
      duration_(registry
                    .AddHistogram(
                        ::prometheus::BuildHistogram()
                            .Name("lookout_trace_export_duration_seconds")
                            .Help("Time of one export attempt to the trace backend."),
                        {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10},
                        {}, "seconds")
                    .Get()) {
  // The reasons and results known in advance are exposed at 0 from the start, so rate() and
  // increase() see their first event (a permanent error's http_<status> / grpc_<code> reason
  // still appears with its first drop; alerts/agent.rules.yml allows for that).
  for (const char* reason : {"rejected_by_backend", "retry_time_exhausted", "shutdown"}) {
    dropped_.WithLabels({reason});
  }
  for (const char* result : {"ok", "retryable", "permanent"}) requests_.WithLabels({result});
}

SpanExporter::~SpanExporter() { Stop(std::chrono::milliseconds(0)); }

void SpanExporter::Start() {
  thread_ = std::thread([this] { Run(); });
}

void SpanExporter::Stop(std::chrono::milliseconds deadline) {
  {
    std::lock_guard lock(mu_);
    if (!stopping_) {
      stopping_ = true;
      deadline_ = std::chrono::steady_clock::now() + deadline;
    }
  }
  cv_.notify_all();
  queue_->Close();
  if (thread_.joinable()) thread_.join();
}

bool SpanExporter::PastDeadline() const {
  return stopping_ && std::chrono::steady_clock::now() >= deadline_;
}

bool SpanExporter::Sleep(std::chrono::milliseconds d) {
  std::unique_lock lock(mu_);
  auto until = std::chrono::steady_clock::now() + d;
  while (true) {
    if (stopping_) until = std::min(until, deadline_);
    if (cv_.wait_until(lock, until) == std::cv_status::timeout ||
        std::chrono::steady_clock::now() >= until) {
      break;
    }
  }
  return !PastDeadline();
}

void SpanExporter::Run() {
  SpanBatch batch;
  while (true) {
    {
      std::lock_guard lock(mu_);
      if (PastDeadline()) break;
    }
    if (!queue_->Peek(o_.max_batch_spans, o_.max_batch_bytes, o_.batch_timeout, batch)) {
      std::lock_guard lock(mu_);
      if (stopping_) break;  // closed and empty
      continue;
    }
    const Outcome r = Deliver(batch);
    if (r == Outcome::kAborted) break;
    queue_->Ack();
  }
  const SpanQueueStats left = queue_->Stats();
  if (left.spans > 0) {
    if (queue_->persistent()) {
      Log(LogLevel::kInfo, "span exporter stopped; undelivered spans stay on disk",
          {{"spans", std::to_string(left.spans)}});
    } else {
      dropped_.WithLabels({"shutdown"}).Increment(static_cast<double>(left.spans));
      Log(LogLevel::kWarn, "span exporter stopped at the shutdown deadline; spans dropped",
          {{"spans", std::to_string(left.spans)}});
    }
  }
}

SpanExporter::Outcome SpanExporter::Deliver(const SpanBatch& batch) {
  const auto first = std::chrono::steady_clock::now();
  double backoff_ms = static_cast<double>(o_.initial_backoff.count());
  for (int attempt = 0;; ++attempt) {
    if (attempt > 0) retries_.Increment();
    const auto start = std::chrono::steady_clock::now();
    const SendResult r = sender_->Send(batch);
    duration_.Observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    switch (r.kind) {
      case SendResult::Kind::kOk: {
        requests_.WithLabels({"ok"}).Increment();
        const auto rejected = std::min<uint64_t>(
            batch.spans, static_cast<uint64_t>(std::max<int64_t>(0, r.rejected_spans)));
        exported_.Increment(static_cast<double>(batch.spans - rejected));
        if (rejected > 0) {
          // Partial success is final: the backend refused these spans and says so.
          dropped_.WithLabels({"rejected_by_backend"}).Increment(static_cast<double>(rejected));
          Log(LogLevel::kWarn, "trace backend rejected spans",
              {{"rejected", std::to_string(rejected)}, {"message", r.message}});
        }
        return Outcome::kDelivered;
      }
      case SendResult::Kind::kPermanent:
        requests_.WithLabels({"permanent"}).Increment();
        failures_.WithLabels({r.reason}).Increment();
        dropped_.WithLabels({r.reason}).Increment(static_cast<double>(batch.spans));
        Log(LogLevel::kError, "span export failed permanently; batch dropped",
            {{"reason", r.reason}, {"spans", std::to_string(batch.spans)}, {"err", r.message}});
        return Outcome::kDropped;
      case SendResult::Kind::kRetryable:
        break;
    }
    requests_.WithLabels({"retryable"}).Increment();
    failures_.WithLabels({r.reason}).Increment();
    const auto elapsed = std::chrono::steady_clock::now() - first;
    if (o_.max_elapsed.count() > 0 && elapsed >= o_.max_elapsed) {
      dropped_.WithLabels({"retry_time_exhausted"}).Increment(static_cast<double>(batch.spans));
      Log(LogLevel::kError, "span export kept failing; batch dropped after max_elapsed",
          {{"reason", r.reason}, {"spans", std::to_string(batch.spans)}});
      return Outcome::kDropped;
    }
    std::chrono::milliseconds wait;
    if (r.retry_after) {
      wait = std::min(*r.retry_after, std::chrono::milliseconds(std::chrono::minutes(5)));
    } else {
      std::uniform_real_distribution<double> jitter(1 - o_.jitter, 1 + o_.jitter);
      wait = std::chrono::milliseconds(static_cast<int64_t>(backoff_ms * jitter(rng_)));
      backoff_ms =
          std::min(backoff_ms * o_.backoff_multiplier, static_cast<double>(o_.max_backoff.count()));
    }
    if (attempt == 0 || attempt % 10 == 0) {
      Log(LogLevel::kWarn, "span export failed; retrying",
          {{"reason", r.reason},
           {"attempt", std::to_string(attempt + 1)},
           {"wait_ms", std::to_string(wait.count())},
           {"err", r.message}});
    }
    if (!Sleep(wait)) return Outcome::kAborted;
  }
}

}  // namespace lookout::otlp
