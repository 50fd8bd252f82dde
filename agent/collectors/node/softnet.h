#pragma once
#include <cstdint>
#include <string_view>
#include <vector>

#include "lookout/result.h"

namespace lookout {

// One line of /proc/net/softnet_stat: the first three of its hexadecimal 32-bit columns.
struct SoftnetLine {
  uint32_t processed = 0;
  uint32_t dropped = 0;
  uint32_t time_squeezed = 0;
};

// /proc/net/softnet_stat as node_exporter 1.5 (procfs 0.8) reads it: one line per online CPU,
// at least 9 columns (2.6.23 has 9, 4.17 has 11, 5.10+ 13 or more), the first three parsed as
// hexadecimal uint32. A line with fewer columns or a bad number fails the whole file. Lines are
// numbered by position: node_exporter 1.5's `cpu` label is that position, not the kernel's CPU
// index column (5.10+), so the two differ when CPUs are offline.
Result<std::vector<SoftnetLine>> ParseSoftnetStat(std::string_view text);

}  // namespace lookout
