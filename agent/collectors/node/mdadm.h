#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "lookout/result.h"

namespace lookout {

// One md array of /proc/mdstat, as node_exporter 1.5 (procfs) reads it.
struct MdStat {
  std::string name;            // md0
  std::string activity_state;  // active, inactive, recovering, resyncing, checking (or the
                               // device line's third word when it is something else)
  int64_t disks_active = 0;
  int64_t disks_total = 0;   // the "n" of [n/m]: disks the array needs
  int64_t disks_failed = 0;  // (F)
  int64_t disks_spare = 0;   // (S)
  int64_t blocks_total = 0;
  int64_t blocks_synced = 0;
};

// Errors ("parse") where procfs fails too, so both expose nothing for the file: a device line
// with fewer than 3 words, fewer than 3 lines after it, a status line without a block count or
// (arrays other than raid0/linear/inactive) without "[n/m] [U_]", a sync line without
// "(done/total)", a percentage, "finish=...min" or "speed=...<unit>".
Result<std::vector<MdStat>> ParseMdstat(std::string_view text);

}  // namespace lookout
