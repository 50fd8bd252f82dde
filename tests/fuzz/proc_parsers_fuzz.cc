// Fuzzes every /proc, /sys, /etc and textfile parser of the node collectors (and the Go-compatible
// number and path helpers they use). The first byte picks the parser, the rest is the input.
// Parsers must return a value or an error, never crash, hang or read out of bounds (ASan/UBSan run
// with it).
#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "agent/collectors/node/arp.h"
#include "agent/collectors/node/bcache.h"
#include "agent/collectors/node/bonding.h"
#include "agent/collectors/node/btrfs.h"
#include "agent/collectors/node/conntrack.h"
#include "agent/collectors/node/cpu.h"
#include "agent/collectors/node/cpufreq.h"
#include "agent/collectors/node/diskstats.h"
#include "agent/collectors/node/dmi.h"
#include "agent/collectors/node/edac.h"
#include "agent/collectors/node/entropy.h"
#include "agent/collectors/node/fibrechannel.h"
#include "agent/collectors/node/filesystem.h"
#include "agent/collectors/node/hwmon.h"
#include "agent/collectors/node/infiniband.h"
#include "agent/collectors/node/ipvs.h"
#include "agent/collectors/node/loadavg.h"
#include "agent/collectors/node/mdadm.h"
#include "agent/collectors/node/meminfo.h"
#include "agent/collectors/node/netclass.h"
#include "agent/collectors/node/netdev.h"
#include "agent/collectors/node/netstat.h"
#include "agent/collectors/node/nfs.h"
#include "agent/collectors/node/nvme.h"
#include "agent/collectors/node/os_release.h"
#include "agent/collectors/node/pressure.h"
#include "agent/collectors/node/rapl.h"
#include "agent/collectors/node/schedstat.h"
#include "agent/collectors/node/sockstat.h"
#include "agent/collectors/node/softnet.h"
#include "agent/collectors/node/stat.h"
#include "agent/collectors/node/textfile.h"
#include "agent/collectors/node/thermal_zone.h"
#include "agent/collectors/node/timex.h"
#include "agent/collectors/node/udp_queues.h"
#include "agent/collectors/node/xfs.h"
#include "agent/collectors/node/zfs.h"
#include "agent/common/file_util.h"
#include "agent/common/go_path.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  using namespace lookout;
  switch (data[0] % 38) {
    case 0:
      (void)ParseProcStatCpus(in, 100);
      break;
    case 1:
      (void)ParseProcStat(in);
      break;
    case 2:
      (void)ParseMeminfo(in);
      break;
    case 3:
      (void)ParseLoadavg(in);
      break;
    case 4:
      (void)ParseDiskstats(in);
      break;
    case 5:
      (void)ParseUdevData(in);
      break;
    case 6:
      (void)ParseMounts(in);
      break;
    case 7:
      (void)ParseNetDev(in);
      break;
    case 8:
      (void)ParsePressure(in);
      break;
    case 9:
      (void)ParseSockstat(in);
      break;
    case 10:
      (void)ParseNetstatPairs(in);
      break;
    case 11:
      (void)ParseSnmp6(in);
      break;
    case 12:
      (void)ParseOsRelease(in);
      break;
    case 13:
      (void)ParseConntrackStat(in);
      break;
    case 14:
      (void)ParseConntrackValue(in);
      break;
    case 15:
      (void)ParseMdstat(in);
      break;
    case 16:
      (void)ParseBondingList(in);
      (void)BondingSlaveUp(in);
      break;
    case 17: {
      // Parse, then merge the file with itself (repeated families, series, help conflicts).
      auto r = ParseTextfile(in);
      if (r.ok()) {
        auto f = std::make_shared<const std::vector<TextfileFamily>>(std::move(*r));
        (void)MergeTextfiles({{"/a.prom", f}, {"/b.prom", f}}, {});
      }
      break;
    }
    case 18: {
      // One interface: the attribute files' contents, NUL-separated in kNetClassAttrs order; an
      // empty piece is an absent file.
      NetClassRaw raw;
      std::string_view rest = in;
      for (size_t i = 0; i < raw.size() && !rest.empty(); ++i) {
        const size_t nul = rest.find('\0');
        const std::string_view piece = rest.substr(0, nul);
        if (!piece.empty()) raw[i] = piece;
        rest = nul == std::string_view::npos ? std::string_view() : rest.substr(nul + 1);
      }
      auto n = ParseNetClassIface("eth0", raw);
      if (n.ok()) {
        (void)NetClassFamilies({*n}, false);
        (void)NetClassFamilies({*n}, true);
      }
      break;
    }
    case 19: {
      const size_t nl = in.find('\n');
      (void)GoPathMatch(in.substr(0, nl), nl == std::string_view::npos ? "" : in.substr(nl + 1));
      (void)GoCleanPath(in);
      break;
    }
    case 20: {
      (void)ParseGoFloat(in);
      (void)ParseGoInt(in, 0);
      (void)ParseGoInt(in, 10);
      (void)TrimGoSpace(in);
      std::vector<std::string_view> fields;
      SplitGoFields(in, fields);
      break;
    }
    case 21: {
      struct timex tx {};
      std::memcpy(&tx, in.data(), std::min(in.size(), sizeof tx));
      (void)TimexFamilies(tx, in.empty() ? 0 : in[0]);
      break;
    }
    case 22:
      (void)ParseArpEntries(in);
      break;
    case 23:
      (void)ParseKernelRandomValue(in);
      (void)ParseGoUint(in, 0);
      (void)ParseGoUint(in, 16);
      break;
    case 24:
      (void)ParseSchedstat(in);
      break;
    case 25:
      (void)ParseSoftnetStat(in);
      break;
    case 26:
      (void)ParseUdpQueues(in);
      break;
    case 27: {
      // cpufreq: the seven files' contents, NUL-separated in kCpufreqFiles order; an empty
      // piece is an absent file.
      CpufreqContents c;
      std::string_view rest = in;
      for (size_t i = 0; i < c.size() && !rest.empty(); ++i) {
        const size_t nul = rest.find('\0');
        const std::string_view piece = rest.substr(0, nul);
        if (!piece.empty()) c[i] = std::string(piece);
        rest = nul == std::string_view::npos ? std::string_view() : rest.substr(nul + 1);
      }
      (void)ParseCpufreqValues(c);
      break;
    }
    case 28: {
      // A thermal zone's and a cooling device's files, NUL-separated: type, policy, temp, mode,
      // passive, then type, max_state, cur_state; an empty piece is an absent file (ENOENT).
      SysfsValue v[8];
      std::string_view rest = in;
      for (auto& x : v) {
        const size_t nul = rest.find('\0');
        const std::string_view piece = rest.substr(0, nul);
        x = piece.empty() ? SysfsValue{ENOENT, ""} : SysfsValue{0, std::string(TrimGoSpace(piece))};
        rest = nul == std::string_view::npos ? std::string_view() : rest.substr(nul + 1);
      }
      (void)ParseThermalZone({v[0], v[1], v[2], v[3], v[4]});
      (void)ParseCoolingDevice({v[5], v[6], v[7]});
      break;
    }
    case 29: {
      // rapl: zone names, one per line, split in order (shared index counts), and sanitised.
      std::unordered_map<std::string, int64_t> uses;
      GoLineScanner lines(in);
      for (std::string_view line; lines.Next(line);) {
        (void)SanitizeMetricNamePart(SplitRaplZoneName(line, uses).name);
      }
      break;
    }
    case 30: {
      // hwmon: every line is a file name; then what it becomes with and without a bare value.
      GoLineScanner lines(in);
      for (std::string_view line; lines.Next(line);) {
        (void)CleanHwmonName(line);
        if (auto f = ExplodeHwmonFileName(line)) {
          (void)IsHwmonSensorType(f->type);
          (void)HwmonMetricFor(f->type, f->property, false);
          (void)HwmonMetricFor(f->type, f->property, true);
        }
      }
      break;
    }
    case 31: {
      // dmi, edac, nvme: names and an NVMe controller's four files, NUL-separated.
      (void)DmiLabelForFile(in);
      (void)EdacEntryNumber(in, "mc");
      SysfsValue v[4];
      std::string_view rest = in;
      for (auto& x : v) {
        const size_t nul = rest.find('\0');
        const std::string_view piece = rest.substr(0, nul);
        x = piece.empty() ? SysfsValue{EIO, ""} : SysfsValue{0, std::string(piece)};
        rest = nul == std::string_view::npos ? std::string_view() : rest.substr(nul + 1);
      }
      (void)ParseNvmeDevice({v[0], v[1], v[2], v[3]});
      break;
    }
    case 32: {
      // /proc/net/rpc/nfs{,d}: the three line shapes (fixed, counted and padded, partly parsed).
      static constexpr RpcLineRule kRules[] = {{"rpc", false, 3, 3, 3},
                                               {"proc3", true, 22, SIZE_MAX, 22},
                                               {"proc4", true, 0, SIZE_MAX, 59},
                                               {"th", false, 2, SIZE_MAX, 2, false}};
      const RpcStats s = ParseRpcStats(in, kRules);
      if (s.lines.size() != 4 || s.lines[2].values.size() != 59) __builtin_trap();
      break;
    }
    case 33:  // /sys/fs/xfs/<dev>/stats/stats
      (void)ParseXfsStats(in);
      break;
    case 34:  // /proc/spl/kstat/zfs: kstat files, pool objset, io and state files
      (void)ParseZfsKstat(in);
      (void)ParseZfsObjset(in);
      (void)ParseZfsPoolIo(in);
      (void)ParseZfsPoolState(in);
      (void)ValidZfsMetricName(ZfsMetricName(in));
      break;
    case 35:  // /proc/net/ip_vs and ip_vs_stats
      (void)ParseIpvsStats(in);
      (void)ParseIpvsBackends(in);
      break;
    case 36: {
      // btrfs values; infiniband state, rate and counters; fibrechannel attributes, statistics.
      (void)ParseBtrfsValue(in);
      (void)BtrfsLayoutRatio(in, in.size() % 8);
      (void)ParseInfinibandState(in);
      (void)ParseInfinibandRate(in);
      (void)ParseInfinibandCounter(SysfsValue{0, std::string(in)}, in.size() % 2 == 0);
      (void)FcHexAttribute(in);
      (void)ParseFcStatistic(SysfsValue{0, std::string(in)});
      break;
    }
    case 37:  // bcache: values with kernel units, writeback_rate_debug, priority_stats
      (void)ParseBcacheValue(in);
      (void)BcacheDehumanizeSigned(in);
      (void)ParseBcacheWritebackRateDebug(in);
      (void)ParseBcachePriorityStats(in);
      break;
  }
  return 0;
}
