#pragma once
#include <string_view>

namespace lookout {

// The number node_exporter 1.5 takes from an EDAC entry name that matched its glob ("mc10" with
// prefix "mc" -> "10", "csrow3" -> "3"): the digits right after the prefix, as its regular
// expressions `.*devices/system/edac/mc/mc([0-9]*)` and `...csrow([0-9]*)` capture them.
std::string_view EdacEntryNumber(std::string_view entry, std::string_view prefix);

}  // namespace lookout
