#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace lookout {

// The names in a whitespace-separated sysfs list (bonding_masters, bonding/slaves), split as
// Go's strings.Fields splits them. Pure.
std::vector<std::string> ParseBondingList(std::string_view text);

// Whether a slave's bonding_slave/mii_status says "up" (white space around it ignored).
bool BondingSlaveUp(std::string_view mii_status);

}  // namespace lookout
