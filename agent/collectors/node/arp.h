#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "lookout/result.h"

namespace lookout {

// /proc/net/arp as node_exporter 1.5 reads it: entries counted by device (the last field of
// each line). A line whose first field is "IP" is the header; any line with fewer than 6 fields
// (a blank one included) fails the file, as does a line over 64 KiB (bufio.Scanner's limit).
// Every entry counts, whatever its flags (incomplete ones too).
Result<std::map<std::string, uint32_t, std::less<>>> ParseArpEntries(std::string_view text);

}  // namespace lookout
