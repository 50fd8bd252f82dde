#pragma once
// Small helpers collectors use to build families.

#include <string>
#include <utility>
#include <vector>

#include "lookout/metrics/metric.h"

namespace lookout {

inline MetricFamily& AddFamily(std::vector<MetricFamily>& out, std::string name, std::string help,
                               MetricType type) {
  out.push_back(MetricFamily{std::move(name), std::move(help), type, {}, {}});
  return out.back();
}

inline void AddSample(MetricFamily& f, double value, Labels labels = {}) {
  Sample s;
  s.labels = std::move(labels);
  s.value = value;
  f.samples.push_back(std::move(s));
}

}  // namespace lookout
