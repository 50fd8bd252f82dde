#pragma once
// Collector: reads one source (a /proc file, a cgroup tree, ...) when a scrape asks for it and
// appends metric families. A collector's name is its config key, its log tag and the value of the
// `collector` label on lookout_collector_{duration_seconds,success}.
//
// Thread-safety: Collect() may be called from several scrapes at once; implementations either
// keep no mutable state or guard it themselves.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lookout/metrics/metric.h"
#include "lookout/result.h"

namespace lookout {

class Collector {
 public:
  virtual ~Collector() = default;
  virtual std::string_view Name() const = 0;
  // Appends this collector's families to `out`. On failure, returns the error; whatever it had
  // appended before failing is discarded by the caller, so a failed collector shows no partial
  // data. The exception is an error made with MakePartialError: the collector left out only the
  // entries it could not read (a sensor answering EIO, a device that vanished mid-scrape): its
  // other series are kept, lookout_collector_success stays 1 (node_exporter's collectors that
  // skip such entries report success too) and lookout_collector_errors_total{reason} counts it. May
  // throw (std::bad_alloc, a library's exception): the CollectorSet catches anything, drops the
  // partial output and reports reason "exception", as for a returned error; the scrape and the
  // other collectors go on. (Not noexcept: a throw would then end the process.)
  virtual Status Collect(std::vector<MetricFamily>& out) = 0;
};

// The entries a collector left out in one Collect(), for a MakePartialError: Add() each
// entry's error; Status() is Ok when there was none, else the first error's reason with how many
// entries were left out.
class SkippedEntries {
 public:
  void Add(Error e) {
    if (count_++ == 0) first_ = std::move(e);
  }
  Status ToStatus() const {
    if (count_ == 0) return Ok{};
    std::string detail = first_.detail;
    if (count_ > 1) detail += " (and " + std::to_string(count_ - 1) + " more left out)";
    return MakePartialError(first_.reason, std::move(detail));
  }

 private:
  size_t count_ = 0;
  Error first_;
};

}  // namespace lookout
