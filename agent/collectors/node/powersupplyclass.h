#pragma once
#include <cstdint>
#include <optional>
#include <string_view>

namespace lookout {

// What one /sys/class/power_supply/<supply>/<file> becomes in node_exporter 1.5: a numeric
// family node_power_supply_<metric>{power_supply} with value = int64 / divisor (micro-units /1e6,
// tenths of a degree /10), or a label of node_power_supply_info. nullopt: not exposed.
struct PowerSupplyAttribute {
  std::string_view metric;  // "current_ampere" for current_now; the info label for text files
  double divisor = 1;
  bool info_label = false;
};
std::optional<PowerSupplyAttribute> PowerSupplyAttributeFor(std::string_view file);

// procfs's ValueParser.PInt64: Go's strconv.ParseInt(s, 0, 64) (0x, 0o, 0b prefixes and '_').
std::optional<int64_t> ParsePowerSupplyValue(std::string_view text);

}  // namespace lookout
