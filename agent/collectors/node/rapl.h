#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

namespace lookout {

// A powercap zone's name split as procfs 0.8's getIndexAndName does: "package-1" is zone
// "package" with index 1; a name without a "-<Go Atoi integer>" suffix (exactly one '-') keeps
// its name and takes, as index, how many zones of that name came before (in directory order).
// `uses` carries that count from zone to zone: name -> index of its last use + 1.
struct RaplZoneName {
  std::string name;
  int64_t index = 0;
};
RaplZoneName SplitRaplZoneName(std::string_view name,
                               std::unordered_map<std::string, int64_t>& uses);

// node_exporter's SanitizeMetricName: every run of characters outside [0-9A-Za-z_], with the
// underscores around it, becomes one "_" ("a b-c" -> "a_b_c").
std::string SanitizeMetricNamePart(std::string_view name);

}  // namespace lookout
