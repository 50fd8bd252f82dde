#include "agent/otlp/metric_store.h"

#include <algorithm>
#include <cmath>

#include "agent/otlp/attributes.h"
#include "agent/otlp/prometheus_naming.h"
#include "lookout/metrics/family_builder.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb.h"

namespace lookout::otlp {

namespace pb = opentelemetry::proto;
using Steady = std::chrono::steady_clock;

namespace {

constexpr uint32_t kNoRecordedValue = 1;

std::string LabelKey(const Labels& labels) {
  std::string key;
  for (const auto& l : labels) {
    key += l.name;
    key += '\xff';
    key += l.value;
    key += '\xfe';
  }
  return key;
}

double NumberValue(const pb::metrics::v1::NumberDataPoint& p) {
  return p.value_case() == pb::metrics::v1::NumberDataPoint::kAsInt
             ? static_cast<double>(p.as_int())
             : p.as_double();
}

template <typename ExemplarT>
std::optional<Exemplar> ToExemplar(const ExemplarT& e) {
  if (e.trace_id().empty() && e.span_id().empty()) return std::nullopt;
  Exemplar x;
  if (!e.trace_id().empty()) x.labels.push_back({"trace_id", HexId(e.trace_id())});
  if (!e.span_id().empty()) x.labels.push_back({"span_id", HexId(e.span_id())});
  x.value = e.value_case() == pb::metrics::v1::Exemplar::kAsInt ? static_cast<double>(e.as_int())
                                                                : e.as_double();
  if (e.time_unix_nano() != 0) x.timestamp = static_cast<double>(e.time_unix_nano()) / 1e9;
  return x;
}

std::optional<double> StartSeconds(uint64_t start_ns) {
  if (start_ns == 0) return std::nullopt;
  return static_cast<double>(start_ns) / 1e9;
}

}  // namespace

OtlpMetricStore::OtlpMetricStore(const OtlpOptions& cfg, const Clock& clock)
    : ttl_(cfg.metrics_series_ttl), max_series_(cfg.metrics_max_series), clock_(clock) {}

size_t OtlpMetricStore::series_count() const {
  std::lock_guard lock(mu_);
  return series_;
}

namespace {

bool TrimmedEmpty(std::string_view s) {
  return s.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

int64_t PointCount(const pb::metrics::v1::Metric& m) {
  switch (m.data_case()) {
    case pb::metrics::v1::Metric::kGauge:
      return m.gauge().data_points_size();
    case pb::metrics::v1::Metric::kSum:
      return m.sum().data_points_size();
    case pb::metrics::v1::Metric::kHistogram:
      return m.histogram().data_points_size();
    case pb::metrics::v1::Metric::kExponentialHistogram:
      return m.exponential_histogram().data_points_size();
    case pb::metrics::v1::Metric::kSummary:
      return m.summary().data_points_size();
    default:
      return 1;
  }
}

}  // namespace

// The Prometheus buckets of an OTLP explicit-bucket histogram point, as the OpenTelemetry
// Collector's Prometheus exporter builds them (exporter/prometheusexporter, collector.go
// convertDoubleHistogram): a bound given twice keeps its first bucket, bounds are sorted with
// their buckets, counts accumulate in that order; a +Inf bound is the +Inf bucket, of which
// there is exactly one and it equals the point's count (prometheus #19425: explicit bounds
// ending in +Inf gave two). Empty, with `why` set, for what no translation makes a valid
// histogram: a NaN bound, bucket_counts of the wrong length, or buckets holding more
// observations than the count.
std::vector<Bucket> HistogramBuckets(const pb::metrics::v1::HistogramDataPoint& p,
                                     std::string* why) {
  const auto& bounds = p.explicit_bounds();
  const auto& counts = p.bucket_counts();
  if (!counts.empty() && counts.size() != bounds.size() + 1) {
    *why = "bucket_counts has " + std::to_string(counts.size()) + " entries for " +
           std::to_string(bounds.size()) + " explicit_bounds (want one more)";
    return {};
  }
  std::vector<std::pair<double, uint64_t>> finite;  // bound, its bucket's own count
  for (int i = 0; i < bounds.size(); ++i) {
    const double b = bounds[i];
    if (std::isnan(b)) {
      *why = "a NaN explicit bound";
      return {};
    }
    if (b == std::numeric_limits<double>::infinity()) continue;  // the +Inf bucket is count
    const bool seen =
        std::any_of(finite.begin(), finite.end(), [b](const auto& f) { return f.first == b; });
    if (!seen) finite.emplace_back(b, counts.empty() ? 0 : counts[i]);
  }
  std::stable_sort(finite.begin(), finite.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<Bucket> buckets;
  uint64_t running = 0;
  for (const auto& [bound, count] : finite) {
    running += count;
    buckets.push_back({bound, running, std::nullopt});
  }
  if (running > p.count()) {
    *why = "the buckets hold " + std::to_string(running) + " observations, count says " +
           std::to_string(p.count());
    return {};
  }
  buckets.push_back({std::numeric_limits<double>::infinity(), p.count(), std::nullopt});
  return buckets;
}

void OtlpMetricStore::Reject(IngestResult& r, const std::string& reason, int64_t n,
                             const std::string& what) {
  r.rejected += n;
  rejected_total_[reason] += static_cast<uint64_t>(n);
  if (r.error_message.empty()) r.error_message = reason + ": " + what;
}

IngestResult OtlpMetricStore::Ingest(
    const pb::collector::metrics::v1::ExportMetricsServiceRequest& req) {
  IngestResult r;
  const auto now = clock_.Monotonic();
  std::lock_guard lock(mu_);
  ExpireLocked(now);

  // Finds or creates the series; null when refused (type conflict or series limit).
  auto series_for = [&](const std::string& name, MetricType type, const std::string& help,
                        const std::string& unit, Labels labels, int64_t points,
                        bool* created) -> Series* {
    auto fit = families_.find(name);
    if (fit == families_.end()) {
      fit = families_.emplace(name, Family{}).first;
      fit->second.type = type;
    } else if (fit->second.type != type) {
      Reject(r, "type_conflict", points, name + " already exists with another type");
      return nullptr;
    }
    Family& fam = fit->second;
    if (!help.empty()) fam.help = help;
    fam.unit = unit;
    std::string key = LabelKey(labels);
    auto sit = fam.series.find(key);
    *created = sit == fam.series.end();
    if (*created) {
      if (series_ >= max_series_) {
        Reject(r, "series_limit", points, "more than " + std::to_string(max_series_) + " series");
        if (fam.series.empty()) families_.erase(fit);
        return nullptr;
      }
      sit = fam.series.emplace(std::move(key), Series{}).first;
      sit->second.sample.labels = std::move(labels);
      ++series_;
    }
    sit->second.last_seen = now;
    return &sit->second;
  };
  // A point flagged "no recorded value" ends its series (OTLP's staleness marker).
  auto ended = [&](uint32_t flags, const std::string& name, const Labels& labels) {
    if ((flags & kNoRecordedValue) == 0) return false;
    ++r.accepted;
    auto fit = families_.find(name);
    if (fit == families_.end()) return true;
    if (fit->second.series.erase(LabelKey(labels)) > 0) --series_;
    if (fit->second.series.empty()) families_.erase(fit);
    return true;
  };

  for (const auto& rm : req.resource_metrics()) {
    const ResourceIdentity id = IdentifyResource(rm.resource());
    if (!id.target_info.empty()) {
      bool created = false;
      if (Series* s = series_for("target_info", MetricType::kGauge, "Target metadata", "",
                                 id.target_info, 0, &created)) {
        s->sample.value = 1;
      }
    }
    for (const auto& sm : rm.scope_metrics()) {
      Labels scope_labels;
      if (!sm.scope().name().empty())
        scope_labels.push_back({"otel_scope_name", sm.scope().name()});
      if (!sm.scope().version().empty()) {
        scope_labels.push_back({"otel_scope_version", sm.scope().version()});
      }
      for (const auto& m : sm.metrics()) {
        auto labels_of = [&](const auto& attributes) {
          Labels l = AttributesToLabels(attributes);
          // An attribute named like an identity label (job, instance, otel_scope_name) is kept
          // as exported_<name>, as scraped labels are.
          auto add = [&l](const Label& x) {
            for (auto& a : l) {
              if (a.name == x.name) a.name = "exported_" + a.name;
            }
            l.push_back(x);
          };
          for (const auto& x : scope_labels) add(x);
          for (const auto& x : id.labels) add(x);
          std::sort(l.begin(), l.end(),
                    [](const Label& a, const Label& b) { return a.name < b.name; });
          return l;
        };
        if (TrimmedEmpty(m.name())) {
          Reject(r, "invalid", PointCount(m), "a metric without a name");
          continue;
        }
        switch (m.data_case()) {
          case pb::metrics::v1::Metric::kGauge:
          case pb::metrics::v1::Metric::kSum: {
            const bool is_sum = m.data_case() == pb::metrics::v1::Metric::kSum;
            const bool monotonic = is_sum && m.sum().is_monotonic();
            const bool delta = is_sum && m.sum().aggregation_temporality() ==
                                             pb::metrics::v1::AGGREGATION_TEMPORALITY_DELTA;
            const auto kind = !is_sum     ? InstrumentKind::kGauge
                              : monotonic ? InstrumentKind::kMonotonicSum
                                          : InstrumentKind::kNonMonotonicSum;
            const std::string name = PrometheusMetricName(m.name(), m.unit(), kind);
            const MetricType type = monotonic ? MetricType::kCounter : MetricType::kGauge;
            const auto& points = is_sum ? m.sum().data_points() : m.gauge().data_points();
            for (const auto& p : points) {
              Labels labels = labels_of(p.attributes());
              if (ended(p.flags(), name, labels)) continue;
              const double v = NumberValue(p);
              // A counter counts up from 0: a negative or NaN monotonic sum is not one (gauges
              // may be anything, NaN included).
              if (monotonic && !(v >= 0)) {
                Reject(r, "invalid", 1, name + ": a monotonic sum must not be negative or NaN");
                continue;
              }
              bool created = false;
              Series* s =
                  series_for(name, type, m.description(), "", std::move(labels), 1, &created);
              if (s == nullptr) continue;
              if (delta && !created) {
                s->sample.value += v;
              } else {
                s->sample.value = v;
              }
              if (monotonic && !delta) s->sample.created = StartSeconds(p.start_time_unix_nano());
              if (monotonic && p.exemplars_size() > 0) {
                s->sample.exemplar = ToExemplar(p.exemplars(p.exemplars_size() - 1));
              }
              ++r.accepted;
            }
            break;
          }
          case pb::metrics::v1::Metric::kHistogram: {
            const std::string name =
                PrometheusMetricName(m.name(), m.unit(), InstrumentKind::kHistogram);
            const bool delta = m.histogram().aggregation_temporality() ==
                               pb::metrics::v1::AGGREGATION_TEMPORALITY_DELTA;
            for (const auto& p : m.histogram().data_points()) {
              Labels labels = labels_of(p.attributes());
              if (ended(p.flags(), name, labels)) continue;
              std::string why;
              std::vector<Bucket> buckets = HistogramBuckets(p, &why);
              if (buckets.empty()) {
                Reject(r, "invalid", 1, name + ": " + why);
                continue;
              }
              for (const auto& e : p.exemplars()) {
                auto x = ToExemplar(e);
                if (!x) continue;
                for (auto& b : buckets) {
                  if (x->value <= b.upper_bound) {
                    b.exemplar = std::move(x);
                    break;
                  }
                }
              }
              bool created = false;
              Series* s = series_for(name, MetricType::kHistogram, m.description(), std::string(),
                                     std::move(labels), 1, &created);
              if (s == nullptr) continue;
              Sample& smp = s->sample;
              const bool same_bounds =
                  !created && smp.buckets.size() == buckets.size() &&
                  std::equal(buckets.begin(), buckets.end(), smp.buckets.begin(),
                             [](const Bucket& a, const Bucket& b) {
                               return a.upper_bound == b.upper_bound;
                             });
              if (delta && same_bounds) {
                for (size_t i = 0; i < buckets.size(); ++i) {
                  smp.buckets[i].cumulative_count += buckets[i].cumulative_count;
                  if (buckets[i].exemplar) smp.buckets[i].exemplar = std::move(buckets[i].exemplar);
                }
                smp.count += p.count();
                smp.sum += p.has_sum() ? p.sum() : 0;
              } else {
                smp.buckets = std::move(buckets);
                smp.count = p.count();
                smp.sum = p.has_sum() ? p.sum() : 0;
                if (!delta) smp.created = StartSeconds(p.start_time_unix_nano());
              }
              ++r.accepted;
            }
            break;
          }
          case pb::metrics::v1::Metric::kSummary: {
            const std::string name =
                PrometheusMetricName(m.name(), m.unit(), InstrumentKind::kSummary);
            for (const auto& p : m.summary().data_points()) {
              Labels labels = labels_of(p.attributes());
              if (ended(p.flags(), name, labels)) continue;
              bool created = false;
              Series* s = series_for(name, MetricType::kSummary, m.description(), std::string(),
                                     std::move(labels), 1, &created);
              if (s == nullptr) continue;
              s->sample.quantiles.clear();
              for (const auto& q : p.quantile_values()) {
                s->sample.quantiles.push_back({q.quantile(), q.value()});
              }
              s->sample.count = p.count();
              s->sample.sum = p.sum();
              s->sample.created = StartSeconds(p.start_time_unix_nano());
              ++r.accepted;
            }
            break;
          }
          case pb::metrics::v1::Metric::kExponentialHistogram:
            Reject(r, "exponential_histogram", m.exponential_histogram().data_points_size(),
                   m.name() +
                       ": exponential histograms are not converted; configure the SDK "
                       "for explicit-bucket histograms");
            break;
          default:
            Reject(r, "invalid", 1, m.name() + ": metric without data");
        }
      }
    }
  }
  accepted_total_ += static_cast<uint64_t>(r.accepted);
  return r;
}

void OtlpMetricStore::ExpireLocked(Steady::time_point now) {
  if (now - last_expiry_ < std::chrono::seconds(1)) return;
  last_expiry_ = now;
  for (auto fit = families_.begin(); fit != families_.end();) {
    auto& series = fit->second.series;
    for (auto it = series.begin(); it != series.end();) {
      if (now - it->second.last_seen > ttl_) {
        it = series.erase(it);
        --series_;
        ++expired_total_;
      } else {
        ++it;
      }
    }
    fit = series.empty() ? families_.erase(fit) : std::next(fit);
  }
}

void OtlpMetricStore::Collect(std::vector<MetricFamily>& out) {
  CollectSome([](std::string_view) { return true; }, out);
}

void OtlpMetricStore::CollectSome(const std::function<bool(std::string_view)>& wanted,
                                  std::vector<MetricFamily>& out) {
  std::lock_guard lock(mu_);
  ExpireLocked(clock_.Monotonic());
  for (const auto& [name, fam] : families_) {
    if (!wanted(name)) continue;
    MetricFamily f;
    f.name = name;
    f.help = fam.help;
    f.type = fam.type;
    f.samples.reserve(fam.series.size());
    for (const auto& [k, s] : fam.series) f.samples.push_back(s.sample);
    out.push_back(std::move(f));
  }
  std::vector<MetricFamily> self;
  auto& points =
      AddFamily(self, "lookout_otlp_metric_points_total",
                "OTLP metric data points received, by result and reason.", MetricType::kCounter);
  AddSample(points, static_cast<double>(accepted_total_), {{"result", "accepted"}});
  for (const auto& [reason, n] : rejected_total_) {
    AddSample(points, static_cast<double>(n), {{"result", "rejected"}, {"reason", reason}});
  }
  auto& series =
      AddFamily(self, "lookout_otlp_metric_series",
                "Series held from OTLP metrics pushed by applications.", MetricType::kGauge);
  AddSample(series, static_cast<double>(series_));
  auto& expired = AddFamily(self, "lookout_otlp_metric_series_expired_total",
                            "OTLP metric series dropped after otlp.metrics.series_ttl without "
                            "an update.",
                            MetricType::kCounter);
  AddSample(expired, static_cast<double>(expired_total_));
  for (auto& f : self) {
    if (wanted(f.name)) out.push_back(std::move(f));
  }
}

}  // namespace lookout::otlp
