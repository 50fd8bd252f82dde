#pragma once
// Internals of the SLO spec parser, shared by its files; spec_parser.h is the public side.
// spec_parser.cc reads the YAML documents, hands each to its format and refuses a name defined
// twice; lookout_format.cc parses lookout's own format, openslo_format.cc OpenSLO v1, and
// promql_unwrap.cc the PromQL in OpenSLO queries (UnwrapQuery).

#include <yaml-cpp/yaml.h>

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lookout/slo/slo_spec.h"

namespace lookout::slo::detail {

// 99.9 -> 0.999 exactly as written (99.9 / 100 would be 0.9990000000000001): percentages are
// rounded to 10 decimals first.
double PercentToRatio(double percent);

// [A-Za-z0-9][A-Za-z0-9_.-]*, up to 128 characters.
bool IsValidSloName(std::string_view name);

// One entry of a lookout `slos:` list; `path` names it in errors ("slos[2]").
SloSpec ParseLookoutSlo(const YAML::Node& node, const std::string& path, const std::string& file);

// The OpenSLO documents of every file read. SLOs are parsed only once all files are in, since
// an SLO's indicatorRef may name an SLI document of any file (a later one included).
class OpenSloDocuments {
 public:
  // Keeps an SLO or SLI document (an SLI name defined twice throws); the other OpenSLO kinds
  // (Service, AlertPolicy, ...) are valid and ignored.
  void Add(const YAML::Node& doc, const std::string& file);
  // The SLO documents with their files, in the order they were added.
  const std::vector<std::pair<YAML::Node, std::string>>& slos() const { return slos_; }
  // One SLO document as a spec, its indicatorRef resolved among the SLIs added.
  SloSpec ParseSlo(const YAML::Node& doc, const std::string& file) const;

 private:
  std::vector<std::pair<YAML::Node, std::string>> slos_;
  std::map<std::string, std::pair<YAML::Node, std::string>> slis_;
};

}  // namespace lookout::slo::detail
