#pragma once
// FakeApp: the counters (and histograms) an instrumented app would expose, set by a test between
// SLO engine ticks. Shared by the engine and state-file tests.

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "lookout/metrics/collectable.h"

namespace lookout::slo {

// Counters an app would expose, set by the test between ticks.
class FakeApp final : public Collectable {
 public:
  // Sets counter `name` with `labels` to `value` (created: optional _created).
  void Set(const std::string& name, Labels labels, double value,
           std::optional<double> created = std::nullopt) {
    std::lock_guard l(mu_);
    Sample s;
    s.labels = std::move(labels);
    s.value = value;
    s.created = created;
    const std::string key = Key(name, s.labels);  // before s is moved from
    series_[key] = {name, MetricType::kCounter, std::move(s)};
  }
  void Remove(const std::string& name, const Labels& labels) {
    std::lock_guard l(mu_);
    series_.erase(Key(name, labels));
  }
  void SetHistogram(const std::string& name, Labels labels, std::vector<Bucket> buckets,
                    uint64_t count) {
    std::lock_guard l(mu_);
    Sample s;
    s.labels = std::move(labels);
    s.buckets = std::move(buckets);
    s.count = count;
    const std::string key = Key(name, s.labels);
    series_[key] = {name, MetricType::kHistogram, std::move(s)};
  }
  void Collect(std::vector<MetricFamily>& out) override {
    std::lock_guard l(mu_);
    std::map<std::string, size_t> idx;
    for (const auto& [key, e] : series_) {
      auto [it, added] = idx.emplace(e.name, out.size());
      if (added) out.push_back({e.name, "", e.type, "", {}});
      out[it->second].samples.push_back(e.sample);
    }
  }

 private:
  struct Entry {
    std::string name;
    MetricType type;
    Sample sample;
  };
  static std::string Key(const std::string& name, const Labels& labels) {
    std::string k = name;
    for (const auto& l : labels) k += "|" + l.name + "=" + l.value;
    return k;
  }
  std::mutex mu_;
  std::map<std::string, Entry> series_;
};

}  // namespace lookout::slo
