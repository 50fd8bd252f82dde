// rapl: energy counters of the RAPL power-capping zones in /sys/class/powercap, as node_exporter
// 1.5 reads them: node_rapl_<zone>_joules_total{index,path} per zone name (or, with
// enable_zone_label, one node_rapl_joules_total{index,path,rapl_zone}). `path` is the zone's
// directory under paths.sysfs, as node_exporter builds it from --path.sysfs.
//
// Which series exist, as node_exporter's: every entry of class/powercap (sorted) that has a
// readable `name` file is a zone; a zone without max_energy_range_uj, or a host without
// powercap, gives no series and no failure (node_exporter: ErrNoData). energy_uj is readable
// by root only since Linux 5.10 (a CVE-2020-8694 fix): where it is forbidden the collector gives
// no series and no failure either, as node_exporter, whose log says so at debug level only;
// lookout logs it once. A zone whose energy_uj fails otherwise (EIO, not a number) is left out
// and the other zones kept, with a partial error (node_exporter fails the whole collector). A bad
// max_energy_range_uj fails the collector, as node_exporter.
#include "agent/collectors/node/rapl.h"

#include <algorithm>
#include <cerrno>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "agent/collectors/node/node_collectors.h"
#include "agent/common/file_util.h"
#include "agent/common/go_path.h"
#include "agent/common/kept_files.h"
#include "agent/common/log.h"
#include "agent/common/utf8.h"
#include "lookout/metrics/family_builder.h"

namespace lookout {

namespace {

// Go's strconv.Atoi: an optional sign and decimal digits that fit in an int64.
std::optional<int64_t> GoAtoi(std::string_view s) {
  if (s.empty()) return std::nullopt;
  for (size_t i = (s[0] == '+' || s[0] == '-') ? 1 : 0; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return std::nullopt;
  }
  return ParseGoInt(s, 10);
}

}  // namespace

RaplZoneName SplitRaplZoneName(std::string_view name,
                               std::unordered_map<std::string, int64_t>& uses) {
  RaplZoneName out{std::string(name), 0};
  const size_t dash = name.find('-');
  const auto suffix = dash == std::string_view::npos || name.find('-', dash + 1) != name.npos
                          ? std::nullopt
                          : GoAtoi(name.substr(dash + 1));
  if (suffix) {
    out = {std::string(name.substr(0, dash)), *suffix};
  } else if (auto it = uses.find(out.name); it != uses.end()) {
    out.index = it->second;
  }
  uses[out.name] = out.index + 1;
  return out;
}

std::string SanitizeMetricNamePart(std::string_view name) {
  // The regular expression _*[^0-9A-Za-z_]+_* with ReplaceAllString(name, "_").
  auto plain = [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
  };
  std::string out;
  size_t i = 0;
  while (i < name.size()) {
    if (plain(name[i])) {
      out.push_back(name[i++]);
      continue;
    }
    // A run of underscores is kept unless other characters follow it (then it joins the run).
    size_t j = i;
    while (j < name.size() && name[j] == '_') ++j;
    if (j == name.size() || plain(name[j])) {
      out.append(j - i, '_');
      i = j;
      continue;
    }
    while (j < name.size() && !plain(name[j]) && name[j] != '_') ++j;  // the others
    while (j < name.size() && name[j] == '_') ++j;                     // trailing underscores
    out.push_back('_');
    i = j;
  }
  return out;
}

namespace {

class RaplCollector final : public Collector {
 public:
  explicit RaplCollector(const NodeOptions& cfg)
      : max_(cfg.max_file_bytes),
        zone_label_(cfg.rapl_zone_label),
        dir_(GoJoinPath(cfg.paths.sysfs, "class/powercap")) {}
  std::string_view Name() const override { return "rapl"; }

  Status Collect(std::vector<MetricFamily>& out) override {
    const auto scrape = kept_.Begin();
    const auto entries = ReadDirNames(dir_);
    // No powercap (or not readable): no series, as node_exporter's ErrNoData.
    if (!entries) return Ok{};

    struct Zone {
      RaplZoneName name;
      std::string path;
    };
    std::vector<Zone> zones;
    std::unordered_map<std::string, int64_t> uses;
    for (const std::string& entry : *entries) {
      const std::string path = GoJoinPath(dir_, entry);
      const SysfsValue name = kept_.ReadSysfsWhole(path + "/name", max_);
      if (name.err != 0) continue;  // not a zone (the control type directory), as procfs
      RaplZoneName zn = SplitRaplZoneName(name.text, uses);
      const SysfsValue range = kept_.ReadSysfsWhole(path + "/max_energy_range_uj", max_);
      if (range.err == ENOENT || range.err == EACCES || range.err == EPERM) return Ok{};
      if (range.err != 0) return SysfsError(path + "/max_energy_range_uj", range);
      if (!ParseGoUint(range.text, 10)) {
        return MakeError("parse", path + "/max_energy_range_uj: not an unsigned decimal number");
      }
      zones.push_back({std::move(zn), path});
    }

    std::vector<MetricFamily> families;
    SkippedEntries skipped;
    for (const Zone& z : zones) {
      const SysfsValue energy = kept_.ReadSysfsWhole(z.path + "/energy_uj", max_);
      if (energy.err == EACCES || energy.err == EPERM) {
        WarnForbiddenOnce(z.path + "/energy_uj");
        return Ok{};
      }
      // A zone whose counter cannot be read is left out and the others kept (node_exporter
      // fails the collector: a deliberate difference, README).
      if (energy.err != 0) {
        skipped.Add(SysfsError(z.path + "/energy_uj", energy));
        continue;
      }
      const auto uj = ParseGoUint(energy.text, 10);
      if (!uj) {
        skipped.Add(MakeError("parse", z.path + "/energy_uj: not an unsigned decimal number"));
        continue;
      }
      const double joules = static_cast<double>(*uj) / 1000000.0;
      const std::string index = std::to_string(z.name.index);
      const std::string path = ToValidUtf8(z.path);  // a directory name is any bytes
      if (zone_label_) {
        AddSample(FamilyFor(families, "node_rapl_joules_total", "Current RAPL value in joules"),
                  joules,
                  {{"index", index}, {"path", path}, {"rapl_zone", ToValidUtf8(z.name.name)}});
        continue;
      }
      // "a--b", "a:b" and "a.b" all name node_rapl_a_b_joules_total with different help texts:
      // node_exporter's registry keeps the first and drops the others, so does this.
      const std::string help = "Current RAPL " + ToValidUtf8(z.name.name) + " value in joules";
      MetricFamily& f = FamilyFor(
          families, "node_rapl_" + SanitizeMetricNamePart(z.name.name) + "_joules_total", help);
      if (f.help != help) {
        skipped.Add(MakeError("help_conflict",
                              z.path + ": " + f.name + " came first with help \"" + f.help + "\""));
        continue;
      }
      AddSample(f, joules, {{"index", index}, {"path", path}});
    }
    for (MetricFamily& f : families) out.push_back(std::move(f));
    return skipped.ToStatus();
  }

 private:
  static MetricFamily& FamilyFor(std::vector<MetricFamily>& families, const std::string& name,
                                 const std::string& help) {
    for (MetricFamily& f : families) {
      if (f.name == name) return f;
    }
    families.push_back({name, help, MetricType::kCounter, {}, {}});
    return families.back();
  }

  void WarnForbiddenOnce(const std::string& path) {
    std::call_once(warned_, [&] {
      Log(LogLevel::kInfo,
          "rapl: energy counters are readable by root only (Linux 5.10+); no "
          "node_rapl_* series",
          {{"file", path}});
    });
  }

  size_t max_;
  bool zone_label_;
  std::string dir_;
  KeptFiles kept_;
  std::once_flag warned_;
};

}  // namespace

std::unique_ptr<Collector> NewRaplCollector(const NodeOptions& cfg) {
  return std::make_unique<RaplCollector>(cfg);
}

std::vector<Option<NodeOptions>> RaplOptionRows() {
  return {option::Bool<NodeOptions>(
      "enable_zone_label", &NodeOptions::rapl_zone_label, "false",
      "`--collector.rapl.enable-zone-label`: one family `node_rapl_joules_total` with the zone in "
      "a `rapl_zone` label, instead of one family per zone name")};
}

}  // namespace lookout
