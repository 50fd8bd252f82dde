#pragma once
#include <string_view>

#include "lookout/result.h"

namespace lookout {

// The non-CPU lines of /proc/stat.
struct ProcStat {
  double boot_time = 0;         // btime, unix seconds
  double context_switches = 0;  // ctxt
  double forks = 0;             // processes
  double procs_running = 0;
  double procs_blocked = 0;
  double interrupts = 0;  // first number of the intr line
};

Result<ProcStat> ParseProcStat(std::string_view text);

}  // namespace lookout
