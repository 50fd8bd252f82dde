// diskstats: node_disk_* per block device from /proc/diskstats, and node_disk_info with udev
// properties. Devices are filtered like node_exporter's --collector.diskstats.device-exclude.
#include "agent/collectors/node/diskstats.h"

#include "agent/collectors/node/node_collectors.h"
#include "agent/common/file_util.h"
#include "lookout/metrics/family_builder.h"

namespace lookout {

Result<std::vector<DiskStats>> ParseDiskstats(std::string_view text) {
  std::vector<DiskStats> out;
  std::vector<std::string_view> f;
  bool bad = false;
  ForEachLine(text, [&](std::string_view line) {
    if (bad || TrimSpace(line).empty()) return;
    SplitFields(line, f);
    if (f.size() < 14) {
      bad = true;
      return;
    }
    DiskStats d;
    d.major = std::string(f[0]);
    d.minor = std::string(f[1]);
    d.device = std::string(f[2]);
    d.count = std::min<size_t>(f.size() - 3, d.v.size());
    for (size_t i = 0; i < d.count; ++i) {
      auto v = ParseU64(f[3 + i]);
      if (!v) {
        bad = true;
        return;
      }
      d.v[i] = static_cast<double>(*v);
    }
    out.push_back(std::move(d));
  });
  if (bad) return MakeError("parse", "malformed line in /proc/diskstats");
  return out;
}

UdevDiskInfo ParseUdevData(std::string_view text) {
  UdevDiskInfo info;
  ForEachLine(text, [&](std::string_view line) {
    if (!line.starts_with("E:")) return;
    line.remove_prefix(2);
    const size_t eq = line.find('=');
    if (eq == std::string_view::npos) return;
    const std::string_view k = line.substr(0, eq), v = line.substr(eq + 1);
    if (k == "ID_PATH") info.path = v;
    if (k == "ID_WWN") info.wwn = v;
    if (k == "ID_MODEL") info.model = v;
    if (k == "ID_SERIAL_SHORT") info.serial = v;
    if (k == "ID_REVISION") info.revision = v;
  });
  return info;
}

namespace {

constexpr double kSectorBytes = 512;  // /proc/diskstats counts 512-byte sectors on every device

struct Column {
  const char* name;
  const char* help;
  MetricType type;
  double scale;
};

// In /proc/diskstats order.
constexpr Column kColumns[] = {
    {"node_disk_reads_completed_total", "The total number of reads completed successfully.",
     MetricType::kCounter, 1},
    {"node_disk_reads_merged_total", "The total number of reads merged.", MetricType::kCounter, 1},
    {"node_disk_read_bytes_total", "The total number of bytes read successfully.",
     MetricType::kCounter, kSectorBytes},
    {"node_disk_read_time_seconds_total", "The total number of seconds spent by all reads.",
     MetricType::kCounter, 0.001},
    {"node_disk_writes_completed_total", "The total number of writes completed successfully.",
     MetricType::kCounter, 1},
    {"node_disk_writes_merged_total", "The number of writes merged.", MetricType::kCounter, 1},
    {"node_disk_written_bytes_total", "The total number of bytes written successfully.",
     MetricType::kCounter, kSectorBytes},
    {"node_disk_write_time_seconds_total",
     "This is the total number of seconds spent by all writes.", MetricType::kCounter, 0.001},
    {"node_disk_io_now", "The number of I/Os currently in progress.", MetricType::kGauge, 1},
    {"node_disk_io_time_seconds_total", "Total seconds spent doing I/Os.", MetricType::kCounter,
     0.001},
    {"node_disk_io_time_weighted_seconds_total", "The weighted # of seconds spent doing I/Os.",
     MetricType::kCounter, 0.001},
    {"node_disk_discards_completed_total", "The total number of discards completed successfully.",
     MetricType::kCounter, 1},
    {"node_disk_discards_merged_total", "The total number of discards merged.",
     MetricType::kCounter, 1},
    {"node_disk_discarded_sectors_total", "The total number of sectors discarded successfully.",
     MetricType::kCounter, 1},
    {"node_disk_discard_time_seconds_total",
     "This is the total number of seconds spent by all discards.", MetricType::kCounter, 0.001},
    {"node_disk_flush_requests_total", "The total number of flush requests completed successfully",
     MetricType::kCounter, 1},
    {"node_disk_flush_requests_time_seconds_total",
     "This is the total number of seconds spent by all flush requests.", MetricType::kCounter,
     0.001},
};

class DiskstatsCollector final : public Collector {
 public:
  explicit DiskstatsCollector(const NodeOptions& cfg)
      : paths_(cfg.paths), max_(cfg.max_file_bytes), filter_(cfg.diskstats) {}
  std::string_view Name() const override { return "diskstats"; }

  Status Collect(std::vector<MetricFamily>& out) override {
    auto text = file_.Read(max_);
    if (!text.ok()) return text.error();
    auto disks = ParseDiskstats(*text);
    if (!disks.ok()) return disks.error();
    const size_t first = out.size();
    for (const auto& c : kColumns) AddFamily(out, c.name, c.help, c.type);
    auto& info =
        AddFamily(out, "node_disk_info", "Info of /sys/block/<block_device>.", MetricType::kGauge);
    for (const auto& d : *disks) {
      if (filter_.Ignored(d.device)) continue;
      for (size_t i = 0; i < d.count; ++i) {
        AddSample(out[first + i], d.v[i] * kColumns[i].scale, {{"device", d.device}});
      }
      UdevDiskInfo u;
      auto udev = ReadFileLimited(paths_.Root("run/udev/data/b" + d.major + ":" + d.minor), max_);
      if (udev.ok()) u = ParseUdevData(*udev);
      AddSample(info, 1,
                {{"device", d.device},
                 {"major", d.major},
                 {"minor", d.minor},
                 {"model", u.model},
                 {"path", u.path},
                 {"revision", u.revision},
                 {"serial", u.serial},
                 {"wwn", u.wwn}});
    }
    return Ok{};
  }

 private:
  HostPaths paths_;
  size_t max_;
  CachedFile file_{paths_.Proc("diskstats")};
  DeviceFilter filter_;
};

}  // namespace

std::unique_ptr<Collector> NewDiskstatsCollector(const NodeOptions& cfg) {
  return std::make_unique<DiskstatsCollector>(cfg);
}

std::vector<Option<NodeOptions>> DiskstatsOptionRows() {
  return DeviceFilterOptions(&NodeOptions::diskstats, "",
                             R"(^(ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\d+n\d+p)\d+$)",
                             "block devices to skip (node_exporter 1.5's default)");
}

}  // namespace lookout
