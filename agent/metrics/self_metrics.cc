#include "lookout/metrics/self_metrics.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <type_traits>

namespace lookout {
namespace {

MetricType FromPrometheus(::prometheus::MetricType t) {
  switch (t) {
    case ::prometheus::MetricType::Counter:
      return MetricType::kCounter;
    case ::prometheus::MetricType::Gauge:
      return MetricType::kGauge;
    case ::prometheus::MetricType::Histogram:
      return MetricType::kHistogram;
    case ::prometheus::MetricType::Summary:
      return MetricType::kSummary;
    default:
      return MetricType::kUntyped;
  }
}

// One prometheus-cpp series as a lookout Sample, labels in declared order (any constant labels
// after them), and the label values in that order as the sort key.
Sample ToSample(const ::prometheus::ClientMetric& m, MetricType type,
                const std::vector<std::string>& label_names, std::vector<std::string>& key) {
  Sample s;
  s.labels.reserve(m.label.size());
  key.clear();
  for (const auto& name : label_names) {
    for (const auto& l : m.label) {
      if (l.name == name) {
        s.labels.push_back({l.name, l.value});
        key.push_back(l.value);
      }
    }
  }
  for (const auto& l : m.label) {
    if (std::find(label_names.begin(), label_names.end(), l.name) == label_names.end()) {
      s.labels.push_back({l.name, l.value});
      key.push_back(l.value);
    }
  }
  switch (type) {
    case MetricType::kCounter:
      s.value = m.counter.value;
      break;
    case MetricType::kGauge:
      s.value = m.gauge.value;
      break;
    case MetricType::kHistogram:
      s.count = m.histogram.sample_count;
      s.sum = m.histogram.sample_sum;
      s.buckets.reserve(m.histogram.bucket.size());
      for (const auto& b : m.histogram.bucket) {
        Bucket out;
        out.upper_bound = b.upper_bound;
        out.cumulative_count = b.cumulative_count;
        s.buckets.push_back(std::move(out));
      }
      break;
    default:
      s.value = m.untyped.value;
      break;
  }
  return s;
}

}  // namespace

template <typename T>
T& Family<T>::WithLabels(const std::vector<std::string>& values) {
  if (values.size() != label_names_.size()) {
    throw std::invalid_argument("wrong number of label values for " + family_.GetName());
  }
  ::prometheus::Labels labels;
  for (size_t i = 0; i < values.size(); ++i) labels.emplace(label_names_[i], values[i]);
  if constexpr (std::is_same_v<T, ::prometheus::Histogram>) {
    return family_.Add(labels, bounds_);  // an existing child is returned as it is
  } else {
    return family_.Add(labels);
  }
}

template class Family<::prometheus::Counter>;
template class Family<::prometheus::Gauge>;
template class Family<::prometheus::Histogram>;

SelfMetrics::SelfMetrics()
    : registry_(
          std::make_unique<::prometheus::Registry>(::prometheus::Registry::InsertBehavior::Throw)) {
}

SelfMetrics::~SelfMetrics() = default;

template <typename T>
Family<T>& SelfMetrics::Register(::prometheus::detail::Builder<T>& builder, MetricType type,
                                 std::vector<std::string> label_names, std::string unit,
                                 std::vector<double> bounds) {
  for (const auto& l : label_names) {
    if (!IsValidLabelName(l)) throw std::invalid_argument("invalid label name: " + l);
    if (std::count(label_names.begin(), label_names.end(), l) > 1) {
      throw std::invalid_argument("label name declared twice: " + l);
    }
  }
  std::lock_guard lock(mu_);
  // prometheus-cpp validates the name and, with InsertBehavior::Throw, refuses a name already
  // registered for any type (std::invalid_argument).
  ::prometheus::Family<T>& family = builder.Register(*registry_);
  // A copy: Remove() below frees the family and the name it holds (ASan caught the reference).
  const std::string name = family.GetName();
  if (type == MetricType::kCounter && !name.ends_with("_total")) {
    registry_->Remove(family);
    throw std::invalid_argument("counter must end in _total: " + name);
  }
  meta_[name] = Meta{type, std::move(unit), label_names};
  auto facade = std::unique_ptr<Family<T>>(
      new Family<T>(family, std::move(label_names), std::move(bounds)));  // private ctor
  if constexpr (std::is_same_v<T, ::prometheus::Counter>) {
    return *counters_.emplace_back(std::move(facade));
  } else if constexpr (std::is_same_v<T, ::prometheus::Gauge>) {
    return *gauges_.emplace_back(std::move(facade));
  } else {
    return *histograms_.emplace_back(std::move(facade));
  }
}

Family<::prometheus::Counter>& SelfMetrics::AddCounter(
    ::prometheus::detail::Builder<::prometheus::Counter>& builder,
    std::vector<std::string> label_names) {
  return Register(builder, MetricType::kCounter, std::move(label_names), "", {});
}

Family<::prometheus::Gauge>& SelfMetrics::AddGauge(
    ::prometheus::detail::Builder<::prometheus::Gauge>& builder,
    std::vector<std::string> label_names, std::string unit) {
  return Register(builder, MetricType::kGauge, std::move(label_names), std::move(unit), {});
}

Family<::prometheus::Histogram>& SelfMetrics::AddHistogram(
    ::prometheus::detail::Builder<::prometheus::Histogram>& builder, std::vector<double> bounds,
    std::vector<std::string> label_names, std::string unit) {
  if (std::find(label_names.begin(), label_names.end(), "le") != label_names.end()) {
    throw std::invalid_argument("histogram may not use label le");
  }
  if (!std::is_sorted(bounds.begin(), bounds.end()) ||
      std::adjacent_find(bounds.begin(), bounds.end()) != bounds.end() ||
      std::any_of(bounds.begin(), bounds.end(), [](double b) { return std::isnan(b); })) {
    throw std::invalid_argument("histogram bounds must be strictly increasing");
  }
  // prometheus-cpp adds the +Inf bucket itself.
  if (!bounds.empty() && std::isinf(bounds.back()) && bounds.back() > 0) bounds.pop_back();
  return Register(builder, MetricType::kHistogram, std::move(label_names), std::move(unit),
                  std::move(bounds));
}

void SelfMetrics::Collect(std::vector<MetricFamily>& out) {
  std::lock_guard lock(mu_);
  const std::vector<::prometheus::MetricFamily> families = registry_->Collect();
  std::vector<std::pair<std::vector<std::string>, Sample>> keyed;
  for (const auto& pf : families) {
    MetricFamily f;
    f.name = pf.name;
    f.help = pf.help;
    f.type = FromPrometheus(pf.type);
    const auto meta = meta_.find(pf.name);
    static const std::vector<std::string> kNone;
    const auto& label_names = meta != meta_.end() ? meta->second.label_names : kNone;
    if (meta != meta_.end()) f.unit = meta->second.unit;
    keyed.clear();
    keyed.reserve(pf.metric.size());
    for (const auto& m : pf.metric) {
      std::vector<std::string> key;
      Sample s = ToSample(m, f.type, label_names, key);
      keyed.emplace_back(std::move(key), std::move(s));
    }
    // prometheus-cpp lists children in hash order: series by label values, as lookout always has.
    std::sort(keyed.begin(), keyed.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    f.samples.reserve(keyed.size());
    for (auto& [key, s] : keyed) f.samples.push_back(std::move(s));
    out.push_back(std::move(f));
  }
  // prometheus-cpp leaves out a family without children; lookout's model has always listed it
  // (the encoders skip it; MetricsRenderer's merge still sees its name and type).
  for (const auto& entry : meta_) {
    // Not a structured binding: clang 14 refuses to capture one in a lambda.
    const std::string& name = entry.first;
    const bool listed = std::any_of(families.begin(), families.end(),
                                    [&](const auto& pf) { return pf.name == name; });
    if (!listed) out.push_back(MetricFamily{name, "", entry.second.type, entry.second.unit, {}});
  }
}

}  // namespace lookout
