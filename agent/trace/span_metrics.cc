#include "agent/trace/span_metrics.h"

#include <algorithm>
#include <array>
#include <cstring>

#include "agent/common/hex.h"
#include "agent/common/utf8.h"
#include "agent/otlp/prometheus_naming.h"

namespace lookout::trace {

// One label set. Bucket counts are per bucket (not cumulative), +Inf last.
struct SpanMetrics::Series {
  std::vector<std::string> label_values;  // service, span, kind, status, dims...
  uint64_t calls = 0;
  double sum = 0;
  std::vector<uint64_t> buckets;
  struct Sampled {
    std::array<char, 16> trace_id{};
    std::array<char, 8> span_id{};
    double value = 0;
    double unix_seconds = 0;
    bool set = false;
  };
  std::vector<Sampled> exemplars;  // per bucket
  Sampled last;                    // for the counter
  double created = 0;              // unix seconds
  std::chrono::steady_clock::time_point last_seen;
};

namespace {

void AppendKeyPart(std::string& key, std::string_view part) {
  const auto n = static_cast<uint32_t>(part.size());
  key.append(reinterpret_cast<const char*>(&n), sizeof n);
  key.append(part);
}

std::optional<Exemplar> ToExemplar(const SpanMetrics::Series& s, size_t i, bool counter) {
  const auto& e = counter ? s.last : s.exemplars[i];
  if (!e.set) return std::nullopt;
  Exemplar ex;
  ex.labels = {{"trace_id", Hex({e.trace_id.data(), 16})}, {"span_id", Hex({e.span_id.data(), 8})}};
  ex.value = counter ? 1 : e.value;
  ex.timestamp = e.unix_seconds;
  return ex;
}

}  // namespace

std::string_view SpanKindName(int kind) {
  static constexpr std::string_view kNames[] = {"SPAN_KIND_UNSPECIFIED", "SPAN_KIND_INTERNAL",
                                                "SPAN_KIND_SERVER",      "SPAN_KIND_CLIENT",
                                                "SPAN_KIND_PRODUCER",    "SPAN_KIND_CONSUMER"};
  return kind >= 0 && kind < 6 ? kNames[kind] : kNames[0];
}

std::string_view StatusCodeName(int code) {
  static constexpr std::string_view kNames[] = {"STATUS_CODE_UNSET", "STATUS_CODE_OK",
                                                "STATUS_CODE_ERROR"};
  return code >= 0 && code < 3 ? kNames[code] : kNames[0];
}

const std::vector<double>& DefaultSpanDurationBucketsMs() {
  static const std::vector<double> kBuckets = {2,   4,   6,    8,    10,   50,   100,   200,
                                               400, 800, 1000, 1400, 2000, 5000, 10000, 15000};
  return kBuckets;
}

SpanMetrics::SpanMetrics(SpanMetricsOptions options, const Clock& clock)
    : options_([&] {
        if (options.buckets.empty()) {
          options.buckets = DefaultSpanDurationBucketsMs();
          if (options.seconds) {
            for (auto& b : options.buckets) b /= 1000;
          }
        }
        std::sort(options.buckets.begin(), options.buckets.end());
        return std::move(options);
      }()),
      clock_(clock),
      last_expire_(clock.Monotonic()) {
  for (const auto& d : options_.dimensions) {
    dimension_labels_.push_back(otlp::PrometheusLabelName(d));
  }
}

SpanMetrics::~SpanMetrics() = default;

size_t SpanMetrics::series_count() const {
  std::lock_guard lock(mu_);
  return series_.size();
}

void SpanMetrics::RecordLocked(const SpanFacts& in) {
  // Label values must be UTF-8 or the whole scrape fails; OTLP strings should be, but the wire
  // scanner does not check. Repairs happen before the key is built, so two different bad byte
  // strings that repair alike share one series instead of exposing duplicates.
  SpanFacts span = in;
  std::string repaired[2];
  std::vector<std::string> repaired_dims;
  std::vector<std::string_view> dims;
  if (!ValidUtf8(span.service_name))
    span.service_name = repaired[0] = ToValidUtf8(span.service_name);
  if (!ValidUtf8(span.span_name)) span.span_name = repaired[1] = ToValidUtf8(span.span_name);
  if (span.dimension_values != nullptr) {
    const size_t n = options_.dimensions.size();
    bool bad = false;
    for (size_t i = 0; i < n && !bad; ++i) bad = !ValidUtf8(span.dimension_values[i]);
    if (bad) {
      repaired_dims.reserve(n);
      for (size_t i = 0; i < n; ++i) repaired_dims.push_back(ToValidUtf8(span.dimension_values[i]));
      dims.assign(repaired_dims.begin(), repaired_dims.end());
      span.dimension_values = dims.data();
    }
  }
  key_.clear();
  AppendKeyPart(key_, span.service_name);
  AppendKeyPart(key_, span.span_name);
  key_ += static_cast<char>(span.kind);
  key_ += static_cast<char>(span.status);
  const size_t ndims = options_.dimensions.size();
  for (size_t i = 0; i < ndims; ++i) {
    AppendKeyPart(key_, span.dimension_values ? span.dimension_values[i] : std::string_view());
  }
  const auto now = clock_.Monotonic();
  Series* s;
  if (auto it = series_.find(std::string_view(key_)); it != series_.end()) {
    s = it->second.get();
  } else {
    if (series_.size() >= options_.max_series && now - last_expire_ > std::chrono::seconds(1)) {
      ExpireLocked(now);  // make room from stale series before overflowing
    }
    auto fresh = std::make_unique<Series>();
    fresh->buckets.assign(options_.buckets.size() + 1, 0);
    if (options_.exemplars) fresh->exemplars.resize(options_.buckets.size() + 1);
    fresh->created = std::chrono::duration<double>(clock_.Now().time_since_epoch()).count();
    if (series_.size() >= options_.max_series) {
      ++overflow_spans_total_;
      if (!overflow_) overflow_ = std::move(fresh);
      s = overflow_.get();
    } else {
      fresh->label_values = {std::string(span.service_name), std::string(span.span_name),
                             std::string(SpanKindName(span.kind)),
                             std::string(StatusCodeName(span.status))};
      for (size_t i = 0; i < ndims; ++i) {
        fresh->label_values.emplace_back(span.dimension_values ? span.dimension_values[i]
                                                               : std::string_view());
      }
      s = fresh.get();
      series_.emplace(key_, std::move(fresh));
    }
  }
  s->last_seen = now;
  const uint64_t dur_ns = span.end_ns > span.start_ns ? span.end_ns - span.start_ns : 0;
  const double v = static_cast<double>(dur_ns) / (options_.seconds ? 1e9 : 1e6);
  ++s->calls;
  s->sum += v;
  const auto& b = options_.buckets;
  const size_t i = static_cast<size_t>(std::lower_bound(b.begin(), b.end(), v) - b.begin());
  ++s->buckets[i];
  if (options_.exemplars && span.trace_id.size() == 16 && span.span_id.size() == 8) {
    auto& e = s->exemplars[i];
    std::memcpy(e.trace_id.data(), span.trace_id.data(), 16);
    std::memcpy(e.span_id.data(), span.span_id.data(), 8);
    e.value = v;
    e.unix_seconds = static_cast<double>(span.end_ns) / 1e9;
    e.set = true;
    s->last = e;
  }
}

void SpanMetrics::ExpireLocked(std::chrono::steady_clock::time_point now) {
  last_expire_ = now;
  std::erase_if(series_, [&](const auto& kv) {
    const bool stale = now - kv.second->last_seen > options_.expiry;
    expired_total_ += stale ? 1 : 0;
    return stale;
  });
  if (overflow_ && now - overflow_->last_seen > options_.expiry) overflow_.reset();
}

void SpanMetrics::Collect(std::vector<MetricFamily>& out) {
  const std::string unit = options_.seconds ? "seconds" : "milliseconds";
  MetricFamily calls{options_.name_prefix + "_calls_total",
                     "Spans seen, by service, span name, kind and status (spanmetrics).",
                     MetricType::kCounter,
                     "",
                     {}};
  MetricFamily duration{options_.name_prefix + "_duration_" + unit,
                        "Span durations (end - start), by service, span name, kind and status.",
                        MetricType::kHistogram,
                        unit,
                        {}};
  MetricFamily self_series{"lookout_span_metrics_series",
                           "Span metric label sets held now.",
                           MetricType::kGauge,
                           "",
                           {}};
  MetricFamily self_expired{"lookout_span_metrics_series_expired_total",
                            "Span metric label sets removed after span_metrics.series_expiry.",
                            MetricType::kCounter,
                            "",
                            {}};
  MetricFamily self_overflow{
      "lookout_span_metrics_overflow_spans_total",
      "Spans counted in the overflow series because span_metrics.max_series was reached.",
      MetricType::kCounter,
      "",
      {}};
  static const std::vector<std::string> kBase = {"service_name", "span_name", "span_kind",
                                                 "status_code"};
  auto add = [&](const Series& s, Labels labels) {
    Sample c;
    c.labels = labels;
    c.value = static_cast<double>(s.calls);
    c.created = s.created;
    if (options_.exemplars) c.exemplar = ToExemplar(s, 0, true);
    calls.samples.push_back(std::move(c));
    Sample h;
    h.labels = std::move(labels);
    h.sum = s.sum;
    h.count = s.calls;
    h.created = s.created;
    uint64_t cumulative = 0;
    for (size_t i = 0; i < s.buckets.size(); ++i) {
      cumulative += s.buckets[i];
      Bucket b;
      b.upper_bound = i < options_.buckets.size() ? options_.buckets[i]
                                                  : std::numeric_limits<double>::infinity();
      b.cumulative_count = cumulative;
      if (options_.exemplars) b.exemplar = ToExemplar(s, i, false);
      h.buckets.push_back(std::move(b));
    }
    duration.samples.push_back(std::move(h));
  };
  {
    std::lock_guard lock(mu_);
    const auto now = clock_.Monotonic();
    ExpireLocked(now);
    calls.samples.reserve(series_.size() + 1);
    duration.samples.reserve(series_.size() + 1);
    for (const auto& [key, s] : series_) {
      Labels labels;
      labels.reserve(s->label_values.size());
      for (size_t i = 0; i < s->label_values.size(); ++i) {
        if (s->label_values[i].empty()) continue;  // Prometheus: empty = absent
        labels.push_back({i < 4 ? kBase[i] : dimension_labels_[i - 4], s->label_values[i]});
      }
      add(*s, std::move(labels));
    }
    if (overflow_) add(*overflow_, {{"otel_metric_overflow", "true"}});
    self_series.samples.emplace_back().value = static_cast<double>(series_.size());
    self_expired.samples.emplace_back().value = static_cast<double>(expired_total_);
    self_overflow.samples.emplace_back().value = static_cast<double>(overflow_spans_total_);
  }
  if (!calls.samples.empty()) {
    out.push_back(std::move(calls));
    out.push_back(std::move(duration));
  }
  out.push_back(std::move(self_series));
  out.push_back(std::move(self_expired));
  out.push_back(std::move(self_overflow));
}

}  // namespace lookout::trace
