#include "agent/collectors/node/registry_families.h"

#include <utility>

#include "lookout/metrics/family_builder.h"

namespace lookout {

void RegistryFamilies::Add(const std::string& name, const std::string& help, MetricType type,
                           double value, Labels labels, SkippedEntries& skipped,
                           std::string_view what) {
  auto [it, added] = index_.try_emplace(name, families_.size());
  if (added) families_.push_back({name, help, type, {}, {}});
  MetricFamily& family = families_[it->second];
  if (family.help != help) {
    skipped.Add(MakeError("help_conflict", std::string(what) + ": " + name +
                                               " came first with another help text "
                                               "(node_exporter drops it too)"));
    return;
  }
  std::string key = name;
  for (const Label& l : labels) key.append(1, '\0').append(l.value);
  if (!seen_.insert(std::move(key)).second) {
    skipped.Add(MakeError("duplicate_series", std::string(what) + ": " + name +
                                                  " with the same labels came first "
                                                  "(node_exporter keeps the first too)"));
    return;
  }
  AddSample(family, value, std::move(labels));
}

void RegistryFamilies::MoveTo(std::vector<MetricFamily>& out) {
  for (MetricFamily& f : families_) {
    if (!f.samples.empty()) out.push_back(std::move(f));
  }
}

}  // namespace lookout
