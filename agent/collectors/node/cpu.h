#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "lookout/result.h"

namespace lookout {

// One `cpuN` line of /proc/stat, converted from USER_HZ ticks to seconds.
struct CpuTimes {
  std::string cpu;  // "0", "1", ... (offline CPUs have no line, so numbers may have gaps)
  double user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0,
         guest = 0, guest_nice = 0;
};

Result<std::vector<CpuTimes>> ParseProcStatCpus(std::string_view text, double user_hz);

}  // namespace lookout
