#pragma once
// Registry of the agent's own instruments: counters, gauges and histograms with labels.
//
// Thread-safety: everything here is safe to use from any thread. Instrument updates are
// lock-free atomics; looking a child up by label values takes the family's mutex, so hot paths
// look it up once and keep the reference (children live as long as the registry).

#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "lookout/metrics/collectable.h"
#include "lookout/metrics/metric.h"

namespace lookout {

class Counter {
 public:
  void Inc(double v = 1.0);
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Gauge {
 public:
  void Set(double v) { value_.store(v, std::memory_order_relaxed); }
  void Add(double v);
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Histogram {
 public:
  explicit Histogram(const std::vector<double>& bounds);
  void Observe(double v);
  // Observe and remember `exemplar` (e.g. trace_id/span_id) on the bucket the value falls in.
  void Observe(double v, Labels exemplar, double unix_seconds);
  // Cumulative snapshot in `s` (buckets, sum, count).
  void Snapshot(Sample& s) const;

 private:
  size_t BucketIndex(double v) const;
  std::vector<double> bounds_;                       // sorted, without +Inf
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;  // per bucket, +Inf last (not cumulative)
  std::atomic<double> sum_{0};
  std::atomic<uint64_t> count_{0};
  mutable std::mutex exemplar_mu_;
  std::vector<std::optional<Exemplar>> exemplars_;  // guarded by exemplar_mu_
};

// A family of instruments of one type sharing a name and label names.
template <typename T>
class Family {
 public:
  // Returns the child for these label values (created on first use). The number of values must
  // equal the number of label names given at registration, else std::invalid_argument.
  T& WithLabels(const std::vector<std::string>& values);
  T& Get() { return WithLabels({}); }

 private:
  friend class Registry;
  Family(MetricFamily meta, std::vector<std::string> label_names, std::vector<double> bounds)
      : meta_(std::move(meta)), label_names_(std::move(label_names)), bounds_(std::move(bounds)) {}
  void Collect(std::vector<MetricFamily>& out) const;

  MetricFamily meta_;  // name/help/type/unit, no samples
  std::vector<std::string> label_names_;
  std::vector<double> bounds_;  // histograms only
  mutable std::mutex mu_;
  std::map<std::vector<std::string>, std::unique_ptr<T>> children_;  // guarded by mu_
};

class Registry final : public Collectable {
 public:
  // Registration validates the name, label names and (for counters) the `_total` suffix, and
  // throws std::invalid_argument on a bad or duplicate name: these are programming errors.
  Family<Counter>& AddCounter(const std::string& name, const std::string& help,
                              std::vector<std::string> label_names = {});
  Family<Gauge>& AddGauge(const std::string& name, const std::string& help,
                          std::vector<std::string> label_names = {}, std::string unit = "");
  Family<Histogram>& AddHistogram(const std::string& name, const std::string& help,
                                  std::vector<double> bounds,
                                  std::vector<std::string> label_names = {}, std::string unit = "");

  void Collect(std::vector<MetricFamily>& out) override;

 private:
  void CheckNew(const std::string& name, const std::vector<std::string>& label_names);

  std::mutex mu_;
  std::vector<std::string> names_;  // guarded by mu_
  std::deque<std::unique_ptr<Family<Counter>>> counters_;
  std::deque<std::unique_ptr<Family<Gauge>>> gauges_;
  std::deque<std::unique_ptr<Family<Histogram>>> histograms_;
};

}  // namespace lookout
