// edac: memory errors the EDAC drivers count per memory controller and chip-select row, from
// /sys/devices/system/edac/mc/mc*/ (node_exporter 1.5): node_edac_{,un}correctable_errors_total
// {controller} and node_edac_csrow_{,un}correctable_errors_total{controller,csrow}, where csrow
// "unknown" holds the errors the driver could not place (ce_noinfo_count, ue_noinfo_count).
//
// Which series exist, as node_exporter's: every mc[0-9]* entry and its csrow[0-9]* entries
// (Go's filepath.Glob, sorted); no EDAC driver: no series and no failure. A file that cannot be
// read or is not an unsigned decimal number leaves out that controller (or csrow) and keeps the
// others, with a partial error; node_exporter fails the collector there, keeping what it had
// sent before (a deliberate difference, README).
#include "agent/collectors/node/edac.h"

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <unordered_set>

#include "agent/collectors/node/node_collectors.h"
#include "agent/common/file_util.h"
#include "agent/common/go_path.h"
#include "agent/common/kept_files.h"
#include "lookout/metrics/family_builder.h"

namespace lookout {

std::string_view EdacEntryNumber(std::string_view entry, std::string_view prefix) {
  entry.remove_prefix(std::min(prefix.size(), entry.size()));
  size_t n = 0;
  while (n < entry.size() && entry[n] >= '0' && entry[n] <= '9') ++n;
  return entry.substr(0, n);
}

namespace {

class EdacCollector final : public Collector {
 public:
  explicit EdacCollector(const NodeOptions& cfg)
      : max_(cfg.max_file_bytes),
        pattern_(GoJoinPath(cfg.paths.sysfs, "devices/system/edac/mc/mc[0-9]*")) {}
  std::string_view Name() const override { return "edac"; }

  Status Collect(std::vector<MetricFamily>& out) override {
    const auto scrape = kept_.Begin();
    MetricFamily ce{"node_edac_correctable_errors_total",
                    "Total correctable memory errors.",
                    MetricType::kCounter,
                    {},
                    {}};
    MetricFamily ue{"node_edac_uncorrectable_errors_total",
                    "Total uncorrectable memory errors.",
                    MetricType::kCounter,
                    {},
                    {}};
    MetricFamily row_ce{"node_edac_csrow_correctable_errors_total",
                        "Total correctable memory errors for this csrow.",
                        MetricType::kCounter,
                        {},
                        {}};
    MetricFamily row_ue{"node_edac_csrow_uncorrectable_errors_total",
                        "Total uncorrectable memory errors for this csrow.",
                        MetricType::kCounter,
                        {},
                        {}};
    SkippedEntries skipped;
    // "mc1" and "mc1x" both match the glob and both name controller 1 (as "csrow1" and
    // "csrow1a" name csrow 1): node_exporter's registry keeps the first, so does this.
    std::unordered_set<std::string> seen;
    auto first = [&](const std::string& key, const std::string& path) {
      if (seen.insert(key).second) return true;
      skipped.Add(
          MakeError("duplicate_series", path + ": names a controller or csrow seen before"));
      return false;
    };
    for (const std::string& mc : GoGlob(pattern_).value_or(kNone)) {
      const std::string controller(EdacEntryNumber(mc.substr(mc.rfind('/') + 1), "mc"));
      if (!first(controller, mc)) continue;
      std::array<double, 4> v{};
      if (!ReadCounts(mc, {"ce_count", "ce_noinfo_count", "ue_count", "ue_noinfo_count"}, v,
                      skipped)) {
        continue;
      }
      AddSample(ce, v[0], {{"controller", controller}});
      AddSample(row_ce, v[1], {{"controller", controller}, {"csrow", "unknown"}});
      AddSample(ue, v[2], {{"controller", controller}});
      AddSample(row_ue, v[3], {{"controller", controller}, {"csrow", "unknown"}});
      for (const std::string& row : GoGlob(mc + "/csrow[0-9]*").value_or(kNone)) {
        const std::string csrow(EdacEntryNumber(row.substr(row.rfind('/') + 1), "csrow"));
        if (!first(controller + "/" + csrow, row)) continue;
        std::array<double, 4> r{};
        if (!ReadCounts(row, {"ce_count", "ue_count"}, r, skipped)) continue;
        AddSample(row_ce, r[0], {{"controller", controller}, {"csrow", csrow}});
        AddSample(row_ue, r[1], {{"controller", controller}, {"csrow", csrow}});
      }
    }
    for (MetricFamily* f : {&ce, &row_ce, &ue, &row_ue}) {
      if (!f->samples.empty()) out.push_back(std::move(*f));
    }
    return skipped.ToStatus();
  }

 private:
  // node_exporter's readUintFromFile: the whole file, white space trimmed, ParseUint base 10.
  bool ReadCounts(const std::string& dir, std::initializer_list<const char*> files,
                  std::array<double, 4>& values, SkippedEntries& skipped) const {
    size_t i = 0;
    for (const char* f : files) {
      const std::string path = dir + "/" + f;
      const SysfsValue text = kept_.ReadSysfsWhole(path, max_);
      if (text.err != 0) {
        skipped.Add(SysfsError(path, text));
        return false;
      }
      const auto n = ParseGoUint(text.text, 10);
      if (!n) {
        skipped.Add(MakeError("parse", path + ": not an unsigned decimal number"));
        return false;
      }
      values[i++] = static_cast<double>(*n);
    }
    return true;
  }

  inline static const std::vector<std::string> kNone;
  size_t max_;
  std::string pattern_;
  mutable KeptFiles kept_;  // read within Collect's Scrape
};

}  // namespace

std::unique_ptr<Collector> NewEdacCollector(const NodeOptions& cfg) {
  return std::make_unique<EdacCollector>(cfg);
}

}  // namespace lookout
