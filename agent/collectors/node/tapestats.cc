// tapestats: SCSI tape drive statistics from /sys/class/scsi_tape/st<N>/stats (node_exporter
// 1.5): node_tape_io_now, node_tape_io_time_seconds_total, node_tape_io_others_total,
// node_tape_{read,written}_bytes_total, node_tape_{reads,writes}_completed_total,
// node_tape_{read,write}_time_seconds_total, node_tape_residual_total, all by `device`.
//
// Which series exist: every st<N> entry not matched by ignored_devices. A drive whose
// statistics cannot be read or do not parse is left out with a partial error and the others
// kept; node_exporter 1.5 panics on a value that does not parse and fails the collector on a
// read error (README). No scsi_tape class: no series, no failure.
#include "agent/collectors/node/tapestats.h"

#include <memory>
#include <string>
#include <vector>

#include "agent/collectors/node/node_collectors.h"
#include "agent/common/kept_files.h"
#include "lookout/metrics/family_builder.h"

namespace lookout {

std::optional<std::array<uint64_t, 10>> ParseTapeStats(const std::array<SysfsValue, 10>& files) {
  std::array<uint64_t, 10> out{};
  for (size_t i = 0; i < files.size(); ++i) {
    if (files[i].err == ENOENT) continue;  // absent: procfs leaves the zero value
    if (files[i].err != 0) return std::nullopt;
    const auto v = ParseGoUint(files[i].text, 0);
    if (!v) return std::nullopt;
    out[i] = *v;
  }
  return out;
}

bool IsTapeStatsDevice(std::string_view name) {
  if (name.size() < 3 || name.substr(0, 2) != "st") return false;
  for (char c : name.substr(2)) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

namespace {

struct TapeFamily {
  const char* name;
  const char* help;
  MetricType type;
  double multiplier;  // ns -> s: node_exporter multiplies by 0.000000001
};

// In kTapeStatFiles order.
constexpr std::array<TapeFamily, 10> kFamilies = {{
    {"node_tape_io_now", "The number of I/Os currently outstanding to this device.",
     MetricType::kGauge, 1},
    {"node_tape_io_time_seconds_total",
     "The amount of time spent waiting for all I/O to complete (including read and write). This "
     "includes tape movement commands such as seeking between file or set marks and implicit tape "
     "movement such as when rewind on close tape devices are used.",
     MetricType::kCounter, 0.000000001},
    {"node_tape_io_others_total",
     "The number of I/Os issued to the tape drive other than read or write commands. The time "
     "taken to complete these commands uses the following calculation "
     "io_time_seconds_total-read_time_seconds_total-write_time_seconds_total",
     MetricType::kCounter, 1},
    {"node_tape_read_bytes_total", "The number of bytes read from the tape drive.",
     MetricType::kCounter, 1},
    {"node_tape_reads_completed_total", "The number of read requests issued to the tape drive.",
     MetricType::kCounter, 1},
    {"node_tape_read_time_seconds_total",
     "The amount of time spent waiting for read requests to complete.", MetricType::kCounter,
     0.000000001},
    {"node_tape_residual_total",
     "The number of times during a read or write we found the residual amount to be non-zero. "
     "This should mean that a program is issuing a read larger thean the block size on tape. For "
     "write not all data made it to tape.",
     MetricType::kCounter, 1},
    {"node_tape_written_bytes_total", "The number of bytes written to the tape drive.",
     MetricType::kCounter, 1},
    {"node_tape_writes_completed_total", "The number of write requests issued to the tape drive.",
     MetricType::kCounter, 1},
    {"node_tape_write_time_seconds_total",
     "The amount of time spent waiting for write requests to complete.", MetricType::kCounter,
     0.000000001},
}};

class TapestatsCollector final : public Collector {
 public:
  explicit TapestatsCollector(const NodeOptions& cfg)
      : dir_(cfg.paths.Sys("class/scsi_tape")), ignored_(cfg.tapestats_ignored) {}
  std::string_view Name() const override { return "tapestats"; }

  Status Collect(std::vector<MetricFamily>& out) override {
    const auto scrape = kept_.Begin();
    const auto entries = ReadDirNames(dir_);
    if (!entries) return Ok{};  // no scsi_tape class: no series, no failure
    std::vector<MetricFamily> families;
    families.reserve(kFamilies.size());
    for (const TapeFamily& f : kFamilies) families.push_back({f.name, f.help, f.type, {}, {}});
    SkippedEntries skipped;
    for (const std::string& device : *entries) {
      if (!IsTapeStatsDevice(device) || ignored_.Matches(device)) continue;
      const std::string stats = dir_ + "/" + device + "/stats/";
      std::array<SysfsValue, 10> files;
      for (size_t i = 0; i < files.size(); ++i) {
        files[i] = kept_.SysReadFile(stats + std::string(kTapeStatFiles[i]));
      }
      if (files[0].err == ENOENT && files[1].err == ENOENT) {
        skipped.Add(MakeError("open", stats + ": no statistics"));
        continue;
      }
      const auto v = ParseTapeStats(files);
      if (!v) {
        skipped.Add(MakeError("parse", stats + ": a value that cannot be read or parsed"));
        continue;
      }
      for (size_t i = 0; i < kFamilies.size(); ++i) {
        AddSample(families[i], static_cast<double>((*v)[i]) * kFamilies[i].multiplier,
                  {{"device", device}});
      }
    }
    for (MetricFamily& f : families) {
      if (!f.samples.empty()) out.push_back(std::move(f));
    }
    return skipped.ToStatus();
  }

 private:
  const std::string dir_;
  const Pattern ignored_;
  KeptFiles kept_;
};

}  // namespace

std::unique_ptr<Collector> NewTapestatsCollector(const NodeOptions& cfg) {
  return std::make_unique<TapestatsCollector>(cfg);
}

std::vector<Option<NodeOptions>> TapestatsOptionRows() {
  return {option::Regex<NodeOptions>(
      "ignored_devices", &NodeOptions::tapestats_ignored, "^$",
      "`--collector.tapestats.ignored-devices`: tape devices not reported (a regular expression "
      "searched in the device name, as node_exporter's)")};
}

}  // namespace lookout
