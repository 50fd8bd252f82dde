#include "agent/collectors/pod/cgroup_stats.h"

#include <fcntl.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <utility>

#include "agent/common/file_util.h"
#include "agent/common/kept_files.h"

namespace lookout {
namespace {

// USER_HZ: cpuacct.stat counts in these ticks. Fixed at 100 on every Linux ABI we run on, and
// what the kernel exports regardless of CONFIG_HZ.
double TicksPerSecond() {
  static const double kHz = [] {
    const long v = sysconf(_SC_CLK_TCK);
    return v > 0 ? static_cast<double>(v) : 100.0;
  }();
  return kHz;
}

std::optional<uint64_t> U64(std::string_view s) { return ParseU64(TrimSpace(s)); }

IoDeviceStat& DeviceEntry(std::vector<IoDeviceStat>& devices, uint32_t major, uint32_t minor) {
  for (auto& d : devices) {
    if (d.major == major && d.minor == minor) return d;
  }
  devices.push_back(IoDeviceStat{major, minor, 0, 0, 0, 0});
  return devices.back();
}

bool ParseMajorMinor(std::string_view s, uint32_t& major, uint32_t& minor) {
  const size_t colon = s.find(':');
  if (colon == std::string_view::npos) return false;
  const auto ma = ParseU64(s.substr(0, colon));
  const auto mi = ParseU64(s.substr(colon + 1));
  if (!ma || !mi || *ma > UINT32_MAX || *mi > UINT32_MAX) return false;
  major = static_cast<uint32_t>(*ma);
  minor = static_cast<uint32_t>(*mi);
  return true;
}

// Whether a blkio stat file lists any device ("Total N" alone, or nothing, is empty), as runc's
// getBlkioStat returning no entries.
bool HasDeviceLines(std::string_view text) {
  bool found = false;
  std::vector<std::string_view> fields;
  ForEachLine(text, [&](std::string_view line) {
    SplitFields(line, fields);
    found = found || (fields.size() >= 2 && fields[0] != "Total");
  });
  return found;
}

// v1 disk I/O in runc's order (libcontainer/cgroups/fs/blkio.go, GetStats; cAdvisor reads it
// through runc): BFQ, then CFQ, then the throttle layer's recursive files, then its plain ones
// (kernels and controllers without CFQ/BFQ may have only those). A group is used when its first
// file lists devices, else the next is tried.
void ReadV1Blkio(CgroupDir& dir, CgroupFileReader& r, std::vector<IoDeviceStat>& io) {
  struct Group {
    CgroupFile decides;  // the group's first file in runc's list
    CgroupFile serviced, service_bytes;
  };
  static constexpr Group kGroups[] = {
      {CgroupFile::kBlkioBfqServicedRecursive, CgroupFile::kBlkioBfqServicedRecursive,
       CgroupFile::kBlkioBfqServiceBytesRecursive},
      {CgroupFile::kBlkioSectorsRecursive, CgroupFile::kBlkioServicedRecursive,
       CgroupFile::kBlkioServiceBytesRecursive},
      {CgroupFile::kBlkioThrottleServicedRecursive, CgroupFile::kBlkioThrottleServicedRecursive,
       CgroupFile::kBlkioThrottleServiceBytesRecursive},
      {CgroupFile::kBlkioThrottleServiced, CgroupFile::kBlkioThrottleServiced,
       CgroupFile::kBlkioThrottleServiceBytes},
  };
  for (const Group& g : kGroups) {
    auto decides = r.Read(dir, g.decides);
    if (!decides || !HasDeviceLines(*decides)) continue;
    if (auto t = r.Read(dir, g.serviced)) ParseBlkio(*t, false, io);
    if (auto t = r.Read(dir, g.service_bytes)) ParseBlkio(*t, true, io);
    return;
  }
}

void ReadPsi(CgroupDir& dir, CgroupFileReader& r, CgroupStats& out) {
  if (auto t = r.Read(dir, CgroupFile::kCpuPressure)) out.psi_cpu = ParsePsi(*t);
  if (auto t = r.Read(dir, CgroupFile::kMemoryPressure)) out.psi_memory = ParsePsi(*t);
  if (auto t = r.Read(dir, CgroupFile::kIoPressure)) out.psi_io = ParsePsi(*t);
}

bool ReadV2(CgroupDirs& d, CgroupFileReader& r, bool want_psi, CgroupStats& out) {
  CgroupDir& dir = d.unified;
  using F = CgroupFile;
  auto cpu = r.Read(dir, F::kCpuStat);
  if (!cpu) return false;  // every v2 cgroup has cpu.stat: the cgroup is gone
  ForEachKeyValue(*cpu, [&](std::string_view k, uint64_t v) {
    if (k == "usage_usec") {
      out.cpu_usage_seconds = static_cast<double>(v) / 1e6;
    } else if (k == "user_usec") {
      out.cpu_user_seconds = static_cast<double>(v) / 1e6;
    } else if (k == "system_usec") {
      out.cpu_system_seconds = static_cast<double>(v) / 1e6;
    } else if (k == "nr_periods") {
      out.cfs_periods = v;
    } else if (k == "nr_throttled") {
      out.cfs_throttled_periods = v;
    } else if (k == "throttled_usec") {
      out.cfs_throttled_seconds = static_cast<double>(v) / 1e6;
    }
  });
  if (auto t = r.Read(dir, F::kCpuMax)) {
    if (auto m = ParseCpuMax(*t)) {
      out.cpu_quota_us = m->quota_us;
      out.cpu_period_us = m->period_us;
    }
  }
  if (auto t = r.Read(dir, F::kCpuWeight)) {
    if (auto w = U64(*t)) out.cpu_shares = CpuWeightToShares(*w);
  }
  if (auto t = r.Read(dir, F::kMemoryCurrent)) out.memory_usage_bytes = U64(*t);
  if (auto t = r.Read(dir, F::kMemoryMax)) out.memory_limit_bytes = ParseCgroupValue(*t);
  std::optional<uint64_t> inactive_file;
  if (auto t = r.Read(dir, F::kMemoryStat)) {
    ForEachKeyValue(*t, [&](std::string_view k, uint64_t v) {
      if (k == "anon") {
        out.memory_rss_bytes = v;
      } else if (k == "file") {
        out.memory_cache_bytes = v;
      } else if (k == "inactive_file") {
        inactive_file = v;
      } else if (k == "file_mapped") {
        out.memory_mapped_file_bytes = v;
      }
    });
  }
  if (out.memory_usage_bytes) {
    out.memory_working_set_bytes = WorkingSet(*out.memory_usage_bytes, inactive_file.value_or(0));
  }
  if (auto t = r.Read(dir, F::kMemorySwapCurrent)) out.memory_swap_bytes = U64(*t);
  if (auto t = r.Read(dir, F::kMemoryEvents)) {
    ForEachKeyValue(*t, [&](std::string_view k, uint64_t v) {
      if (k == "oom_kill") out.oom_kills = v;
    });
  }
  if (auto t = r.Read(dir, F::kIoStat)) out.io = ParseIoStat(*t);
  if (auto t = r.Read(dir, F::kPidsCurrent)) out.threads = U64(*t);
  if (auto t = r.Read(dir, F::kPidsMax)) out.threads_max = ParseCgroupValue(*t);
  if (auto t = r.Read(dir, F::kCgroupProcs)) out.processes = CountLines(*t);
  if (want_psi) ReadPsi(dir, r, out);
  return true;
}

bool ReadV1(CgroupDirs& d, CgroupFileReader& r, CgroupStats& out) {
  using F = CgroupFile;
  bool alive = false;
  if (!d.cpuacct.empty()) {
    if (auto t = r.Read(d.cpuacct, F::kCpuacctUsage)) {
      alive = true;
      if (auto v = U64(*t)) out.cpu_usage_seconds = static_cast<double>(*v) / 1e9;
    }
    if (auto t = r.Read(d.cpuacct, F::kCpuacctStat)) {
      ForEachKeyValue(*t, [&](std::string_view k, uint64_t v) {
        if (k == "user") {
          out.cpu_user_seconds = static_cast<double>(v) / TicksPerSecond();
        } else if (k == "system") {
          out.cpu_system_seconds = static_cast<double>(v) / TicksPerSecond();
        }
      });
    }
  }
  if (!d.cpu.empty()) {
    if (auto t = r.Read(d.cpu, F::kCpuStat)) {
      ForEachKeyValue(*t, [&](std::string_view k, uint64_t v) {
        if (k == "nr_periods") {
          out.cfs_periods = v;
        } else if (k == "nr_throttled") {
          out.cfs_throttled_periods = v;
        } else if (k == "throttled_time") {
          out.cfs_throttled_seconds = static_cast<double>(v) / 1e9;
        }
      });
    }
    if (auto t = r.Read(d.cpu, F::kCpuCfsQuota)) out.cpu_quota_us = ParseCgroupValue(*t);
    if (auto t = r.Read(d.cpu, F::kCpuCfsPeriod)) out.cpu_period_us = U64(*t);
    if (auto t = r.Read(d.cpu, F::kCpuShares)) out.cpu_shares = U64(*t);
  }
  if (!d.memory.empty()) {
    if (auto t = r.Read(d.memory, F::kMemoryUsageInBytes)) {
      alive = true;
      out.memory_usage_bytes = U64(*t);
    }
    if (auto t = r.Read(d.memory, F::kMemoryLimitInBytes)) {
      out.memory_limit_bytes = ParseCgroupValue(*t);
    }
    std::optional<uint64_t> inactive_file;
    if (auto t = r.Read(d.memory, F::kMemoryStat)) {
      ForEachKeyValue(*t, [&](std::string_view k, uint64_t v) {
        if (k == "total_rss") {
          out.memory_rss_bytes = v;
        } else if (k == "total_cache") {
          out.memory_cache_bytes = v;
        } else if (k == "total_inactive_file") {
          inactive_file = v;
        } else if (k == "total_mapped_file") {
          out.memory_mapped_file_bytes = v;
        }
      });
    }
    if (out.memory_usage_bytes) {
      out.memory_working_set_bytes = WorkingSet(*out.memory_usage_bytes, inactive_file.value_or(0));
      if (auto t = r.Read(d.memory, F::kMemoryMemswUsage)) {
        if (auto memsw = U64(*t)) {
          out.memory_swap_bytes =
              *memsw > *out.memory_usage_bytes ? *memsw - *out.memory_usage_bytes : 0;
        }
      }
    }
    if (auto t = r.Read(d.memory, F::kMemoryOomControl)) {
      ForEachKeyValue(*t, [&](std::string_view k, uint64_t v) {
        if (k == "oom_kill") out.oom_kills = v;
      });
    }
  }
  if (!d.blkio.empty()) ReadV1Blkio(d.blkio, r, out.io);
  if (!d.pids.empty()) {
    if (auto t = r.Read(d.pids, F::kPidsCurrent)) out.threads = U64(*t);
    if (auto t = r.Read(d.pids, F::kPidsMax)) out.threads_max = ParseCgroupValue(*t);
  }
  CgroupDir& procs_dir = !d.cpu.empty() ? d.cpu : d.memory;
  if (!procs_dir.empty()) {
    if (auto t = r.Read(procs_dir, F::kCgroupProcs)) out.processes = CountLines(*t);
  }
  return alive;
}

struct CgroupFileSpec {
  std::string_view name;
  int limit_slot;  // index in CgroupDir::limits_ for a limit file, else -1
};

// In CgroupFile's order. Limit slots are per directory: v2 has four limit files in one directory;
// v1 has three in cpu's, one in memory's, one in pids'.
constexpr std::array<CgroupFileSpec, static_cast<size_t>(CgroupFile::kCount)> kCgroupFiles = {{
    {"cpu.stat", -1},
    {"cpu.max", 0},
    {"cpu.weight", 1},
    {"memory.current", -1},
    {"memory.max", 2},
    {"memory.stat", -1},
    {"memory.swap.current", -1},
    {"memory.events", -1},
    {"io.stat", -1},
    {"pids.current", -1},
    {"pids.max", 3},
    {"cgroup.procs", -1},
    {"cpu.pressure", -1},
    {"memory.pressure", -1},
    {"io.pressure", -1},
    {"cpuacct.usage", -1},
    {"cpuacct.stat", -1},
    {"cpu.cfs_quota_us", 0},
    {"cpu.cfs_period_us", 1},
    {"cpu.shares", 2},
    {"memory.usage_in_bytes", -1},
    {"memory.limit_in_bytes", 0},
    {"memory.memsw.usage_in_bytes", -1},
    {"memory.oom_control", -1},
    {"blkio.bfq.io_serviced_recursive", -1},
    {"blkio.bfq.io_service_bytes_recursive", -1},
    {"blkio.sectors_recursive", -1},
    {"blkio.io_serviced_recursive", -1},
    {"blkio.io_service_bytes_recursive", -1},
    {"blkio.throttle.io_serviced_recursive", -1},
    {"blkio.throttle.io_service_bytes_recursive", -1},
    {"blkio.throttle.io_serviced", -1},
    {"blkio.throttle.io_service_bytes", -1},
}};
static_assert(kCgroupFiles.size() <= 64, "CgroupDir::absent_ has one bit per file");

int64_t ClockNs(clockid_t clock) {
  struct timespec ts {};
  ::clock_gettime(clock, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

// A reader per scrape; a directory remembers the generation that last confirmed its descriptor.
std::atomic<uint64_t> g_reader_generation{0};

// The limit slot a file name in a watch event stands for, or -1.
int LimitSlotOf(std::string_view name) {
  // v2 cpu.weight.nice is another way to write cpu.weight.
  if (name == "cpu.weight.nice") name = "cpu.weight";
  for (const auto& f : kCgroupFiles) {
    if (f.limit_slot >= 0 && f.name == name) return f.limit_slot;
  }
  return -1;
}

}  // namespace

std::optional<CpuMax> ParseCpuMax(std::string_view text) {
  text = TrimSpace(text);
  const size_t sp = text.find(' ');
  if (sp == std::string_view::npos) return std::nullopt;
  CpuMax m;
  const std::string_view quota = text.substr(0, sp);
  if (quota != "max") {
    m.quota_us = ParseU64(quota);
    if (!m.quota_us) return std::nullopt;
  }
  m.period_us = ParseU64(TrimSpace(text.substr(sp + 1)));
  if (!m.period_us) return std::nullopt;
  return m;
}

std::optional<uint64_t> ParseCgroupValue(std::string_view text) {
  text = TrimSpace(text);
  if (text == "max") return UINT64_MAX;
  if (text == "-1") return std::nullopt;
  return ParseU64(text);
}

std::vector<IoDeviceStat> ParseIoStat(std::string_view text) {
  std::vector<IoDeviceStat> out;
  std::vector<std::string_view> fields;
  ForEachLine(text, [&](std::string_view line) {
    SplitFields(line, fields);
    if (fields.empty()) return;
    uint32_t major = 0, minor = 0;
    if (!ParseMajorMinor(fields[0], major, minor)) return;
    IoDeviceStat& d = DeviceEntry(out, major, minor);
    for (size_t i = 1; i < fields.size(); ++i) {
      const size_t eq = fields[i].find('=');
      if (eq == std::string_view::npos) continue;
      const std::string_view k = fields[i].substr(0, eq);
      const auto v = ParseU64(fields[i].substr(eq + 1));
      if (!v) continue;
      if (k == "rbytes") {
        d.read_bytes = *v;
      } else if (k == "wbytes") {
        d.write_bytes = *v;
      } else if (k == "rios") {
        d.reads = *v;
      } else if (k == "wios") {
        d.writes = *v;
      }
    }
  });
  return out;
}

void ParseBlkio(std::string_view text, bool bytes, std::vector<IoDeviceStat>& devices) {
  std::vector<std::string_view> fields;
  ForEachLine(text, [&](std::string_view line) {
    SplitFields(line, fields);
    if (fields.size() != 3) return;  // "Total 123" has two fields
    uint32_t major = 0, minor = 0;
    if (!ParseMajorMinor(fields[0], major, minor)) return;
    const auto v = ParseU64(fields[2]);
    if (!v) return;
    const bool read = fields[1] == "Read";
    if (!read && fields[1] != "Write") return;
    IoDeviceStat& d = DeviceEntry(devices, major, minor);
    if (bytes) {
      (read ? d.read_bytes : d.write_bytes) = *v;
    } else {
      (read ? d.reads : d.writes) = *v;
    }
  });
}

std::optional<PsiTotals> ParsePsi(std::string_view text) {
  PsiTotals t;
  bool some = false;
  std::vector<std::string_view> fields;
  ForEachLine(text, [&](std::string_view line) {
    SplitFields(line, fields);
    if (fields.empty() || (fields[0] != "some" && fields[0] != "full")) return;
    for (size_t i = 1; i < fields.size(); ++i) {
      if (!fields[i].starts_with("total=")) continue;
      const auto v = ParseU64(fields[i].substr(6));
      if (!v) return;
      if (fields[0] == "some") {
        t.some_seconds = static_cast<double>(*v) / 1e6;
        some = true;
      } else {
        t.full_seconds = static_cast<double>(*v) / 1e6;
      }
    }
  });
  if (!some) return std::nullopt;
  return t;
}

uint64_t CountLines(std::string_view text) {
  uint64_t n = 0;
  ForEachLine(text, [&](std::string_view line) {
    if (!TrimSpace(line).empty()) ++n;
  });
  return n;
}

std::optional<uint64_t> CpuWeightToShares(uint64_t weight) {
  if (weight < 1 || weight > 10000) return std::nullopt;
  return 2 + ((weight - 1) * 262142) / 9999;
}

uint64_t WorkingSet(uint64_t usage, uint64_t inactive_file) {
  return inactive_file < usage ? usage - inactive_file : 0;
}

std::string_view CgroupFileName(CgroupFile f) { return kCgroupFiles[static_cast<size_t>(f)].name; }

CgroupDir::~CgroupDir() { Close(); }

CgroupDir::CgroupDir(CgroupDir&& o) noexcept { *this = std::move(o); }

CgroupDir& CgroupDir::operator=(CgroupDir&& o) noexcept {
  if (this == &o) return *this;
  Close();
  path_ = std::move(o.path_);
  fd_ = std::exchange(o.fd_, -1);
  open_tried_scrape_ = o.open_tried_scrape_;
  checked_scrape_ = o.checked_scrape_;
  absent_ = o.absent_;
  remembered_since_ns_ = o.remembered_since_ns_;
  watch_failed_ = o.watch_failed_;
  moved_ = o.moved_;
  revalidated_scrape_ = o.revalidated_scrape_;
  watch_ = std::exchange(o.watch_, nullptr);
  wd_ = std::exchange(o.wd_, -1);
  limits_ = std::move(o.limits_);
  if (watch_ != nullptr && wd_ >= 0) watch_->Moved(*this);
  return *this;
}

void CgroupDir::Close() {
  if (watch_ != nullptr && wd_ >= 0) watch_->Remove(*this);
  if (fd_ < 0) return;
  ::close(fd_);
  fd_ = -1;
  ReleaseKeptFile();
}

void CgroupDir::Forget() {
  absent_ = 0;
  watch_failed_ = false;
  ForgetLimits();
  if (watch_ != nullptr && wd_ >= 0) watch_->Remove(*this);
}

void CgroupDir::ForgetLimits() {
  for (auto& l : limits_) l.valid = false;
}

CgroupLimitWatch::CgroupLimitWatch() : fd_(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) {}

CgroupLimitWatch::~CgroupLimitWatch() {
  for (auto& [wd, dir] : dirs_) {
    dir->wd_ = -1;
    dir->watch_ = nullptr;
  }
  if (fd_ >= 0) ::close(fd_);
}

bool CgroupLimitWatch::Add(CgroupDir& dir) {
  if (fd_ < 0) return false;
  // IN_MODIFY is what a write makes; the others cover trees of regular files (fixtures), whose
  // files can also be replaced or moved away, and directories renamed or removed while their
  // descriptor is kept. IN_ONLYDIR: never a file put where the directory was.
  const int wd = ::inotify_add_watch(fd_, dir.path_.c_str(),
                                     IN_MODIFY | IN_ATTRIB | IN_CREATE | IN_DELETE | IN_MOVED_FROM |
                                         IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR);
  if (wd < 0) return false;  // ENOSPC (max_user_watches), ENOENT (gone): read every time
  if (auto it = dirs_.find(wd); it != dirs_.end() && it->second != &dir) {
    // The same inode watched for another CgroupDir (two paths to one directory): inotify gives
    // one descriptor, so only one of them keeps limits.
    return false;
  }
  dir.watch_ = this;
  dir.wd_ = wd;
  dir.ForgetLimits();  // anything kept before this watch is not covered by it
  dirs_[wd] = &dir;
  return true;
}

void CgroupLimitWatch::Remove(CgroupDir& dir) {
  ::inotify_rm_watch(fd_, dir.wd_);  // EINVAL when the kernel dropped it already: fine
  dirs_.erase(dir.wd_);
  dir.wd_ = -1;
  dir.watch_ = nullptr;
  dir.ForgetLimits();
}

void CgroupLimitWatch::Drain() {
  if (fd_ < 0) return;
  alignas(struct inotify_event) char buf[16384];
  while (true) {
    const ssize_t n = ::read(fd_, buf, sizeof buf);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      return;  // EAGAIN: nothing more
    }
    for (ssize_t at = 0; at + static_cast<ssize_t>(sizeof(struct inotify_event)) <= n;) {
      struct inotify_event ev {};
      std::memcpy(&ev, buf + at, sizeof ev);
      const char* name = buf + at + sizeof ev;
      at += static_cast<ssize_t>(sizeof ev + ev.len);
      if ((ev.mask & IN_Q_OVERFLOW) != 0) {  // events lost: trust no kept limit
        for (auto& [wd, dir] : dirs_) dir->ForgetLimits();
        continue;
      }
      const auto it = dirs_.find(ev.wd);
      if (it == dirs_.end()) continue;
      CgroupDir& dir = *it->second;
      if ((ev.mask & IN_IGNORED) != 0) {  // the watch is gone (not sent on cgroupfs rmdir)
        dirs_.erase(it);
        dir.wd_ = -1;
        dir.watch_ = nullptr;
        dir.ForgetLimits();
        continue;
      }
      if ((ev.mask & (IN_DELETE_SELF | IN_MOVE_SELF)) != 0) {
        dir.moved_ = true;
        dir.ForgetLimits();
        continue;
      }
      const int slot =
          ev.len > 0 ? LimitSlotOf(std::string_view(name, ::strnlen(name, ev.len))) : -1;
      if (slot >= 0) dir.limits_[static_cast<size_t>(slot)].valid = false;
    }
  }
}

CgroupFileReader::CgroupFileReader(size_t max_bytes, std::chrono::milliseconds recheck,
                                   CgroupLimitWatch* limits)
    : max_bytes_(max_bytes),
      recheck_ns_(std::chrono::duration_cast<std::chrono::nanoseconds>(recheck).count()),
      steady_now_ns_(ClockNs(CLOCK_MONOTONIC)),
      limits_(limits),
      scrape_(++g_reader_generation) {}

std::optional<std::string_view> CgroupFileReader::ReadFd(int fd) {
  // Cgroup files are small; memory.stat is the largest at ~1.5 KiB. Read until EOF.
  if (buf_.size() < 4096) buf_.resize(4096);
  size_t len = 0;
  bool ok = true;
  while (true) {
    if (len == buf_.size()) {
      if (buf_.size() >= max_bytes_) {
        ok = false;
        break;
      }
      buf_.resize(std::min(buf_.size() * 2, max_bytes_));
    }
    const ssize_t n = ::read(fd, buf_.data() + len, buf_.size() - len);
    if (n < 0) {
      if (errno == EINTR) continue;
      ok = false;
      break;
    }
    if (n == 0) break;
    len += static_cast<size_t>(n);
    // A short read is the end: cgroup files are generated whole on the first read, regular
    // files (fixtures) return everything left. Skipping the read that would return 0 saves a
    // quarter of the syscalls of a scrape.
    if (len < buf_.size()) break;
  }
  ::close(fd);
  if (!ok) return std::nullopt;
  return std::string_view(buf_.data(), len);
}

std::optional<std::string_view> CgroupFileReader::Read(const std::string& dir,
                                                       std::string_view name) {
  path_.assign(dir);
  path_.push_back('/');
  path_.append(name);
  ++opens_;
  const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  return ReadFd(fd);
}

namespace {
bool SameInode(const struct stat& a, const struct stat& b) {
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}
}  // namespace

// The directory at dir.path_ is not the one its descriptor holds (removed, maybe created
// again): true when it exists again under a new descriptor, with nothing remembered.
bool CgroupFileReader::Reopened(CgroupDir& dir) {
  dir.checked_scrape_ = scrape_;
  const int fd = ::open(dir.path_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    // Gone: drop the descriptor, so that what is missing now is not remembered as absent and
    // a directory made again under the path is opened afresh (from the next scrape).
    DropDescriptor(dir, scrape_);
    return false;
  }
  struct stat old_st {
  }, new_st{};
  if (::fstat(dir.fd_, &old_st) == 0 && ::fstat(fd, &new_st) == 0 && SameInode(old_st, new_st)) {
    ::close(fd);  // the same directory: the file is just absent
    return false;
  }
  ::close(dir.fd_);  // the reservation moves to the new descriptor
  dir.fd_ = fd;
  dir.Forget();
  return true;
}

// Drops dir's descriptor when its path no longer names that directory (renamed away, removed,
// or another one there now; cgroupfs cannot rename, trees of regular files can), so the next
// EnsureDescriptor opens what the path names. Once a scrape at most: a stat and an fstat.
void CgroupFileReader::Revalidate(CgroupDir& dir) {
  dir.moved_ = false;
  if (dir.fd_ < 0 || dir.revalidated_scrape_ == scrape_) return;
  dir.revalidated_scrape_ = scrape_;
  struct stat at_path {
  }, held{};
  if (::stat(dir.path_.c_str(), &at_path) == 0 && ::fstat(dir.fd_, &held) == 0 &&
      SameInode(at_path, held)) {
    return;
  }
  DropDescriptor(dir, 0);  // reopened by this very scrape
}

void CgroupFileReader::DropDescriptor(CgroupDir& dir, uint64_t open_tried_scrape) {
  dir.Close();
  dir.Forget();
  dir.open_tried_scrape_ = open_tried_scrape;
}

// Opens dir's descriptor if it has none, at most once a scrape (it may not exist yet, or the
// kept-file limit may have room again).
void CgroupFileReader::EnsureDescriptor(CgroupDir& dir) {
  if (dir.fd_ >= 0 || dir.open_tried_scrape_ == scrape_) return;
  dir.open_tried_scrape_ = scrape_;
  if (!ReserveKeptFile()) return;
  dir.fd_ = ::open(dir.path_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dir.fd_ < 0) {
    ReleaseKeptFile();
    return;
  }
  dir.checked_scrape_ = scrape_;
  dir.Forget();  // learnt without a descriptor: nothing, but say so
}

// Opens `name` in `dir`: through its descriptor, else by path. -1 with errno on failure.
int CgroupFileReader::OpenIn(CgroupDir& dir, std::string_view name) {
  ++opens_;
  if (dir.fd_ < 0) {
    path_.assign(dir.path_);
    path_.push_back('/');
    path_.append(name);
    return ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  }
  path_.assign(name);  // NUL-terminated for openat
  int fd = ::openat(dir.fd_, path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT && dir.checked_scrape_ != scrape_) {
    if (!Reopened(dir)) {
      errno = ENOENT;
      return -1;
    }
    ++opens_;
    fd = ::openat(dir.fd_, path_.c_str(), O_RDONLY | O_CLOEXEC);
  }
  if (fd >= 0) dir.checked_scrape_ = scrape_;
  return fd;
}

std::optional<std::string_view> CgroupFileReader::Read(CgroupDir& dir, CgroupFile file) {
  if (dir.empty()) return std::nullopt;
  const bool recheck = steady_now_ns_ - dir.remembered_since_ns_ >= recheck_ns_;
  if (recheck) {
    dir.absent_ = 0;
    dir.watch_failed_ = false;
    dir.ForgetLimits();
    dir.remembered_since_ns_ = steady_now_ns_;
  }
  if (recheck || dir.moved_) Revalidate(dir);
  EnsureDescriptor(dir);
  const bool remember = dir.fd_ >= 0;  // by path, nothing says the directory exists
  const auto& spec = kCgroupFiles[static_cast<size_t>(file)];
  const uint64_t bit = uint64_t{1} << static_cast<unsigned>(file);
  if ((dir.absent_ & bit) != 0) return std::nullopt;
  CgroupDir::LimitText* kept =
      spec.limit_slot >= 0 ? &dir.limits_[static_cast<size_t>(spec.limit_slot)] : nullptr;
  if (kept != nullptr && remember) {
    if (kept->valid && dir.watched()) return std::string_view(kept->text);
    // Watched before the read, so a write after it is an event at the next Drain.
    if (!dir.watched() && !dir.watch_failed_ && limits_ != nullptr && recheck_ns_ > 0) {
      dir.watch_failed_ = !limits_->Add(dir);
    }
  }
  const int fd = OpenIn(dir, spec.name);
  if (fd < 0) {
    if (errno == ENOENT && dir.fd_ >= 0) dir.absent_ |= bit;
    return std::nullopt;
  }
  const auto text = ReadFd(fd);
  if (kept == nullptr || !text) return text;
  kept->text.assign(*text);
  kept->valid = dir.fd_ >= 0 && dir.watched();
  return std::string_view(kept->text);
}

bool ReadCgroupStats(CgroupDirs& dirs, CgroupFileReader& reader, bool want_psi, CgroupStats& out) {
  out = CgroupStats{};
  return dirs.v2 ? ReadV2(dirs, reader, want_psi, out) : ReadV1(dirs, reader, out);
}

}  // namespace lookout
