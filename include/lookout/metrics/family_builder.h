#pragma once
// Small helpers collectors use to build families.

#include <string>
#include <utility>
#include <vector>

#include "lookout/metrics/metric.h"

namespace lookout {

// The returned reference points into `out`: it dangles as soon as anything else is pushed into
// `out` (vector reallocation). Fill it before adding the next family, or build the family as a
// local and push it at the end (cpu.cc, time.cc), or keep indices (diskstats.cc, filesystem.cc).
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
