#pragma once
// Prometheus's relabeling (`<relabel_config>`, model/relabel in Prometheus 2.42), once, for
// every place lookout takes it: `apps.static_targets[].metric_relabel_configs`,
// `apps.pods.metric_relabel_configs` (and remote write's `write_relabel_configs`, issue 19).
//
// Field names, defaults, actions and checks are Prometheus's: source_labels joined by
// separator (";"), regex ("(.*)", RE2 syntax, which is Go's, anchored as ^(?:regex)$),
// modulus, target_label, replacement ("$1", Go's Regexp.Expand: $1, ${1}, $name, ${name},
// $$), action (replace, keep, drop, keepequal, dropequal, hashmod, labelmap, labeldrop,
// labelkeep, lowercase, uppercase; any case, as Prometheus lower-cases it).
//
// A label set is the series' labels with its metric name as `__name__`. Setting a label to ""
// removes it, as labels.Builder does; a set that ends up empty is dropped.
//
// A rule may leave a name that is not a valid label name (labelmap, a literal target_label of
// lowercase and the like), as in Prometheus; the caller decides (a scrape fails on it).
//
// Differences (README, "Relabeling"): regexes are RE2's and lowercase / uppercase use glibc's
// case mapping in C.UTF-8, both on newer Unicode tables than Prometheus 2.42's Go 1.19
// (Unicode 13): letters added since (e.g. U+A7C0, U+2C2F) match \pL and change case here only;
// RE2 refuses a few Go forms and takes a few Go refuses (\C); regex errors are RE2's words.
//
// Thread-safety: a made Relabeler is immutable; Apply() is safe from any thread (RE2 is).

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lookout/metrics/metric.h"
#include "lookout/result.h"

namespace lookout {

enum class RelabelAction : uint8_t {
  kReplace,
  kKeep,
  kDrop,
  kKeepEqual,
  kDropEqual,
  kHashMod,
  kLabelMap,
  kLabelDrop,
  kLabelKeep,
  kLowercase,
  kUppercase,
};

// One `<relabel_config>` as written, with Prometheus's defaults.
struct RelabelConfig {
  std::vector<std::string> source_labels;
  bool source_labels_set = false;  // written, even as [] (labeldrop/labelkeep refuse it)
  std::string separator = ";";
  std::string regex = "(.*)";
  bool regex_set = false;  // written, even as "(.*)" (keepequal/dropequal refuse it)
  uint64_t modulus = 0;
  std::string target_label;
  std::string replacement = "$1";
  RelabelAction action = RelabelAction::kReplace;
};

// "replace" ... "uppercase", in any case; nullopt for anything else.
std::optional<RelabelAction> ParseRelabelAction(std::string_view s);
const char* RelabelActionName(RelabelAction a);

class Relabeler {
 public:
  Relabeler() = default;  // no rules: Apply keeps every set as it is

  // Compiles and checks the rules as Prometheus's Config.Validate does. Error (reason
  // "relabel"): which rule (0-based index) and Prometheus's wording, e.g. "relabel
  // configuration for hashmod requires non-zero modulus".
  static Result<Relabeler> Make(std::vector<RelabelConfig> configs);

  // Applies the rules in order to `labels`: sorted by name, unique names, `__name__` included.
  // On return they are sorted, unique, and hold no empty value. false: a rule dropped the set
  // (keep, drop, keepequal, dropequal, or nothing left); `labels` is then unspecified.
  bool Apply(Labels& labels) const;

  bool empty() const { return rules_.empty(); }
  size_t size() const { return rules_.size(); }

 private:
  struct Rule;
  std::vector<std::shared_ptr<const Rule>> rules_;  // shared: config copies share the RE2s
};

}  // namespace lookout
