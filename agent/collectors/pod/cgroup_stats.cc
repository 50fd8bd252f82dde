#include "agent/collectors/pod/cgroup_stats.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdint>

#include "agent/common/file_util.h"

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
void ReadV1Blkio(const std::string& dir, CgroupFileReader& r, std::vector<IoDeviceStat>& io) {
  struct Group {
    std::string_view decides;  // the group's first file in runc's list
    std::string_view serviced, service_bytes;
  };
  static constexpr Group kGroups[] = {
      {"blkio.bfq.io_serviced_recursive", "blkio.bfq.io_serviced_recursive",
       "blkio.bfq.io_service_bytes_recursive"},
      {"blkio.sectors_recursive", "blkio.io_serviced_recursive",
       "blkio.io_service_bytes_recursive"},
      {"blkio.throttle.io_serviced_recursive", "blkio.throttle.io_serviced_recursive",
       "blkio.throttle.io_service_bytes_recursive"},
      {"blkio.throttle.io_serviced", "blkio.throttle.io_serviced",
       "blkio.throttle.io_service_bytes"},
  };
  for (const Group& g : kGroups) {
    auto decides = r.Read(dir, g.decides);
    if (!decides || !HasDeviceLines(*decides)) continue;
    if (auto t = r.Read(dir, g.serviced)) ParseBlkio(*t, false, io);
    if (auto t = r.Read(dir, g.service_bytes)) ParseBlkio(*t, true, io);
    return;
  }
}

void ReadPsi(const std::string& dir, CgroupFileReader& r, CgroupStats& out) {
  if (auto t = r.Read(dir, "cpu.pressure")) out.psi_cpu = ParsePsi(*t);
  if (auto t = r.Read(dir, "memory.pressure")) out.psi_memory = ParsePsi(*t);
  if (auto t = r.Read(dir, "io.pressure")) out.psi_io = ParsePsi(*t);
}

bool ReadV2(const CgroupDirs& d, CgroupFileReader& r, bool want_psi, CgroupStats& out) {
  const std::string& dir = d.unified;
  auto cpu = r.Read(dir, "cpu.stat");
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
  if (auto t = r.Read(dir, "cpu.max")) {
    if (auto m = ParseCpuMax(*t)) {
      out.cpu_quota_us = m->quota_us;
      out.cpu_period_us = m->period_us;
    }
  }
  if (auto t = r.Read(dir, "cpu.weight")) {
    if (auto w = U64(*t)) out.cpu_shares = CpuWeightToShares(*w);
  }
  if (auto t = r.Read(dir, "memory.current")) out.memory_usage_bytes = U64(*t);
  if (auto t = r.Read(dir, "memory.max")) out.memory_limit_bytes = ParseCgroupValue(*t);
  std::optional<uint64_t> inactive_file;
  if (auto t = r.Read(dir, "memory.stat")) {
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
  if (auto t = r.Read(dir, "memory.swap.current")) out.memory_swap_bytes = U64(*t);
  if (auto t = r.Read(dir, "memory.events")) {
    ForEachKeyValue(*t, [&](std::string_view k, uint64_t v) {
      if (k == "oom_kill") out.oom_kills = v;
    });
  }
  if (auto t = r.Read(dir, "io.stat")) out.io = ParseIoStat(*t);
  if (auto t = r.Read(dir, "pids.current")) out.threads = U64(*t);
  if (auto t = r.Read(dir, "pids.max")) out.threads_max = ParseCgroupValue(*t);
  if (auto t = r.Read(dir, "cgroup.procs")) out.processes = CountLines(*t);
  if (want_psi) ReadPsi(dir, r, out);
  return true;
}

bool ReadV1(const CgroupDirs& d, CgroupFileReader& r, CgroupStats& out) {
  bool alive = false;
  if (!d.cpuacct.empty()) {
    if (auto t = r.Read(d.cpuacct, "cpuacct.usage")) {
      alive = true;
      if (auto v = U64(*t)) out.cpu_usage_seconds = static_cast<double>(*v) / 1e9;
    }
    if (auto t = r.Read(d.cpuacct, "cpuacct.stat")) {
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
    if (auto t = r.Read(d.cpu, "cpu.stat")) {
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
    if (auto t = r.Read(d.cpu, "cpu.cfs_quota_us")) out.cpu_quota_us = ParseCgroupValue(*t);
    if (auto t = r.Read(d.cpu, "cpu.cfs_period_us")) out.cpu_period_us = U64(*t);
    if (auto t = r.Read(d.cpu, "cpu.shares")) out.cpu_shares = U64(*t);
  }
  if (!d.memory.empty()) {
    if (auto t = r.Read(d.memory, "memory.usage_in_bytes")) {
      alive = true;
      out.memory_usage_bytes = U64(*t);
    }
    if (auto t = r.Read(d.memory, "memory.limit_in_bytes")) {
      out.memory_limit_bytes = ParseCgroupValue(*t);
    }
    std::optional<uint64_t> inactive_file;
    if (auto t = r.Read(d.memory, "memory.stat")) {
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
      if (auto t = r.Read(d.memory, "memory.memsw.usage_in_bytes")) {
        if (auto memsw = U64(*t)) {
          out.memory_swap_bytes =
              *memsw > *out.memory_usage_bytes ? *memsw - *out.memory_usage_bytes : 0;
        }
      }
    }
    if (auto t = r.Read(d.memory, "memory.oom_control")) {
      ForEachKeyValue(*t, [&](std::string_view k, uint64_t v) {
        if (k == "oom_kill") out.oom_kills = v;
      });
    }
  }
  if (!d.blkio.empty()) ReadV1Blkio(d.blkio, r, out.io);
  if (!d.pids.empty()) {
    if (auto t = r.Read(d.pids, "pids.current")) out.threads = U64(*t);
    if (auto t = r.Read(d.pids, "pids.max")) out.threads_max = ParseCgroupValue(*t);
  }
  const std::string& procs_dir = !d.cpu.empty() ? d.cpu : d.memory;
  if (!procs_dir.empty()) {
    if (auto t = r.Read(procs_dir, "cgroup.procs")) out.processes = CountLines(*t);
  }
  return alive;
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

std::optional<std::string_view> CgroupFileReader::Read(const std::string& dir,
                                                       std::string_view name) {
  path_.assign(dir);
  path_.push_back('/');
  path_.append(name);
  const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
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

bool ReadCgroupStats(const CgroupDirs& dirs, CgroupFileReader& reader, bool want_psi,
                     CgroupStats& out) {
  out = CgroupStats{};
  return dirs.v2 ? ReadV2(dirs, reader, want_psi, out) : ReadV1(dirs, reader, out);
}

}  // namespace lookout
