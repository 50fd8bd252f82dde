#pragma once
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lookout {

// The node_dmi_info label a /sys/class/dmi/id file fills, as node_exporter 1.5 names it
// ("sys_vendor" -> "system_vendor"); "" for files it does not expose (chassis_type, modalias).
std::string_view DmiLabelForFile(std::string_view file);

}  // namespace lookout
