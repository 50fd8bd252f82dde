// fibrechannel: Fibre Channel host bus adapter ports from /sys/class/fc_host (node_exporter 1.5,
// procfs 0.8): node_fibrechannel_info{fc_host,speed,port_state,port_type,port_id,port_name,
// fabric_name,symbolic_name,supported_classes,supported_speeds,dev_loss_tmo} = 1 and 14
// counters from statistics/ (node_fibrechannel_{rx,tx}_{frames,words}_total,
// ..._link_failure_total, ..._seconds_since_last_reset_total, ...), all by `fc_host`. port_id,
// port_name and fabric_name lose their first two bytes ("0x"), as procfs strips them.
//
// Which series exist: every entry of the class (sorted) with all eleven attributes (node_name
// too, though it is not exposed) and a statistics directory: its info series, and each counter
// except those holding 0xffffffffffffffff, the kernel's "the driver does not count this"
// (lpfc's dumped_frames, qla2xxx's fcp_packet_aborts), which node_exporter leaves out. A
// statistics file that is absent, or not a regular file, or whose read fails with ENOENT,
// EOPNOTSUPP or EINVAL counts 0, as procfs's zero value.
//
// Where lookout differs, each time because node_exporter 1.5 fails the whole collector (a
// missing statistics directory there reports "no data", also node_scrape_collector_success 0)
// or dies: a host with an attribute that cannot be read, no statistics directory, or a
// statistic that cannot be read or parsed (node_exporter dereferences a nil pointer there and
// the process exits) is left out with a partial error and the other hosts kept. Only the
// fourteen exposed statistics are read (procfs also reads the others, and fails on one it
// cannot). Values that are not UTF-8 get U+FFFD (node_exporter panics). No fc_host class: no
// series, no failure (node_exporter: success 0).
#include "agent/collectors/node/fibrechannel.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "agent/collectors/node/node_collectors.h"
#include "agent/common/kept_files.h"
#include "agent/common/utf8.h"
#include "lookout/metrics/family_builder.h"

namespace lookout {

std::string_view FcHexAttribute(std::string_view value) {
  return value.size() > 2 ? value.substr(2) : value;
}

std::optional<uint64_t> ParseFcStatistic(const SysfsValue& file) {
  if (file.err != 0) {
    // procfs: os.IsNotExist, "operation not supported", "invalid argument" (not EACCES).
    if (file.err == ENOENT || file.err == EOPNOTSUPP || file.err == EINVAL) return 0;
    return std::nullopt;
  }
  return ParseGoUint(file.text, 0);
}

namespace {

// Indices into kFcHostAttributes.
enum Attr : size_t {
  kSpeed,
  kPortState,
  kPortType,
  kNodeName,
  kPortId,
  kPortName,
  kFabricName,
  kDevLossTmo,
  kSymbolicName,
  kSupportedClasses,
  kSupportedSpeeds
};

class FibreChannelCollector final : public Collector {
 public:
  explicit FibreChannelCollector(const NodeOptions& cfg) : dir_(cfg.paths.Sys("class/fc_host")) {}
  std::string_view Name() const override { return "fibrechannel"; }

  Status Collect(std::vector<MetricFamily>& out) override {
    const auto scrape = kept_.Begin();
    const auto hosts = ReadDirNames(dir_);
    if (!hosts) return Ok{};  // no fc_host class: no series, no failure
    MetricFamily info{"node_fibrechannel_info",
                      "Non-numeric data from /sys/class/fc_host/<host>, value is always 1.",
                      MetricType::kGauge,
                      {},
                      {}};
    std::vector<MetricFamily> stats;
    stats.reserve(kFcStatistics.size());
    for (const FcStatistic& s : kFcStatistics) {
      stats.push_back({"node_fibrechannel_" + std::string(s.metric),
                       std::string(s.help),
                       MetricType::kCounter,
                       {},
                       {}});
    }
    SkippedEntries skipped;
    for (const std::string& name : *hosts) {
      const std::string d = dir_ + "/" + name + "/";
      std::array<std::string, kFcHostAttributes.size()> attr;
      bool ok = true;
      for (size_t i = 0; i < attr.size() && ok; ++i) {
        const std::string path = d + std::string(kFcHostAttributes[i]);
        SysfsValue v = kept_.SysReadFile(path);
        if (v.err != 0) {
          skipped.Add(SysfsError(path, v));
          ok = false;
        }
        attr[i] = std::move(v.text);
      }
      if (!ok) continue;
      std::array<uint64_t, kFcStatistics.size()> values{};
      if (!ReadStatistics(d + "statistics", values, skipped)) continue;
      const std::string host = ToValidUtf8(name);
      const auto hex = [&](Attr a) { return ToValidUtf8(FcHexAttribute(attr[a])); };
      AddSample(info, 1.0,
                {{"dev_loss_tmo", ToValidUtf8(attr[kDevLossTmo])},
                 {"fabric_name", hex(kFabricName)},
                 {"fc_host", host},
                 {"port_id", hex(kPortId)},
                 {"port_name", hex(kPortName)},
                 {"port_state", ToValidUtf8(attr[kPortState])},
                 {"port_type", ToValidUtf8(attr[kPortType])},
                 {"speed", ToValidUtf8(attr[kSpeed])},
                 {"supported_classes", ToValidUtf8(attr[kSupportedClasses])},
                 {"supported_speeds", ToValidUtf8(attr[kSupportedSpeeds])},
                 {"symbolic_name", ToValidUtf8(attr[kSymbolicName])}});
      for (size_t i = 0; i < values.size(); ++i) {
        if (values[i] == kFcNotCounted) continue;
        AddSample(stats[i], static_cast<double>(values[i]), {{"fc_host", host}});
      }
    }
    if (!info.samples.empty()) out.push_back(std::move(info));
    for (MetricFamily& f : stats) {
      if (!f.samples.empty()) out.push_back(std::move(f));
    }
    return skipped.ToStatus();
  }

 private:
  // statistics/: false, with the reason added to `skipped`, when the host is to be left out.
  bool ReadStatistics(const std::string& dir, std::array<uint64_t, kFcStatistics.size()>& values,
                      SkippedEntries& skipped) {
    DIR* d = opendir(dir.c_str());
    if (d == nullptr) {
      const int err = errno;
      skipped.Add(MakeError(err == ENOENT ? "open" : "read", dir + ": " + std::strerror(err)));
      return false;
    }
    // Go's os.ReadDir with Type().IsRegular(): a symbolic link or a directory is not read.
    std::vector<std::string> regular;
    while (const dirent* e = readdir(d)) {
      bool reg = e->d_type == DT_REG;
      if (e->d_type == DT_UNKNOWN) {
        struct stat st {};
        reg = lstat((dir + "/" + e->d_name).c_str(), &st) == 0 && S_ISREG(st.st_mode);
      }
      if (reg) regular.emplace_back(e->d_name);
    }
    closedir(d);
    for (size_t i = 0; i < kFcStatistics.size(); ++i) {
      const std::string file(kFcStatistics[i].file);
      if (std::find(regular.begin(), regular.end(), file) == regular.end()) continue;  // 0
      const std::string path = dir + "/" + file;
      const SysfsValue text = kept_.SysReadFile(path);
      const auto v = ParseFcStatistic(text);
      if (!v) {
        skipped.Add(text.err != 0 ? SysfsError(path, text)
                                  : MakeError("parse", path + ": \"" + ToValidUtf8(text.text) +
                                                           "\" is not an unsigned integer"));
        return false;
      }
      values[i] = *v;
    }
    return true;
  }

  const std::string dir_;
  KeptFiles kept_;
};

}  // namespace

std::unique_ptr<Collector> NewFibreChannelCollector(const NodeOptions& cfg) {
  return std::make_unique<FibreChannelCollector>(cfg);
}

}  // namespace lookout
