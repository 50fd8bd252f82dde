#include "lookout/metrics/registry.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace lookout {
namespace {

void AtomicAdd(std::atomic<double>& a, double v) {
  double cur = a.load(std::memory_order_relaxed);
  while (!a.compare_exchange_weak(cur, cur + v, std::memory_order_relaxed)) {
  }
}

}  // namespace

void Counter::Inc(double v) {
  if (!(v >= 0)) return;  // counters only go up; NaN and negatives are ignored
  AtomicAdd(value_, v);
}

void Gauge::Add(double v) { AtomicAdd(value_, v); }

Histogram::Histogram(const std::vector<double>& bounds)
    : bounds_(bounds),
      counts_(std::make_unique<std::atomic<uint64_t>[]>(bounds.size() + 1)),
      exemplars_(bounds.size() + 1) {
  if (!std::is_sorted(bounds_.begin(), bounds_.end()) ||
      std::adjacent_find(bounds_.begin(), bounds_.end()) != bounds_.end()) {
    throw std::invalid_argument("histogram bounds must be strictly increasing");
  }
  if (!bounds_.empty() && std::isinf(bounds_.back())) bounds_.pop_back();
}

size_t Histogram::BucketIndex(double v) const {
  return std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin();
}

void Histogram::Observe(double v) {
  counts_[BucketIndex(v)].fetch_add(1, std::memory_order_relaxed);
  AtomicAdd(sum_, v);
  count_.fetch_add(1, std::memory_order_relaxed);
}

void Histogram::Observe(double v, Labels exemplar, double unix_seconds) {
  const size_t i = BucketIndex(v);
  {
    std::lock_guard lock(exemplar_mu_);
    exemplars_[i] = Exemplar{std::move(exemplar), v, unix_seconds};
  }
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  AtomicAdd(sum_, v);
  count_.fetch_add(1, std::memory_order_relaxed);
}

void Histogram::Snapshot(Sample& s) const {
  // Read count first: a concurrent Observe may make buckets run slightly ahead of it, never the
  // reverse, and +Inf is then set to the bucket total so the exposition stays consistent.
  s.count = count_.load(std::memory_order_relaxed);
  s.sum = sum_.load(std::memory_order_relaxed);
  s.buckets.clear();
  s.buckets.reserve(bounds_.size() + 1);
  uint64_t cumulative = 0;
  std::lock_guard lock(exemplar_mu_);
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    cumulative += counts_[i].load(std::memory_order_relaxed);
    Bucket b;
    b.upper_bound = i < bounds_.size() ? bounds_[i] : INFINITY;
    b.cumulative_count = cumulative;
    b.exemplar = exemplars_[i];
    s.buckets.push_back(std::move(b));
  }
  s.count = cumulative;
}

template <typename T>
T& Family<T>::WithLabels(const std::vector<std::string>& values) {
  if (values.size() != label_names_.size()) {
    throw std::invalid_argument("wrong number of label values for " + meta_.name);
  }
  std::lock_guard lock(mu_);
  auto it = children_.find(values);
  if (it != children_.end()) return *it->second;
  std::unique_ptr<T> child;
  if constexpr (std::is_same_v<T, Histogram>) {
    child = std::make_unique<T>(bounds_);
  } else {
    child = std::make_unique<T>();
  }
  return *children_.emplace(values, std::move(child)).first->second;
}

template <typename T>
void Family<T>::Collect(std::vector<MetricFamily>& out) const {
  MetricFamily f;
  f.name = meta_.name;
  f.help = meta_.help;
  f.type = meta_.type;
  f.unit = meta_.unit;
  std::lock_guard lock(mu_);
  f.samples.reserve(children_.size());
  for (const auto& [values, child] : children_) {
    Sample s;
    s.labels.reserve(values.size());
    for (size_t i = 0; i < values.size(); ++i) s.labels.push_back({label_names_[i], values[i]});
    if constexpr (std::is_same_v<T, Histogram>) {
      child->Snapshot(s);
    } else {
      s.value = child->Value();
    }
    f.samples.push_back(std::move(s));
  }
  out.push_back(std::move(f));
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

void Registry::CheckNew(const std::string& name, const std::vector<std::string>& label_names) {
  if (!IsValidMetricName(name)) throw std::invalid_argument("invalid metric name: " + name);
  for (const auto& l : label_names) {
    if (!IsValidLabelName(l)) throw std::invalid_argument("invalid label name: " + l);
  }
  if (std::find(names_.begin(), names_.end(), name) != names_.end()) {
    throw std::invalid_argument("metric registered twice: " + name);
  }
  names_.push_back(name);
}

Family<Counter>& Registry::AddCounter(const std::string& name, const std::string& help,
                                      std::vector<std::string> label_names) {
  if (!name.ends_with("_total")) throw std::invalid_argument("counter must end in _total: " + name);
  std::lock_guard lock(mu_);
  CheckNew(name, label_names);
  MetricFamily meta{name, help, MetricType::kCounter, "", {}};
  counters_.push_back(std::unique_ptr<Family<Counter>>(
      new Family<Counter>(std::move(meta), std::move(label_names), {})));  // private ctor
  return *counters_.back();
}

Family<Gauge>& Registry::AddGauge(const std::string& name, const std::string& help,
                                  std::vector<std::string> label_names, std::string unit) {
  std::lock_guard lock(mu_);
  CheckNew(name, label_names);
  MetricFamily meta{name, help, MetricType::kGauge, std::move(unit), {}};
  gauges_.push_back(std::unique_ptr<Family<Gauge>>(
      new Family<Gauge>(std::move(meta), std::move(label_names), {})));
  return *gauges_.back();
}

Family<Histogram>& Registry::AddHistogram(const std::string& name, const std::string& help,
                                          std::vector<double> bounds,
                                          std::vector<std::string> label_names, std::string unit) {
  if (std::find(label_names.begin(), label_names.end(), "le") != label_names.end()) {
    throw std::invalid_argument("histogram may not use label le: " + name);
  }
  std::lock_guard lock(mu_);
  CheckNew(name, label_names);
  Histogram probe(bounds);  // validates bounds now rather than at first use
  MetricFamily meta{name, help, MetricType::kHistogram, std::move(unit), {}};
  histograms_.push_back(std::unique_ptr<Family<Histogram>>(
      new Family<Histogram>(std::move(meta), std::move(label_names), std::move(bounds))));
  return *histograms_.back();
}

void Registry::Collect(std::vector<MetricFamily>& out) {
  std::lock_guard lock(mu_);
  for (const auto& f : counters_) f->Collect(out);
  for (const auto& f : gauges_) f->Collect(out);
  for (const auto& f : histograms_) f->Collect(out);
}

}  // namespace lookout
