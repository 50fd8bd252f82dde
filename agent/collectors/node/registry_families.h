#pragma once
// Families that take series by the rule of node_exporter's registry (client_golang's Gather):
// the first help text of a family wins and a later series of that family with another help is
// dropped; a second series with the same name and label values is dropped. Collectors whose
// series can collide on hostile input (hwmon chips of the same name, zfs kstat rows) use it to
// drop what node_exporter drops, and count it.
// Thread-safety: none; one per Collect call.

#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "lookout/collector.h"
#include "lookout/metrics/metric.h"

namespace lookout {

class RegistryFamilies {
 public:
  // Adds one sample, or drops it and adds to `skipped` a "help_conflict" or "duplicate_series"
  // error naming `what` (the entry it came from: a chip, a file).
  void Add(const std::string& name, const std::string& help, MetricType type, double value,
           Labels labels, SkippedEntries& skipped, std::string_view what);
  // Appends the families that got at least one sample, in the order they were first added.
  void MoveTo(std::vector<MetricFamily>& out);

 private:
  std::vector<MetricFamily> families_;
  std::unordered_map<std::string, size_t> index_;
  std::unordered_set<std::string> seen_;  // name, then '\0' and each label value
};

}  // namespace lookout
