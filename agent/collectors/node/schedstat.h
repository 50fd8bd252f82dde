#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace lookout {

// One cpuN line of /proc/schedstat (version 15: yld_count, 0, sched_count, sched_goidle,
// ttwu_count, ttwu_local, rq_cpu_time, run_delay, pcount); the three node_exporter exposes.
struct SchedstatCpu {
  std::string cpu;                   // N of cpuN, as written (the `cpu` label)
  uint64_t running_nanoseconds = 0;  // rq_cpu_time: time spent running tasks
  uint64_t waiting_nanoseconds = 0;  // run_delay: time tasks waited on the run queue
  uint64_t timeslices = 0;           // pcount: tasks run on this CPU
};

// /proc/schedstat as procfs 0.8 reads it: every line in which Go's regexp
// `cpu(\d+) (\d+) (\d+) (\d+) (\d+) (\d+) (\d+) (\d+) (\d+) (\d+)` matches (unanchored, so the
// version, timestamp and domainN lines never do) gives one CPU; a line whose three values
// overflow uint64 is skipped. Nothing here fails: a file without cpu lines gives no CPUs, and a
// line over 64 KiB ends the scan quietly (procfs ignores the scanner's error).
std::vector<SchedstatCpu> ParseSchedstat(std::string_view text);

}  // namespace lookout
