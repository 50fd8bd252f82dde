#pragma once
#include <cstdint>
#include <string_view>

#include "lookout/result.h"

namespace lookout {

// /proc/net/stat/nf_conntrack summed over the per-CPU lines, as node_exporter 1.5 (procfs) reads
// it: the first line is a header; every other line must have exactly 17 hexadecimal fields.
struct ConntrackStats {
  uint64_t found = 0;
  uint64_t invalid = 0;
  uint64_t ignore = 0;
  uint64_t insert = 0;
  uint64_t insert_failed = 0;
  uint64_t drop = 0;
  uint64_t early_drop = 0;
  uint64_t search_restart = 0;
};

Result<ConntrackStats> ParseConntrackStat(std::string_view text);

// nf_conntrack_count / nf_conntrack_max: one decimal number (white space around it allowed).
Result<uint64_t> ParseConntrackValue(std::string_view text);

}  // namespace lookout
