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

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
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

// The files ReadCgroupStats may read, v2 then v1. One bit each in CgroupDir's absent set.
enum class CgroupFile : uint8_t {
  // v2
  kCpuStat,
  kCpuMax,
  kCpuWeight,
  kMemoryCurrent,
  kMemoryMax,
  kMemoryStat,
  kMemorySwapCurrent,
  kMemoryEvents,
  kIoStat,
  kPidsCurrent,
  kPidsMax,      // v1 too
  kCgroupProcs,  // v1 too
  kCpuPressure,
  kMemoryPressure,
  kIoPressure,
  // v1
  kCpuacctUsage,
  kCpuacctStat,
  kCpuCfsQuota,
  kCpuCfsPeriod,
  kCpuShares,
  kMemoryUsageInBytes,
  kMemoryLimitInBytes,
  kMemoryMemswUsage,
  kMemoryOomControl,
  kBlkioBfqServicedRecursive,
  kBlkioBfqServiceBytesRecursive,
  kBlkioSectorsRecursive,
  kBlkioServicedRecursive,
  kBlkioServiceBytesRecursive,
  kBlkioThrottleServicedRecursive,
  kBlkioThrottleServiceBytesRecursive,
  kBlkioThrottleServiced,
  kBlkioThrottleServiceBytes,
  kCount
};
std::string_view CgroupFileName(CgroupFile f);

class CgroupLimitWatch;

// One cgroup directory, as the reader remembers it between scrapes (issue 18: the pod scrape at
// the cost of reading the files that exist). Measured on this VM's cgroupfs, a cgroup five levels
// below the mount: open+read+close 5.4 us, of which the path walk is 2; a failed open 3.1 us.
// Hence:
//   - an O_PATH descriptor of the directory, so each file is opened without walking its path
//     again. It holds no seq_file page (unlike a kept file) but counts against the kept-file
//     limit (kept_files.h: node.max_kept_files). A directory without one (the limit reached, or
//     not created yet: v1 controllers' directories appear one after another) is read by path,
//     every file every time, and remembers nothing else;
//   - the files it does not have (a controller not enabled for it, PSI or swap accounting off,
//     blkio files of another scheduler) are not looked for again;
//   - the limit files (cpu.max, cpu.weight, memory.max, pids.max; v1 cpu.cfs_quota_us,
//     cpu.cfs_period_us, cpu.shares, memory.limit_in_bytes, pids.max) are kept as text while a
//     CgroupLimitWatch watches the directory: a write is an inotify event naming the file (not
//     an mtime change: cgroupfs moves it only for writers that open with O_TRUNC, as a shell's
//     `>` does; runc and systemd do not).
// Both are dropped every `recheck` (the reader's): a controller enabled later adds files, and
// one disabled removes its files without any event.
// A directory removed and created again under the same path is noticed when a file is missing
// through the old descriptor (cgroupfs sends no IN_IGNORED while the watch holds the inode): it
// is reopened and everything it remembered dropped.
// Thread-safety: none; one scrape at a time.
class CgroupDir {
 public:
  CgroupDir() = default;  // not mounted: every read is absent
  explicit CgroupDir(std::string path) : path_(std::move(path)) {}
  ~CgroupDir();
  CgroupDir(CgroupDir&& o) noexcept;
  CgroupDir& operator=(CgroupDir&& o) noexcept;
  CgroupDir(const CgroupDir&) = delete;
  CgroupDir& operator=(const CgroupDir&) = delete;

  const std::string& path() const { return path_; }
  bool empty() const { return path_.empty(); }
  bool has_descriptor() const { return fd_ >= 0; }
  bool watched() const { return wd_ >= 0; }

 private:
  friend class CgroupFileReader;
  friend class CgroupLimitWatch;
  struct LimitText {
    std::string text;
    bool valid = false;
  };
  void Close();
  void Forget();  // absent set, limit texts and the watch
  void ForgetLimits();

  std::string path_;
  int fd_ = -1;                      // O_PATH | O_DIRECTORY, or -1: by path
  uint64_t open_tried_scrape_ = 0;   // the reader generation that last tried to open fd_
  uint64_t checked_scrape_ = 0;      // the reader generation whose reads confirmed fd_
  uint64_t absent_ = 0;              // bit per CgroupFile (only with a descriptor)
  int64_t remembered_since_ns_ = 0;  // steady clock, when absent_ and limits_ were last dropped
  bool watch_failed_ = false;        // until remembered_since_ns_ moves
  // The watched directory itself was moved or deleted (IN_MOVE_SELF, IN_DELETE_SELF): the
  // descriptor may no longer be what the path names; checked at the next read.
  bool moved_ = false;
  uint64_t revalidated_scrape_ = 0;  // the reader generation that last compared fd_ and path_
  CgroupLimitWatch* watch_ = nullptr;
  int wd_ = -1;  // inotify watch descriptor in watch_, or -1
  std::array<LimitText, 4> limits_;
};

// Which cgroup limit files were written since the last scrape: one inotify instance, one watch
// per cgroup directory (IN_MODIFY and friends; a directory watch reports its files' events).
// A directory it cannot watch (no inotify, fs.inotify.max_user_watches reached) has its limits
// read on every scrape; an event queue overflow forgets every kept limit.
// Thread-safety: none; owned by one collector, used within its scrapes. It must outlive the
// CgroupDirs it watches (they unregister themselves when destroyed).
class CgroupLimitWatch {
 public:
  CgroupLimitWatch();
  ~CgroupLimitWatch();
  CgroupLimitWatch(const CgroupLimitWatch&) = delete;
  CgroupLimitWatch& operator=(const CgroupLimitWatch&) = delete;

  // Reads the events since the last call and forgets the limit texts they name. Call at the
  // start of each scrape.
  void Drain();
  size_t watches() const { return dirs_.size(); }

 private:
  friend class CgroupFileReader;
  friend class CgroupDir;
  bool Add(CgroupDir& dir);  // before its limits are read, so no write is missed
  void Remove(CgroupDir& dir);
  void Moved(CgroupDir& dir) { dirs_[dir.wd_] = &dir; }

  int fd_ = -1;
  std::unordered_map<int, CgroupDir*> dirs_;  // by watch descriptor
};

// Reads cgroup files into a buffer the caller reuses across files, so a scrape of hundreds of
// cgroups does not allocate per file. Missing files are normal (controllers differ per kernel
// and per cgroup) and read as absent (nullopt). One reader per scrape: it takes the time once.
class CgroupFileReader {
 public:
  // `limits`: where directories get their limit files watched (nullptr: limits read every time).
  // `recheck`: how long a CgroupDir keeps what it learnt (absent files, limits, that its
  // descriptor is still the directory its path names) before it looks again. Zero: nothing is
  // kept past a scrape, and no directory is watched.
  explicit CgroupFileReader(size_t max_bytes,
                            std::chrono::milliseconds recheck = std::chrono::minutes(5),
                            CgroupLimitWatch* limits = nullptr);
  // Reads dir + "/" + name, by path, remembering nothing. The view is valid until the next Read.
  std::optional<std::string_view> Read(const std::string& dir, std::string_view name);
  // Reads one of a cgroup's files through what `dir` remembers (see CgroupDir). The view is
  // valid until the next Read, or for a limit file until `dir` is read again or destroyed.
  std::optional<std::string_view> Read(CgroupDir& dir, CgroupFile file);
  // Files this reader opened (read or tried): what the memory of CgroupDir saves shows here.
  uint64_t opens() const { return opens_; }

 private:
  void EnsureDescriptor(CgroupDir& dir);
  void Revalidate(CgroupDir& dir);
  int OpenIn(CgroupDir& dir, std::string_view name);
  bool Reopened(CgroupDir& dir);
  // Lets go of dir's descriptor and all it learnt through it; EnsureDescriptor opens the path
  // again from the scrape after `open_tried_scrape` (0: in this one).
  static void DropDescriptor(CgroupDir& dir, uint64_t open_tried_scrape);
  std::optional<std::string_view> ReadFd(int fd);

  size_t max_bytes_;
  int64_t recheck_ns_;
  int64_t steady_now_ns_;
  CgroupLimitWatch* limits_;
  uint64_t scrape_;
  uint64_t opens_ = 0;
  std::string path_;
  std::string buf_;
};

// Where one cgroup lives: v2 has one directory, v1 one per controller (empty = not mounted).
// Keep it between scrapes so its directories remember what CgroupDir remembers.
struct CgroupDirs {
  bool v2 = false;
  CgroupDir unified;
  CgroupDir cpu, cpuacct, memory, blkio, pids;
};

// False when the cgroup is gone (its core accounting file is missing): the caller drops it.
bool ReadCgroupStats(CgroupDirs& dirs, CgroupFileReader& reader, bool want_psi, CgroupStats& out);

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
