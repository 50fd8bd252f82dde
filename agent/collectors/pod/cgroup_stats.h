#pragma once
// Reading one cgroup's statistics, cgroup v2 (unified) or v1 (cpu, cpuacct, memory, blkio, pids
// hierarchies), into one struct with cAdvisor's semantics:
//   working set = usage - inactive_file (v2 memory.stat inactive_file, v1 total_inactive_file),
//                 0 if inactive_file exceeds usage;
//   rss = v2 anon / v1 total_rss; cache = v2 file / v1 total_cache;
//   swap = v2 memory.swap.current / v1 memsw.usage - usage;
//   shares = v1 cpu.shares, or v2 cpu.weight mapped back to [2, 262144] as cAdvisor does;
//   oom events = the oom_kill counter (v2 memory.events, v1 memory.oom_control).
// Parsing is split from reading so every parser is tested on fixture text.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lookout {

struct IoDeviceStat {
  uint32_t major = 0;
  uint32_t minor = 0;
  uint64_t read_bytes = 0;
  uint64_t write_bytes = 0;
  uint64_t reads = 0;
  uint64_t writes = 0;
};

struct PsiTotals {
  double some_seconds = 0;  // "waiting": some task stalled
  double full_seconds = 0;  // "stalled": all tasks stalled
};

struct CgroupStats {
  std::optional<double> cpu_usage_seconds;
  std::optional<double> cpu_user_seconds;
  std::optional<double> cpu_system_seconds;
  std::optional<uint64_t> cfs_periods;
  std::optional<uint64_t> cfs_throttled_periods;
  std::optional<double> cfs_throttled_seconds;

  std::optional<uint64_t> cpu_quota_us;  // absent when unlimited
  std::optional<uint64_t> cpu_period_us;
  std::optional<uint64_t> cpu_shares;
  std::optional<uint64_t> memory_limit_bytes;  // raw; "max" reads as UINT64_MAX

  std::optional<uint64_t> memory_usage_bytes;
  std::optional<uint64_t> memory_working_set_bytes;
  std::optional<uint64_t> memory_rss_bytes;
  std::optional<uint64_t> memory_cache_bytes;
  std::optional<uint64_t> memory_mapped_file_bytes;
  std::optional<uint64_t> memory_swap_bytes;
  std::optional<uint64_t> oom_kills;

  std::vector<IoDeviceStat> io;
  std::optional<uint64_t> processes;
  std::optional<uint64_t> threads;
  std::optional<uint64_t> threads_max;

  std::optional<PsiTotals> psi_cpu;
  std::optional<PsiTotals> psi_memory;
  std::optional<PsiTotals> psi_io;
};

// --- Pure parsers ---------------------------------------------------------------------------

// "key value" lines (cpu.stat, memory.stat, memory.events, cpuacct.stat, memory.oom_control):
// calls fn(key, value) for each line whose value is an unsigned integer.
template <typename Fn>
void ForEachKeyValue(std::string_view text, Fn fn);

// v2 cpu.max: "max 100000" or "50000 100000".
struct CpuMax {
  std::optional<uint64_t> quota_us;
  std::optional<uint64_t> period_us;
};
std::optional<CpuMax> ParseCpuMax(std::string_view text);
// A single unsigned value or "max" (-> UINT64_MAX). v1 cpu.cfs_quota_us "-1" -> nullopt.
std::optional<uint64_t> ParseCgroupValue(std::string_view text);
// v2 io.stat: "8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0" per device.
std::vector<IoDeviceStat> ParseIoStat(std::string_view text);
// v1 blkio.*io_service_bytes* / *io_serviced* ("8:0 Read 123"): fills bytes or ops.
void ParseBlkio(std::string_view text, bool bytes, std::vector<IoDeviceStat>& devices);
// PSI file ("some avg10=0.00 avg60=0.00 avg300=0.00 total=123"); totals are microseconds.
std::optional<PsiTotals> ParsePsi(std::string_view text);
// Lines holding a PID (cgroup.procs).
uint64_t CountLines(std::string_view text);
// cAdvisor's convertCPUWeightToCPULimit: [1, 10000] -> [2, 262144]; nullopt outside.
std::optional<uint64_t> CpuWeightToShares(uint64_t weight);
uint64_t WorkingSet(uint64_t usage, uint64_t inactive_file);

// --- Reading --------------------------------------------------------------------------------

// Reads cgroup files into a buffer the caller reuses across files, so a scrape of hundreds of
// cgroups does not allocate per file. Missing files are normal (controllers differ per kernel
// and per cgroup) and read as false.
class CgroupFileReader {
 public:
  explicit CgroupFileReader(size_t max_bytes) : max_bytes_(max_bytes) {}
  // Reads dir + "/" + name. The view is valid until the next Read.
  std::optional<std::string_view> Read(const std::string& dir, std::string_view name);

 private:
  size_t max_bytes_;
  std::string path_;
  std::string buf_;
};

// Where one cgroup lives: v2 has one directory, v1 one per controller ("" = not mounted).
struct CgroupDirs {
  bool v2 = false;
  std::string unified;
  std::string cpu, cpuacct, memory, blkio, pids;
};

// False when the cgroup is gone (its core accounting file is missing): the caller drops it.
bool ReadCgroupStats(const CgroupDirs& dirs, CgroupFileReader& reader, bool want_psi,
                     CgroupStats& out);

// --- template definition ----------------------------------------------------------------------

template <typename Fn>
void ForEachKeyValue(std::string_view text, Fn fn) {
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    const size_t sp = line.find(' ');
    if (sp == std::string_view::npos) continue;
    const std::string_view key = line.substr(0, sp);
    std::string_view val = line.substr(sp + 1);
    while (!val.empty() && val.back() == '\r') val.remove_suffix(1);
    uint64_t v = 0;
    if (val.empty() || val.size() > 20) continue;
    bool ok = true;
    for (const char c : val) {
      if (c < '0' || c > '9') {
        ok = false;
        break;
      }
      const uint64_t d = static_cast<uint64_t>(c - '0');
      if (v > (UINT64_MAX - d) / 10) {
        ok = false;
        break;
      }
      v = v * 10 + d;
    }
    if (ok) fn(key, v);
  }
}

}  // namespace lookout
